import Foundation
import GapRandom
import GapSpec

/// `fashion-mnist`: the Debian dataset-fashion-mnist IDX files. Test images come from t10k; val from the training
/// file. Captions are templated, and the attributes in them are measured on the pixels (brightness, size and
/// texture, each cut into tertiles on the training images), so two captions differ only where the images do.
struct FashionMNISTSource: DatasetSource {
    let directory: URL
    static let classNames = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]
    static let files = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]

    init(spec: DatasetSpec) throws {
        directory = spec.url("path") ?? DataPaths.fashionMNIST
        for f in FashionMNISTSource.files where !DataPaths.exists(directory.appendingPathComponent(f)) {
            throw DataError.missing(directory.appendingPathComponent(f).path, "Fashion-MNIST is not installed; run `make data` (Debian dataset-fashion-mnist)")
        }
    }

    func contentDigest() throws -> String {
        try ContentHash.sha256(files: FashionMNISTSource.files.map { directory.appendingPathComponent($0) })
    }

    /// Big-endian IDX: magic 0x803 (images: n, rows, cols) or 0x801 (labels: n), then bytes.
    static func readIDX(_ url: URL) throws -> (count: Int, rows: Int, cols: Int, bytes: [UInt8]) {
        let raw: Data
        do { raw = try Data(contentsOf: url) } catch { throw DataError.unreadable(url.path, error.localizedDescription) }
        let data = [UInt8](url.pathExtension == "gz" ? try Gzip.decompress(raw, source: url.path) : raw)
        func u32(_ at: Int) -> Int { Int(data[at]) << 24 | Int(data[at + 1]) << 16 | Int(data[at + 2]) << 8 | Int(data[at + 3]) }
        guard data.count >= 8 else { throw DataError.invalid("\(url.path): too short for an IDX header") }
        switch u32(0) {
        case 0x803:
            guard data.count >= 16 else { throw DataError.invalid("\(url.path): truncated IDX image header") }
            let n = u32(4), r = u32(8), c = u32(12)
            guard data.count == 16 + n * r * c else { throw DataError.invalid("\(url.path): \(data.count - 16) pixel bytes, header says \(n)×\(r)×\(c)") }
            return (n, r, c, Array(data[16...]))
        case 0x801:
            let n = u32(4)
            guard data.count == 8 + n else { throw DataError.invalid("\(url.path): \(data.count - 8) labels, header says \(n)") }
            return (n, 1, 1, Array(data[8...]))
        default:
            throw DataError.invalid("\(url.path): IDX magic \(String(u32(0), radix: 16)), expected 803 (images) or 801 (labels)")
        }
    }

    /// Mean ink, share of inked pixels, mean absolute horizontal+vertical gradient over inked pixels.
    static func measure(_ p: ArraySlice<UInt8>, rows: Int, cols: Int) -> (brightness: Double, size: Double, texture: Double) {
        let base = p.startIndex
        var ink = 0.0, inked = 0, gradient = 0.0
        for y in 0..<rows {
            for x in 0..<cols {
                let v = Double(p[base + y * cols + x])
                guard v > 30 else { continue }
                inked += 1
                ink += v
                if x + 1 < cols { gradient += abs(v - Double(p[base + y * cols + x + 1])) }
                if y + 1 < rows { gradient += abs(v - Double(p[base + (y + 1) * cols + x])) }
            }
        }
        let n = Double(max(inked, 1))
        return (ink / n, Double(inked) / Double(rows * cols), gradient / n)
    }

    static func tertiles(_ values: [Double]) -> (Double, Double) {
        let sorted = values.sorted()
        return (sorted[sorted.count / 3], sorted[2 * sorted.count / 3])
    }

    func load(config: DataConfig, imageSize: Int, options: LoadOptions) throws -> SourceSplits {
        let trainImages = try FashionMNISTSource.readIDX(directory.appendingPathComponent(FashionMNISTSource.files[0]))
        let trainLabels = try FashionMNISTSource.readIDX(directory.appendingPathComponent(FashionMNISTSource.files[1]))
        let testImages = try FashionMNISTSource.readIDX(directory.appendingPathComponent(FashionMNISTSource.files[2]))
        let testLabels = try FashionMNISTSource.readIDX(directory.appendingPathComponent(FashionMNISTSource.files[3]))
        guard trainImages.count == trainLabels.count, testImages.count == testLabels.count else {
            throw DataError.invalid("\(directory.path): image and label counts differ")
        }
        var report = LoadReport(dataset: config.dataset)
        report.source = directory.path
        let plan = SplitPlan.make(count: trainImages.count, trainSize: config.trainSize, valSize: config.valSize, testSize: 0, seed: config.splitSeed)
        report.notes += plan.notes
        var testRng = SeededRandom(seed: config.splitSeed, stream: 8, index: 0)
        var testOrder = testRng.permutation(testImages.count)
        if config.testSize > 0 { testOrder = Array(testOrder.prefix(config.testSize)) }
        let plane = trainImages.rows * trainImages.cols
        func slice(_ set: (count: Int, rows: Int, cols: Int, bytes: [UInt8]), _ i: Int) -> ArraySlice<UInt8> { set.bytes[(i * plane)..<((i + 1) * plane)] }

        // Attribute tertiles from the training file only.
        let measures = (0..<trainImages.count).map { FashionMNISTSource.measure(slice(trainImages, $0), rows: trainImages.rows, cols: trainImages.cols) }
        let bT = FashionMNISTSource.tertiles(measures.map { $0.brightness })
        let sT = FashionMNISTSource.tertiles(measures.map { $0.size })
        let tT = FashionMNISTSource.tertiles(measures.map { $0.texture })
        func level(_ v: Double, _ t: (Double, Double)) -> Int { v < t.0 ? 0 : v < t.1 ? 1 : 2 }

        func split(_ name: String, _ set: (count: Int, rows: Int, cols: Int, bytes: [UInt8]), _ labels: [UInt8], _ indices: [Int], file: String) -> ImageTextDataset {
            var pixels: [UInt8] = []
            pixels.reserveCapacity(indices.count * imageSize * imageSize * 3)
            var captions: [[String]] = []
            var rng = SeededRandom(seed: config.splitSeed, stream: 9, index: ["train", "val", "test"].firstIndex(of: name) ?? 3)
            for i in indices {
                // Dark garments on white, as product photos, rather than the file's white-on-black.
                let grey = slice(set, i).map { 255 - $0 }
                pixels += ImageFitting.fit(RGBImage(width: set.cols, height: set.rows, grey: grey), size: imageSize, mode: .stretch).pixels
                let m = FashionMNISTSource.measure(slice(set, i), rows: set.rows, cols: set.cols)
                let brightness = ["dark", "grey", "light"][level(m.brightness, bT)]
                let size = ["small", "medium-sized", "large"][level(m.size, sT)]
                let texture = ["plain", "lightly patterned", "patterned"][level(m.texture, tT)]
                let noun = FashionMNISTSource.classNames[Int(labels[i])]
                var list = ["a photo of a \(brightness), \(texture) \(noun)", "a \(size) \(noun)", "a \(brightness) \(noun)", "a \(texture) \(noun), \(size)"]
                rng.shuffle(&list)
                captions.append(Array(list.prefix(3)))
            }
            let axis = LabelAxis(name: "class", classNames: FashionMNISTSource.classNames, labels: indices.map { Int(labels[$0]) },
                                 templates: ["a photo of a {}.", "a {}.", "a product photo of a {}.", "a black and white photo of a {}.", "a small {}.", "a large {}."])
            return ImageTextDataset(name: name, imageWidth: imageSize, imageHeight: imageSize, pixels: pixels, captionsPerImage: captions,
                                    labelAxes: [axis], sourceIDs: indices.map { "\(file)#\($0)" })
        }
        let splits = [
            split("train", trainImages, trainLabels.bytes, plan.train, file: FashionMNISTSource.files[0]),
            split("val", trainImages, trainLabels.bytes, plan.val, file: FashionMNISTSource.files[0]),
            split("test", testImages, testLabels.bytes, testOrder, file: FashionMNISTSource.files[2]),
        ]
        return SourceSplits(splits: splits, report: report)
    }
}
