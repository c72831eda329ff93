import Foundation
import GapRandom
@testable import GapEval

/// Random unit vectors of dimension `d`, fixed by the seed.
func randomUnitRows(_ n: Int, _ d: Int, seed: UInt64) throws -> EmbeddingMatrix {
    var generator = SeededRandom(seed: seed)
    let values = (0..<(n * d)).map { _ in Float(generator.gaussian()) }
    return try EmbeddingMatrix(values: values, rows: n, dim: d).normalisedRows()
}

/// Unit vectors in a cone of half-angle about `spread` radians around basis axis `axis`, noise in the axes
/// listed in `noiseAxes`.
func cone(_ n: Int, _ d: Int, axis: Int, noiseAxes: [Int], spread: Double, seed: UInt64) throws -> EmbeddingMatrix {
    var generator = SeededRandom(seed: seed)
    var values = [Float](repeating: 0, count: n * d)
    for i in 0..<n {
        var row = [Double](repeating: 0, count: d)
        row[axis] = 1
        for a in noiseAxes { row[a] = spread * generator.gaussian() }
        let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for c in 0..<d { values[i * d + c] = Float(row[c] / norm) }
    }
    return try EmbeddingMatrix(values: values, rows: n, dim: d)
}
