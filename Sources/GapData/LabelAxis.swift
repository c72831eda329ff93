/// One way of labelling the images of a split, for zero-shot classification and linear probes.
/// `labels[i]` is the class of image i (an index into `classNames`), or -1 when the image has no class on this axis.
/// `templates` are prompts with "{}" where the class name goes; zero-shot ensembles over all of them.
public struct LabelAxis: Codable, Equatable, Sendable {
    public var name: String
    public var classNames: [String]
    public var labels: [Int]
    public var templates: [String]

    public init(name: String, classNames: [String], labels: [Int], templates: [String]) {
        self.name = name
        self.classNames = classNames
        self.labels = labels
        self.templates = templates
    }

    /// The prompts of class `classIndex`, one per template.
    public func prompts(forClass classIndex: Int) -> [String] {
        templates.map { $0.replacingOccurrences(of: "{}", with: classNames[classIndex]) }
    }

    /// Token rows of every prompt, class-major: [classNames.count × templates.count × contextLength], ready for
    /// the text tower; zero-shot averages the normalised embeddings over each class's templates.
    public func promptTokens(_ tokenizer: Tokenizer, contextLength: Int) -> [Int32] {
        var rows: [Int32] = []
        rows.reserveCapacity(classNames.count * templates.count * contextLength)
        for c in classNames.indices { for prompt in prompts(forClass: c) { rows += tokenizer.encode(prompt, contextLength: contextLength) } }
        return rows
    }

    /// The same axis restricted to the given images, in that order.
    public func subset(_ images: [Int]) -> LabelAxis {
        LabelAxis(name: name, classNames: classNames, labels: images.map { labels[$0] }, templates: templates)
    }
}
