import Foundation

/// The text of `gaplab data info`: per split counts, label axes, caption and token-length statistics, how much of
/// each split's vocabulary training covers, and what loading skipped.
public enum DatasetDescription {
    public static func describe(_ data: LoadedDataset, contextLength: Int) -> String {
        var lines: [String] = []
        lines.append("dataset: \(data.report.dataset)")
        lines.append("source: \(data.report.source)")
        lines.append("split seed: \(data.report.splitSeed)\(data.report.fromCache ? " (served from cache)" : "")")
        lines.append("tokenizer: \(data.report.tokenizer)")
        let trainWords = Set(data.train.captions.flatMap { words($0) })
        for split in data.allSplits {
            lines.append("")
            lines.append("[\(split.name)] \(split.imageCount) images, \(split.captionCount) captions, \(split.imageWidth)×\(split.imageHeight)")
            guard split.captionCount > 0 else { continue }
            let perImage = (0..<split.imageCount).map { split.captionRange(ofImage: $0).count }
            lines.append("  captions per image: \(stats(perImage.map(Double.init)))")
            lines.append("  caption words: \(stats(split.captions.map { Double(words($0).count) }))")
            let tokenLengths = split.captions.map { data.tokenizer.tokenCount($0) }
            let truncated = tokenLengths.filter { $0 > contextLength }.count
            lines.append("  tokens (with sot/eot): \(stats(tokenLengths.map(Double.init))); over context \(contextLength): \(truncated)")
            lines.append("  distinct captions: \(Set(split.captions).count)")
            let splitWords = Set(split.captions.flatMap { words($0) })
            let covered = splitWords.filter { trainWords.contains($0) }.count
            lines.append(String(format: "  vocabulary: %d distinct words, %.1f%% seen in training captions", splitWords.count,
                                100 * Double(covered) / Double(max(splitWords.count, 1))))
            for axis in split.labelAxes {
                var counts = [Int](repeating: 0, count: axis.classNames.count)
                for l in axis.labels where l >= 0 { counts[l] += 1 }
                let present = counts.filter { $0 > 0 }.count
                let shown = axis.classNames.indices.prefix(12).map { "\(axis.classNames[$0]) \(counts[$0])" }.joined(separator: ", ")
                lines.append("  axis \(axis.name): \(axis.classNames.count) classes (\(present) present): \(shown)\(axis.classNames.count > 12 ? ", …" : "")")
                lines.append("    prompt templates: \(axis.templates.joined(separator: " | "))")
            }
        }
        lines.append("")
        let ids = Set(data.allSplits.flatMap { $0.tokens }).subtracting([data.tokenizer.padToken])
        lines.append(String(format: "token ids used: %d of %d (%.1f%%)", ids.count, data.tokenizer.vocabSize, 100 * Double(ids.count) / Double(data.tokenizer.vocabSize)))
        lines.append("skipped: \(data.report.skippedCount)")
        for example in data.report.skippedExamples { lines.append("  \(example)") }
        for note in data.report.notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }

    static func words(_ caption: String) -> [String] {
        Tokenizer.clean(caption).split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    static func stats(_ values: [Double]) -> String {
        guard !values.isEmpty else { return "none" }
        let mean = values.reduce(0, +) / Double(values.count)
        return String(format: "min %.0f, mean %.1f, max %.0f", values.min()!, mean, values.max()!)
    }
}
