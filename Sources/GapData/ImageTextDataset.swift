import Foundation
import GapRandom

/// One split of an image–caption dataset. Images are stored compactly as UInt8 RGB (HWC) at one resolution for
/// the whole split; captions are grouped by image (`imageCaptionStart`), and `captionImage` maps each caption back
/// to its image. After `tokenize(with:contextLength:)` every caption also has a token row.
public struct ImageTextDataset: Sendable {
    /// "train", "val", "test", or the name of an extra evaluation split.
    public var name: String
    public var imageWidth: Int
    public var imageHeight: Int
    /// imageCount × imageHeight × imageWidth × 3 bytes.
    public var pixels: [UInt8]
    public var captions: [String]
    public var captionImage: [Int]
    /// imageCount + 1 offsets: the captions of image i are `imageCaptionStart[i]..<imageCaptionStart[i+1]`.
    public var imageCaptionStart: [Int]
    public var labelAxes: [LabelAxis]
    /// Where each image came from (file path, source index): for reports and for tracing a bad result back.
    public var sourceIDs: [String]
    /// captionCount × contextLength token ids, filled by `tokenize`.
    public private(set) var tokens: [Int32] = []
    public private(set) var contextLength: Int = 0

    public init(name: String, imageWidth: Int, imageHeight: Int, pixels: [UInt8], captionsPerImage: [[String]],
                labelAxes: [LabelAxis], sourceIDs: [String]) {
        precondition(pixels.count == captionsPerImage.count * imageWidth * imageHeight * 3, "pixel count does not match the image count")
        precondition(sourceIDs.count == captionsPerImage.count, "one source id per image")
        self.name = name
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.pixels = pixels
        self.labelAxes = labelAxes
        self.sourceIDs = sourceIDs
        var captions: [String] = []
        var captionImage: [Int] = []
        var starts = [0]
        for (image, list) in captionsPerImage.enumerated() {
            captions.append(contentsOf: list)
            captionImage.append(contentsOf: repeatElement(image, count: list.count))
            starts.append(captions.count)
        }
        self.captions = captions
        self.captionImage = captionImage
        imageCaptionStart = starts
    }

    public var imageCount: Int { imageCaptionStart.count - 1 }
    public var captionCount: Int { captions.count }
    public var bytesPerImage: Int { imageWidth * imageHeight * 3 }

    public func captionRange(ofImage image: Int) -> Range<Int> { imageCaptionStart[image]..<imageCaptionStart[image + 1] }
    public func captions(ofImage image: Int) -> ArraySlice<String> { captions[captionRange(ofImage: image)] }

    /// One caption index per image, drawn uniformly among that image's captions (the usual way to pair an image
    /// with one of several captions each epoch).
    public func sampleCaptions<C: Collection>(forImages images: C, rng: inout SeededRandom) -> [Int] where C.Element == Int {
        images.map { image in
            let range = captionRange(ofImage: image)
            return range.lowerBound + rng.nextInt(below: range.count)
        }
    }

    public func image(_ index: Int) -> RGBImage {
        let start = index * bytesPerImage
        return RGBImage(width: imageWidth, height: imageHeight, pixels: Array(pixels[start..<(start + bytesPerImage)]))
    }

    public func labelAxis(named name: String) -> LabelAxis? { labelAxes.first { $0.name == name } }

    /// Encodes every caption once; batches then only copy rows.
    public mutating func tokenize(with tokenizer: Tokenizer, contextLength: Int) {
        self.contextLength = contextLength
        var rows = [Int32](repeating: 0, count: captions.count * contextLength)
        for (i, caption) in captions.enumerated() {
            let row = tokenizer.encode(caption, contextLength: contextLength)
            for j in 0..<contextLength { rows[i * contextLength + j] = row[j] }
        }
        tokens = rows
    }

    public func tokenRow(_ caption: Int) -> ArraySlice<Int32> {
        tokens[(caption * contextLength)..<((caption + 1) * contextLength)]
    }

    /// Writes the token rows of `captionIndices` as [B, contextLength] Int32.
    public func writeTokens<C: Collection>(_ captionIndices: C, into destination: UnsafeMutablePointer<Int32>) where C.Element == Int {
        precondition(contextLength > 0, "tokenize the split before writing token batches")
        tokens.withUnsafeBufferPointer { source in
            var out = destination
            for caption in captionIndices {
                out.update(from: source.baseAddress! + caption * contextLength, count: contextLength)
                out += contextLength
            }
        }
    }

    /// Writes the images as CLIP-normalised float32 [B, 3, size, size], resized with antialiasing when `size`
    /// differs from the stored resolution. No augmentation: the evaluation path.
    public func writeImages<C: Collection>(_ indices: C, size: Int, into destination: UnsafeMutablePointer<Float>) where C.Element == Int {
        var scratch = ResampleScratch()
        var out = destination
        for index in indices {
            let crop = CropRect(x: 0, y: 0, width: Double(imageWidth), height: Double(imageHeight))
            writeOne(index, crop: crop, size: size, into: out, scratch: &scratch)
            out += 3 * size * size
        }
    }

    /// The training path: each image gets a random resized crop (scale 0.9–1.0 of the area, aspect 3/4–4/3, as
    /// the paper) drawn from `rng`, so a fixed seed gives the same crops.
    public func writeImages<C: Collection>(_ indices: C, size: Int, into destination: UnsafeMutablePointer<Float>,
                                           augmentingWith rng: inout SeededRandom,
                                           crop cropSettings: RandomResizedCrop = RandomResizedCrop()) where C.Element == Int {
        var scratch = ResampleScratch()
        var out = destination
        for index in indices {
            let crop = cropSettings.sample(width: imageWidth, height: imageHeight, rng: &rng)
            writeOne(index, crop: crop, size: size, into: out, scratch: &scratch)
            out += 3 * size * size
        }
    }

    private func writeOne(_ index: Int, crop: CropRect, size: Int, into out: UnsafeMutablePointer<Float>, scratch: inout ResampleScratch) {
        pixels.withUnsafeBufferPointer { all in
            let source = all.baseAddress! + index * bytesPerImage
            let plane = size * size
            let identity = crop.x == 0 && crop.y == 0 && crop.width == Double(imageWidth) && crop.height == Double(imageHeight)
                && size == imageWidth && size == imageHeight
            if identity {
                for p in 0..<plane {
                    for c in 0..<3 {
                        out[c * plane + p] = (Float(source[3 * p + c]) * (1 / 255) - CLIPNormalisation.mean[c]) * CLIPNormalisation.inverseStd[c]
                    }
                }
                return
            }
            Resampler.resample(source: source, width: imageWidth, height: imageHeight, crop: crop,
                               outputWidth: size, outputHeight: size, scratch: &scratch) { p, r, g, b in
                out[p] = (r * (1 / 255) - CLIPNormalisation.mean[0]) * CLIPNormalisation.inverseStd[0]
                out[plane + p] = (g * (1 / 255) - CLIPNormalisation.mean[1]) * CLIPNormalisation.inverseStd[1]
                out[2 * plane + p] = (b * (1 / 255) - CLIPNormalisation.mean[2]) * CLIPNormalisation.inverseStd[2]
            }
        }
    }

    /// The split restricted to the given images (in that order), captions following their images.
    public func subset(_ images: [Int], name: String? = nil) -> ImageTextDataset {
        var pixels = [UInt8]()
        pixels.reserveCapacity(images.count * bytesPerImage)
        for i in images { pixels.append(contentsOf: self.pixels[(i * bytesPerImage)..<((i + 1) * bytesPerImage)]) }
        var result = ImageTextDataset(name: name ?? self.name, imageWidth: imageWidth, imageHeight: imageHeight, pixels: pixels,
                                      captionsPerImage: images.map { Array(captions(ofImage: $0)) },
                                      labelAxes: labelAxes.map { $0.subset(images) }, sourceIDs: images.map { sourceIDs[$0] })
        if contextLength > 0 {
            var rows = [Int32]()
            for i in images { for c in captionRange(ofImage: i) { rows.append(contentsOf: tokenRow(c)) } }
            result.tokens = rows
            result.contextLength = contextLength
        }
        return result
    }
}

/// OpenAI CLIP's per-channel image statistics, the normalisation open_clip applies.
public enum CLIPNormalisation {
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]
    static let inverseStd: [Float] = std.map { 1 / $0 }
}
