import Foundation
import GapEngine
import GapTrain

/// GapLab's training batches written to files, so that an engine outside this process trains on exactly the
/// batches GapLab's own engine would: the same epoch order, caption draws, augmentation and caption distances.
///
/// One file per epoch, `epoch-0000.bin`, ...: `stepsPerEpoch` records back to back, little-endian, each the
/// batch's pixels (float32 [B, 3, S, S], normalised as the model reads them), its token ids (int32 [B, L]) and,
/// when the loss needs them, IMSep's caption distances (float32 [B, B]). An epoch's file costs
/// `stepsPerEpoch · B · (12·S² + 4·L + 4·B)` bytes; data too large for that is read by open_clip's own loaders.
public struct ExportedBatches: Codable, Equatable, Sendable {
    public var dir: String
    public var batchSize: Int
    public var imageSize: Int
    public var contextLength: Int
    public var distances: Bool
    public var stepsPerEpoch: Int
    public var epochs: Int

    enum CodingKeys: String, CodingKey {
        case dir, batchSize = "batch_size", imageSize = "image_size", contextLength = "context_length", distances
        case stepsPerEpoch = "steps_per_epoch", epochs
    }

    public static func fileName(epoch: Int) -> String { String(format: "epoch-%04d.bin", epoch) }

    /// Bytes of one step's record.
    public var recordBytes: Int {
        let B = batchSize
        return 4 * (B * 3 * imageSize * imageSize + B * contextLength + (distances ? B * B : 0))
    }

    /// Writes every epoch of `job` under `directory`. An epoch whose file is already there is kept: its content
    /// is a function of the job alone, and files appear only once complete (written aside, then renamed).
    public static func write(_ job: TrainingJob, to directory: URL) throws -> ExportedBatches {
        let B = job.train.batchSize, S = job.model.vision.imageSize, L = job.model.text.contextLength
        let needsDistances = job.loss.needsSemanticDistance
        let steps = Trainer.stepsPerEpoch(imageCount: job.split.imageCount, batchSize: B)
        guard steps > 0 else { throw TrainingError.dataTooSmall(images: job.split.imageCount, batchSize: B) }
        let layout = ExportedBatches(dir: directory.path, batchSize: B, imageSize: S, contextLength: L,
                                     distances: needsDistances, stepsPerEpoch: steps, epochs: job.train.epochs)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = DatasetBatches(split: job.split, imageSize: S, captionEmbeddings: job.captionEmbeddings,
                                    augment: job.augment)
        let pixels = FloatBuffer(count: B * 3 * S * S), tokens = Int32Buffer(count: B * L)
        let distances = FloatBuffer(count: needsDistances ? B * B : 0)
        for epoch in 0..<job.train.epochs {
            let url = directory.appendingPathComponent(fileName(epoch: epoch))
            if let size = try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int,
               size == steps * layout.recordBytes { continue }
            let partial = url.appendingPathExtension("partial")
            _ = FileManager.default.createFile(atPath: partial.path, contents: nil)
            let handle = try FileHandle(forWritingTo: partial)
            let order = Trainer.order(seed: job.seed, epoch: epoch, imageCount: job.split.imageCount)
            for step in 0..<steps {
                let captions = source.writeBatch(images: order[(step * B)..<((step + 1) * B)], seed: job.seed, epoch: epoch,
                                                 batchIndex: step, augment: true, pixels: pixels.pointer, tokens: tokens.pointer)
                var record = Data(capacity: layout.recordBytes)
                record.append(UnsafeBufferPointer(start: pixels.pointer, count: pixels.count))
                record.append(UnsafeBufferPointer(start: tokens.pointer, count: tokens.count))
                if needsDistances {
                    source.writeSemanticDistances(captions: captions, into: distances.pointer)
                    record.append(UnsafeBufferPointer(start: distances.pointer, count: distances.count))
                }
                try handle.write(contentsOf: record)
            }
            try handle.close()
            try FileManager.default.moveItem(at: partial, to: url)
        }
        return layout
    }
}
