/// What the training loop needs from a training set: images and one caption per image, written straight into
/// the trainer's batch buffers, and (for IMSep) the caption distance matrix of the batch.
public protocol PairBatchSource {
    /// Images in one epoch.
    var imageCount: Int { get }

    /// Writes `images` (CLIP-normalised [B, 3, H, W], augmented when `augment`) and one caption per image
    /// ([B, context] token ids) and returns the caption chosen for each image. Every random choice is derived
    /// from `seed`, `epoch` and `batchIndex`, so a resumed run draws the same batches.
    func writeBatch(images: ArraySlice<Int>, seed: UInt64, epoch: Int, batchIndex: Int, augment: Bool,
                    pixels: UnsafeMutablePointer<Float>, tokens: UnsafeMutablePointer<Int32>) -> [Int]

    /// D_ij = 1 − cos(e_i, e_j) of the captions' frozen sentence embeddings, row-major [B, B].
    func writeSemanticDistances(captions: [Int], into: UnsafeMutablePointer<Float>)
}
