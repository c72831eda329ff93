import ArgumentParser
import GapRandom
import Foundation
import GapEngine
import GapEval
import GapLoss
import GapModel
import GapRunner
import GapSpec
import GapTrain

/// One random batch of the right shapes, generated once and copied into every step: the benchmark measures
/// the engine, not the data.
final class RandomPairs: PairBatchSource {
    let imageCount: Int
    let batch: Int
    let pixels: [Float]
    let tokens: [Int32]

    init(imageCount: Int, batch: Int, config: ModelConfig) {
        self.imageCount = imageCount
        self.batch = batch
        var rng = SeededRandom(seed: 0, stream: "bench")
        let per = 3 * config.vision.imageSize * config.vision.imageSize, ctx = config.text.contextLength
        let vocab = config.text.vocabSize
        pixels = (0..<(batch * per)).map { _ in Float(rng.gaussian()) }
        var ids = [Int32](repeating: 0, count: batch * ctx)
        for b in 0..<batch {
            let length = 2 + Int(rng.next() % UInt64(ctx - 2))
            ids[b * ctx] = Int32(vocab - 2)
            for t in 1..<length { ids[b * ctx + t] = Int32(1 + rng.next() % UInt64(vocab - 3)) }
            ids[b * ctx + length] = Int32(vocab - 1)
        }
        tokens = ids
    }

    func writeBatch(images: ArraySlice<Int>, seed: UInt64, epoch: Int, batchIndex: Int, augment: Bool,
                    pixels out: UnsafeMutablePointer<Float>, tokens outTokens: UnsafeMutablePointer<Int32>) -> [Int] {
        let n = min(images.count, batch)
        pixels.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: n * pixels.count / batch) }
        tokens.withUnsafeBufferPointer { outTokens.update(from: $0.baseAddress!, count: n * tokens.count / batch) }
        return Array(images)
    }

    func writeSemanticDistances(captions: [Int], into: UnsafeMutablePointer<Float>) {
        let n = captions.count
        for i in 0..<n { for j in 0..<n { into[i * n + j] = i == j ? 0 : 1 } }
    }
}

/// Peak resident memory of this process (VmHWM), in MiB.
func peakResidentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "") else { return .nan }
    return kb / 1024
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

/// Measured sgemm rate with `engine`'s thread count, on square products of the given size.
func measureSGEMM(engine: EngineContext, size n: Int, seconds: Double = 1.0) -> Double {
    let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
    var rng = SeededRandom(seed: 1)
    for i in 0..<(n * n) { a[i] = Float(rng.gaussian()); b[i] = Float(rng.gaussian()) }
    sgemm(engine: engine, m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
    var reps = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed = 0.0
    while elapsed < seconds {
        sgemm(engine: engine, m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
        reps += 1
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    return 2 * Double(n * n * n) * Double(reps) / elapsed / 1e9
}

/// `gaplab dev bench --format json`: one line that Benchmarks/compare.py reads; the retrieval and kernel keys
/// appear only when those parts ran.
struct BenchResult: Encodable {
    struct Kernel: Encodable {
        var kernel: String
        var shape: String
        var calls_per_step: Int
        var seconds_per_call: Double
    }
    var engine: String
    var threads: Int
    var batch: Int
    var train_samples_per_s: Double
    var train_step_s_median: Double
    var train_step_s_min: Double
    var train_step_s_max: Double
    var timed_steps: Int
    var inference_pairs_per_s: Double
    var train_flops_per_sample: Double
    var sgemm_gflops: Double
    var mfu: Double
    var peak_rss_mib: Double
    var cpu: String
    var blas: String
    var parameters: Int
    var parallel_loops_per_step: Double
    var loop_wait_fraction: Double
    var outside_loops_s_per_step: Double
    var retrieval_pairs: Int?
    var retrieval_seconds: Double?
    var kernels: [Kernel]?
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training and inference throughput of the engine on the reference configuration.",
        discussion: """
        Trains the reference model (images 32×32, patch 4, width 128, 4 layers, 4 heads; text context 32, \
        vocabulary 1024, width 128, 4 layers, 4 heads; embed_dim 128) on random data with open_clip's ClipLoss \
        and AdamW, and prints steady-state samples/s (median over timed steps after warm-up steps), inference \
        pairs/s, the model's matrix-product FLOPs per sample, the measured sgemm GFLOP/s at the same thread count \
        and the fraction of it reached (MFU), and the process's peak resident memory up to the end of training \
        (before the inference pass). Run it once per thread count: peak memory is per process.
        """)

    @OptionGroup var threadOptions: ThreadOptions
    @Option(help: "Model config JSON; the reference configuration when omitted.")
    var model: String?
    @Option(help: "Batch size.")
    var batch: Int = 128
    @Option(help: "Untimed steps before measuring.")
    var warmupSteps: Int = 3
    @Option(help: "Timed training steps.")
    var steps: Int = 20
    @Option(help: "Image–caption pairs embedded for the inference figure.")
    var inferencePairs: Int = 1024
    @Option(help: "Pairs for the retrieval timing (embedding excluded); 0 skips it.")
    var evalPairs: Int = 0
    @Option(help: "Output: table or json.")
    var format: String = "table"
    @Flag(help: "Train every step on one batch written before the first, leaving out the data hand-off between steps (to measure the step alone, for example its heap allocations with Benchmarks/allocations.py).")
    var repeatBatch = false
    @Flag(help: "Also time each tower kernel alone at the step's shapes and print its share of a training step (on AVX-512 builds, each product also through OpenBLAS, for comparison).")
    var kernels = false
    @Flag(help: "Run every matrix product through OpenBLAS instead of the engine's AVX-512 tiles (to compare the two).")
    var blasProducts = false

    func run() throws {
        let config = try model.map(loadModelConfig) ?? .reference
        let clip = CLIPModel(config: config, seed: 0, maxBatch: batch, threads: threadOptions.threads,
                             productKernel: blasProducts ? .blas : .tiles)
        let engine = clip.engine
        var train = TrainConfig()
        train.batchSize = batch
        train.epochs = 1
        train.warmup = 10
        let source = RandomPairs(imageCount: batch * (warmupSteps + steps), batch: batch, config: config)
        let trainer = try Trainer(model: clip, train: train, loss: LossConfig(crossReduction: .mean),
                                  imageCount: source.imageCount, seed: 0)
        var stepTimes: [Double] = []
        stepTimes.reserveCapacity(steps)
        var last = DispatchTime.now().uptimeNanoseconds
        var loopsBefore = engine.loopCounters
        let onStep: (StepRecord) throws -> Void = { record in
            let now = DispatchTime.now().uptimeNanoseconds
            if record.step >= warmupSteps { stepTimes.append(Double(now - last) / 1e9) }
            if record.step == warmupSteps - 1 { loopsBefore = engine.loopCounters }
            last = now
        }
        if repeatBatch {
            try trainer.repeatFirstBatch(source, steps: warmupSteps + steps, onStep: onStep)
        } else {
            try trainer.runEpoch(source, onStep: onStep)
        }
        let stepSeconds = median(stepTimes)
        let trainingRate = Double(batch) / stepSeconds
        let loops = engine.loopCounters - loopsBefore
        let timedSeconds = stepTimes.reduce(0, +), timedSteps = Double(max(stepTimes.count, 1))
        let loopSeconds = loops.callerWorkSeconds + loops.callerWaitSeconds
        // Training's peak, before the inference pass allocates its inputs.
        let trainingPeakMiB = peakResidentMiB()

        let n = inferencePairs
        let per = 3 * config.vision.imageSize * config.vision.imageSize, ctx = config.text.contextLength
        let pixels = FloatBuffer(count: n * per), tokens = Int32Buffer(count: n * ctx)
        for start in stride(from: 0, to: n, by: batch) {
            _ = source.writeBatch(images: Array(start..<min(n, start + batch))[...], seed: 1, epoch: 0, batchIndex: 0,
                                  augment: false, pixels: pixels.pointer + start * per, tokens: tokens.pointer + start * ctx)
        }
        let out = FloatBuffer(count: n * config.embedDim)
        clip.encodeImages(pixels.pointer, count: min(n, batch), into: out.pointer)
        let t0 = DispatchTime.now().uptimeNanoseconds
        clip.encodeImages(pixels.pointer, count: n, into: out.pointer)
        clip.encodeTexts(tokens.pointer, count: n, into: out.pointer)
        let inferenceRate = Double(n) / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)

        let retrievalSeconds = evalPairs > 0 ? try benchmarkRetrieval(engine: engine, n: evalPairs, d: config.embedDim) : .nan
        let flops = trainingFLOPsPerSample(config)
        let gflops = measureSGEMM(engine: engine, size: 512)
        let mfu = trainingRate * flops / 1e9 / gflops
        let kernelRows = kernels ? KernelProfile.measure(engine: engine, config: config, batch: batch) : []
        if format == "json" {
            print(JSONOutput.line(BenchResult(
                engine: "gaplab", threads: engine.threads, batch: batch,
                train_samples_per_s: trainingRate, train_step_s_median: stepSeconds,
                train_step_s_min: stepTimes.min() ?? .nan, train_step_s_max: stepTimes.max() ?? .nan,
                timed_steps: stepTimes.count, inference_pairs_per_s: inferenceRate,
                train_flops_per_sample: flops, sgemm_gflops: gflops, mfu: mfu,
                peak_rss_mib: trainingPeakMiB, cpu: RunEnvironment.cpuModel, blas: BLASKernel.configuration,
                parameters: clip.parameterCount,
                parallel_loops_per_step: Double(loops.loops) / timedSteps,
                loop_wait_fraction: loopSeconds > 0 ? loops.callerWaitSeconds / loopSeconds : 0,
                outside_loops_s_per_step: (timedSeconds - loopSeconds) / timedSteps,
                retrieval_pairs: evalPairs > 0 ? evalPairs : nil, retrieval_seconds: evalPairs > 0 ? retrievalSeconds : nil,
                kernels: kernels ? kernelRows.map {
                    BenchResult.Kernel(kernel: $0.kernel, shape: $0.shape, calls_per_step: $0.callsPerStep, seconds_per_call: $0.secondsPerCall)
                } : nil)), terminator: "")
        } else {
            print("GapLab engine benchmark — \(RunEnvironment.cpuModel); \(BLASKernel.configuration)")
            print("threads \(engine.threads), batch \(batch), \(clip.parameterCount) parameters, \(stepTimes.count) timed steps after \(warmupSteps) warm-up")
            print(String(format: "training   %8.1f samples/s (step median %.4f s, min %.4f, max %.4f)", trainingRate, stepSeconds,
                         stepTimes.min() ?? .nan, stepTimes.max() ?? .nan))
            if engine.threads > 1 {
                // Noise on a shared machine shows up as wait: one core slowed for a while holds every loop up.
                print(String(format: "threads    %.0f parallel loops per step; the calling thread waited %.1f%% of their time for the other threads; %.1f ms per step ran outside them (one thread)",
                             Double(loops.loops) / timedSteps, loopSeconds > 0 ? 100 * loops.callerWaitSeconds / loopSeconds : 0,
                             1000 * (timedSeconds - loopSeconds) / timedSteps))
            }
            print(String(format: "inference  %8.1f pairs/s", inferenceRate))
            print(String(format: "model      %.3f GFLOP per training sample (matrix products, forward + backward)", flops / 1e9))
            print(String(format: "sgemm      %8.1f GFLOP/s (512×512×512) → MFU %.1f%%", gflops, 100 * mfu))
            print(String(format: "peak RSS   %8.1f MiB in training", trainingPeakMiB))
            if kernels { print("\n" + KernelProfile.table(kernelRows, stepSeconds: stepSeconds)) }
            if evalPairs > 0 { print(String(format: "retrieval  %8.3f s for %d×%d pairs, both directions, R@1/5/10 and ranks (embedding excluded)", retrievalSeconds, evalPairs, evalPairs)) }
        }
    }
}
