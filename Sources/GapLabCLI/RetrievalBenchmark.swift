import GapEngine
import Foundation
import GapEval
import GapRandom

/// Seconds taken by image↔text retrieval (R@1/5/10 and ranks, one caption per image) on `n` random pairs of
/// dimension `d`, embedding excluded, for `gaplab dev bench`.
func benchmarkRetrieval(engine: EngineContext, n: Int = 10_000, d: Int = 128, seed: UInt64 = 0) throws -> Double {
    var generator = SeededRandom(seed: seed)
    let imageValues = (0..<(n * d)).map { _ in Float(generator.gaussian()) }
    let textValues = imageValues.map { $0 + Float(0.8 * generator.gaussian()) }
    let images = try EmbeddingMatrix(values: imageValues, rows: n, dim: d).normalisedRows()
    let texts = try EmbeddingMatrix(values: textValues, rows: n, dim: d).normalisedRows()
    let start = DispatchTime.now().uptimeNanoseconds
    let metrics = try Retrieval.evaluate(engine: engine, images: images, texts: texts, captionImage: Array(0..<n))
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    print(String(format: "retrieval %d x %d, d=%d: %.3f s (i2t R@1 %.3f)", n, n, d, seconds, metrics.imageToTextRecall[1] ?? .nan))
    return seconds
}
