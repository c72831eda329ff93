import GapData
import GapRandom
import GapEngine

/// A data split served to the trainer: one caption drawn per image and epoch, training augmentation, and the
/// caption distance matrix for IMSep from frozen caption embeddings.
public final class DatasetBatches: PairBatchSource {
    public let split: ImageTextDataset
    public let imageSize: Int
    public let captionEmbeddings: CaptionEmbeddings?
    public let augment: Bool

    public init(split: ImageTextDataset, imageSize: Int, captionEmbeddings: CaptionEmbeddings?, augment: Bool) {
        self.split = split
        self.imageSize = imageSize
        self.captionEmbeddings = captionEmbeddings
        self.augment = augment
    }

    public var imageCount: Int { split.imageCount }

    public func writeBatch(images: ArraySlice<Int>, seed: UInt64, epoch: Int, batchIndex: Int, augment wanted: Bool,
                           pixels: UnsafeMutablePointer<Float>, tokens: UnsafeMutablePointer<Int32>) -> [Int] {
        var rng = SeededRandom(seed: Int(truncatingIfNeeded: seed), stream: 0xBA7C, index: epoch * 1_000_003 + batchIndex)
        let captions = split.sampleCaptions(forImages: images, rng: &rng)
        if wanted && augment {
            split.writeImages(images, size: imageSize, into: pixels, augmentingWith: &rng)
        } else {
            split.writeImages(images, size: imageSize, into: pixels)
        }
        split.writeTokens(captions, into: tokens)
        return captions
    }

    public func writeSemanticDistances(captions: [Int], into out: UnsafeMutablePointer<Float>) {
        guard let captionEmbeddings else { preconditionFailure("IMSep with semantic re-scaling needs caption embeddings") }
        captionEmbeddings.writeDistances(captions, into: out)
    }
}
