import Dispatch
import GapRandom
import Foundation
import GapEngine
import GapLoss
import GapModel
import GapOptim
import GapSpec

/// A failure that stops training: never a silent NaN run.
public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(step: Int, what: String)
    case dataTooSmall(images: Int, batchSize: Int)

    public var description: String {
        switch self {
        case .nonFinite(let step, let what): return "training stopped at step \(step): \(what) is not finite"
        case .dataTooSmall(let n, let b): return "the training split has \(n) images, fewer than one batch of \(b)"
        }
    }
}

/// One optimiser step's numbers, as the run log records them.
public struct StepRecord {
    public var step: Int
    public var epoch: Int
    public var lr: Double
    public var loss: LossResult
    public var logitScale: Float
    public var gradNorm: Double?
}

/// The training loop of one run: batches → model → loss → AdamW, with open_clip's schedule, no-decay rule and
/// logit-scale clamp. The loss and the optimiser run on the model's engine context (its thread count). All buffers are allocated here once; a step allocates nothing but its log record.
public final class Trainer {
    public let model: CLIPModel
    public let train: TrainConfig
    public private(set) var loss: ContrastiveLoss
    public internal(set) var optimizer: AdamW
    public let schedule: LearningRateSchedule
    public let stepsPerEpoch: Int
    public let seed: UInt64
    /// Optimiser steps taken so far (the schedule's index of the next step).
    public private(set) var step = 0
    /// Epochs completed.
    public private(set) var epoch = 0

    private let pixelSlots: [FloatBuffer]
    private let tokenSlots: [Int32Buffer]
    private let imageGrad, textGrad, distances: FloatBuffer
    private let prefetchQueue = DispatchQueue(label: "gaplab.trainer.prefetch")
    private let logitScaleOffset: Int

    public init(model: CLIPModel, train: TrainConfig, loss settings: LossConfig, imageCount: Int, seed: UInt64) throws {
        guard imageCount >= train.batchSize else { throw TrainingError.dataTooSmall(images: imageCount, batchSize: train.batchSize) }
        self.model = model
        self.train = train
        self.seed = seed
        let B = train.batchSize, c = model.config
        model.reserve(batch: B)
        loss = try ContrastiveLoss(settings: settings, maxBatch: B)
        stepsPerEpoch = Trainer.stepsPerEpoch(imageCount: imageCount, batchSize: B)
        schedule = try LearningRateSchedule(kind: train.lrScheduler, baseLR: train.lr, warmup: train.warmup,
                                            totalSteps: stepsPerEpoch * train.epochs)
        logitScaleOffset = model.layout.offset("logit_scale")
        let segments = model.layout.tensors
            .filter { train.learnLogitScale || $0.name != "logit_scale" }
            .map { ParameterSegment(name: $0.name, offset: $0.offset, count: $0.count, decay: openCLIPDecays(name: $0.name, ndim: $0.shape.count)) }
        optimizer = try AdamW(parameterCount: model.parameterCount, segments: segments, beta1: train.beta1, beta2: train.beta2,
                              eps: train.eps, weightDecay: train.wd)
        pixelSlots = (0..<2).map { _ in FloatBuffer(count: B * 3 * c.vision.imageSize * c.vision.imageSize) }
        tokenSlots = (0..<2).map { _ in Int32Buffer(count: B * c.text.contextLength) }
        imageGrad = FloatBuffer(count: B * c.embedDim)
        textGrad = FloatBuffer(count: B * c.embedDim)
        distances = FloatBuffer(count: B * B)
    }

    public var totalSteps: Int { stepsPerEpoch * train.epochs }
    public var isFinished: Bool { epoch >= train.epochs }

    /// The image order of an epoch: a seeded shuffle that depends only on the run's seed and the epoch.
    public func order(epoch: Int, imageCount: Int) -> [Int] {
        Trainer.order(seed: seed, epoch: epoch, imageCount: imageCount)
    }

    /// The same order for any engine that trains on GapLab's batches (the torch engine's exported batches).
    public static func order(seed: UInt64, epoch: Int, imageCount: Int) -> [Int] {
        var rng = SeededRandom(seed: seed, stream: "epoch-order-\(epoch)")
        return rng.permutation(imageCount)
    }

    /// Steps of one epoch: open_clip drops the last incomplete batch.
    public static func stepsPerEpoch(imageCount: Int, batchSize: Int) -> Int { imageCount / batchSize }

    /// Runs the next epoch; `onStep` sees every step's record (the caller decides what to log).
    /// The next batch is written on a background queue while the current one trains (two buffer slots), so the
    /// step never waits on data; batches are pure functions of (seed, epoch, batch index), so this changes no number.
    public func runEpoch(_ source: PairBatchSource, onStep: (StepRecord) throws -> Void) throws {
        let B = train.batchSize
        let order = order(epoch: epoch, imageCount: source.imageCount)
        let epoch = self.epoch
        let captions = CaptionSlots()
        let ready = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        func write(_ batchIndex: Int) {
            let slot = batchIndex % 2
            let images = order[(batchIndex * B)..<((batchIndex + 1) * B)]
            captions[slot] = source.writeBatch(images: images, seed: seed, epoch: epoch, batchIndex: batchIndex, augment: true,
                                               pixels: pixelSlots[slot].pointer, tokens: tokenSlots[slot].pointer)
            ready[slot].signal()
        }
        write(0)
        // The slots and the source are only touched by the one write in flight and the step using the other slot.
        let writeNext = UncheckedSendable(write)
        var failure: Error?
        for batchIndex in 0..<stepsPerEpoch {
            let slot = batchIndex % 2
            ready[slot].wait()
            if batchIndex + 1 < stepsPerEpoch {
                prefetchQueue.async { writeNext.value(batchIndex + 1) }
            }
            do {
                if loss.settings.needsSemanticDistance {
                    source.writeSemanticDistances(captions: captions[slot], into: distances.pointer)
                }
                try onStep(try trainStep(batch: B, slot: slot))
            } catch {
                failure = error
                // Let the batch already being written finish before leaving: it writes into our buffers.
                if batchIndex + 1 < stepsPerEpoch { ready[(batchIndex + 1) % 2].wait() }
                break
            }
        }
        if let failure { throw failure }
        self.epoch += 1
    }

    func restorePosition(step: Int, epoch: Int) {
        self.step = step
        self.epoch = epoch
    }

    /// Writes batch 0 of the current epoch into the first buffer slot, then takes `steps` optimiser steps on it,
    /// outside `runEpoch`'s data hand-off: the training step alone, for measuring it (`gaplab dev bench
    /// --repeat-batch`). Changes the weights like any step.
    public func repeatFirstBatch(_ source: PairBatchSource, steps: Int, onStep: (StepRecord) throws -> Void) throws {
        let B = train.batchSize
        let images = order(epoch: epoch, imageCount: source.imageCount)[0..<B]
        let captions = source.writeBatch(images: images, seed: seed, epoch: epoch, batchIndex: 0, augment: true,
                                         pixels: pixelSlots[0].pointer, tokens: tokenSlots[0].pointer)
        if loss.settings.needsSemanticDistance { source.writeSemanticDistances(captions: captions, into: distances.pointer) }
        for _ in 0..<steps { try onStep(try trainStep(batch: B, slot: 0)) }
    }

    /// One optimiser step on the batch already in the trainer's buffers.
    func trainStep(batch B: Int, slot: Int) throws -> StepRecord {
        let E = model.config.embedDim
        let (v, t) = model.forward(images: pixelSlots[slot].pointer, tokens: tokenSlots[slot].pointer, batch: B)
        let result = loss.forwardBackward(engine: model.engine, image: v, text: t, count: B, dim: E, logitScale: model.logitScale,
                                          semanticDistance: loss.settings.needsSemanticDistance ? UnsafePointer(distances.pointer) : nil,
                                          imageGrad: imageGrad.pointer, textGrad: textGrad.pointer)
        guard result.total.isFinite else { throw TrainingError.nonFinite(step: step, what: "the loss (\(result.total))") }
        model.zeroGrads()
        model.backward(imageEmbedGrad: imageGrad.pointer, textEmbedGrad: textGrad.pointer)
        model.grads.pointer[logitScaleOffset] = train.learnLogitScale ? result.logitScaleGrad : 0
        if let bad = firstNonFinite(engine: model.engine, model.grads.pointer, segments: optimizer.segments) {
            throw TrainingError.nonFinite(step: step, what: "the gradient of \(bad.segment.name)")
        }
        var norm: Double?
        if train.gradClipNorm > 0 {
            norm = clipGradientNorm(engine: model.engine, model.grads.pointer, count: model.parameterCount, maxNorm: train.gradClipNorm)
        }
        let lr = schedule.lr(at: step)
        optimizer.update(engine: model.engine, parameters: model.weights.pointer, gradients: model.grads.pointer, lr: lr)
        // open_clip clamps the logit scale to [0, ln 100] after every step.
        model.logitScale = min(max(model.logitScale, 0), Float(log(100.0)))
        let record = StepRecord(step: step, epoch: epoch, lr: lr, loss: result, logitScale: model.logitScale, gradNorm: norm)
        step += 1
        return record
    }
}

/// The captions drawn for the two batch slots. Separate stored properties, so the prefetch queue writing one slot
/// and the training step reading the other never touch the same storage.
final class CaptionSlots {
    private var even: [Int] = []
    private var odd: [Int] = []

    subscript(slot: Int) -> [Int] {
        get { slot == 0 ? even : odd }
        set { if slot == 0 { even = newValue } else { odd = newValue } }
    }
}

/// Hands a value to another queue when its thread safety is guaranteed by the caller's protocol, not by its type.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
