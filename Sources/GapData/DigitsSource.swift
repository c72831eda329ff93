import Foundation
import GapSpec

/// `digits`: scikit-learn's 1,797 handwritten 8×8 digits (pixel values 0–16, label last), from the
/// python3-sklearn Debian package unpacked by `make data`. Split by `split_seed`; captions are templated.
struct DigitsSource: DatasetSource {
    let file: URL

    static let words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

    init(spec: DatasetSpec) throws {
        file = spec.url("path") ?? DataPaths.digitsCSV
        guard DataPaths.exists(file) else {
            throw DataError.missing(file.path, "scikit-learn's digits.csv.gz is not installed; run `make data` (python3-sklearn unpacked under GAPLAB_DATA_DIR)")
        }
    }

    func contentDigest() throws -> String { try ContentHash.sha256(files: [file]) }

    /// Pixel rows (64 bytes, scaled to 0…255) and labels.
    static func read(_ file: URL) throws -> (pixels: [[UInt8]], labels: [Int]) {
        let raw: Data
        do { raw = try Data(contentsOf: file) } catch { throw DataError.unreadable(file.path, error.localizedDescription) }
        let text = String(decoding: try Gzip.decompress(raw, source: file.path), as: UTF8.self)
        var pixels: [[UInt8]] = [], labels: [Int] = []
        for (n, line) in text.split(separator: "\n").enumerated() {
            let fields = line.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard fields.count == 65, fields.allSatisfy({ $0 != nil }) else {
                throw DataError.invalid("\(file.path) line \(n + 1): expected 65 numbers (64 pixels and a label), got \(fields.count) fields")
            }
            let values = fields.map { $0! }
            guard let label = Int(exactly: values[64]), (0...9).contains(label) else {
                throw DataError.invalid("\(file.path) line \(n + 1): label \(values[64]) is not a digit")
            }
            pixels.append(values.prefix(64).map { UInt8(max(0, min(255, ($0 / 16 * 255).rounded()))) })
            labels.append(label)
        }
        return (pixels, labels)
    }

    func load(config: DataConfig, imageSize: Int, options: LoadOptions) throws -> SourceSplits {
        let (rows, labels) = try DigitsSource.read(file)
        var report = LoadReport(dataset: config.dataset)
        report.source = file.path
        let plan = SplitPlan.make(count: rows.count, trainSize: config.trainSize, valSize: config.valSize,
                                  testSize: config.testSize, seed: config.splitSeed)
        report.notes += plan.notes
        func split(_ name: String, _ indices: [Int]) -> ImageTextDataset {
            var pixels: [UInt8] = []
            pixels.reserveCapacity(indices.count * imageSize * imageSize * 3)
            var captions: [[String]] = []
            for i in indices {
                // White digit strokes on black as in the source; enlarged smoothly.
                let small = RGBImage(width: 8, height: 8, grey: rows[i])
                pixels += ImageFitting.fit(small, size: imageSize, mode: .stretch).pixels
                let d = labels[i]
                captions.append(["a handwritten digit \(d)", "the number \(DigitsSource.words[d])",
                                 "a drawing of \(SceneCaptioner.article(DigitsSource.words[d])) \(DigitsSource.words[d])", "a blurry handwritten \(d)"])
            }
            let axis = LabelAxis(name: "digit", classNames: DigitsSource.words, labels: indices.map { labels[$0] },
                                 templates: ["a handwritten digit {}.", "the number {}.", "a drawing of the digit {}.", "a blurry handwritten {}."])
            return ImageTextDataset(name: name, imageWidth: imageSize, imageHeight: imageSize, pixels: pixels, captionsPerImage: captions,
                                    labelAxes: [axis], sourceIDs: indices.map { "\(file.lastPathComponent)#\($0 + 1)" })
        }
        return SourceSplits(splits: [split("train", plan.train), split("val", plan.val), split("test", plan.test)], report: report)
    }
}
