/// One parameter tensor's place in the flat parameter (and gradient) buffer.
public struct ParameterSegment: Equatable, Sendable {
    /// The open_clip name, kept for error messages and checkpoints.
    public var name: String
    public var offset: Int
    public var count: Int
    /// Whether decoupled weight decay applies (see `openCLIPDecays`).
    public var decay: Bool

    public init(name: String, offset: Int, count: Int, decay: Bool) {
        self.name = name
        self.offset = offset
        self.count = count
        self.decay = decay
    }

    /// Lays tensors out back to back in the given order, deciding decay by open_clip's rule.
    public static func contiguous(_ tensors: [(name: String, shape: [Int])]) -> [ParameterSegment] {
        var offset = 0
        return tensors.map { tensor in
            let count = tensor.shape.reduce(1, *)
            defer { offset += count }
            return ParameterSegment(name: tensor.name, offset: offset, count: count,
                                    decay: openCLIPDecays(name: tensor.name, ndim: tensor.shape.count))
        }
    }
}

/// Segments that do not fit the buffer they describe.
public struct ParameterSegmentError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

extension Array where Element == ParameterSegment {
    /// Checks every segment lies inside a buffer of `parameterCount` floats and no two overlap.
    public func validate(parameterCount: Int) throws {
        for segment in self where segment.offset < 0 || segment.count < 0 || segment.offset + segment.count > parameterCount {
            throw ParameterSegmentError(description: "parameter segment \"\(segment.name)\" covers "
                + "\(segment.offset)..<\(segment.offset + segment.count), outside the buffer of \(parameterCount) values")
        }
        let ordered = sorted { $0.offset < $1.offset }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where previous.offset + previous.count > next.offset {
            throw ParameterSegmentError(description: "parameter segments \"\(previous.name)\" and \"\(next.name)\" overlap")
        }
    }
}
