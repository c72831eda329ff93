import Foundation
import GapRandom

/// A 2-D principal-component projection.
public struct PlanarProjection: Sendable, Equatable {
    /// [rows] x and y coordinates.
    public var x: [Double]
    public var y: [Double]
    /// Names of the two axes, for plot labels.
    public var xName: String
    public var yName: String
}

public enum PCA {
    /// Projects the rows onto the two leading principal axes. The axes come from orthogonal iteration on
    /// the covariance matrix from a seeded start; each axis's sign is fixed so that its largest-magnitude
    /// component is positive, so the picture does not flip between runs or machines.
    public static func project(_ x: EmbeddingMatrix, seed: UInt64 = 0, iterations: Int = 500) throws -> (projection: PlanarProjection, explainedVariance: [Double]) {
        guard x.rows >= 2 else {
            throw EvalError.shape(what: "PCA input", expected: "at least 2 rows", got: "\(x.rows)")
        }
        let n = x.rows, d = x.dim
        let mean = x.columnMean()
        var centred = [Float](repeating: 0, count: n * d)
        for r in 0..<n { for c in 0..<d { centred[r * d + c] = Float(Double(x.values[r * d + c]) - mean[c]) } }
        var covarianceF = [Float](repeating: 0, count: d * d)
        centred.withUnsafeBufferPointer { a in
            covarianceF.withUnsafeMutableBufferPointer { out in
                sgemm(transposeA: true, transposeB: false, m: d, n: d, k: n, alpha: 1 / Float(n),
                      a: a.baseAddress!, lda: d, b: a.baseAddress!, ldb: d, c: out.baseAddress!, ldc: d)
            }
        }
        let covariance = covarianceF.map(Double.init)
        let components = min(2, d)
        var generator = SeededRandom(seed: seed)
        var basis = (0..<components).map { _ in (0..<d).map { _ in generator.gaussian() } }
        orthonormalise(&basis)
        for _ in 0..<iterations {
            basis = basis.map { multiply(covariance, $0, d) }
            orthonormalise(&basis)
        }
        var eigenvalues = basis.map { v in dot(v, multiply(covariance, v, d)) }
        if components == 2, eigenvalues[1] > eigenvalues[0] {
            basis.swapAt(0, 1)
            eigenvalues.swapAt(0, 1)
        }
        for i in basis.indices {
            let largest = basis[i].indices.max { abs(basis[i][$0]) < abs(basis[i][$1]) }!
            if basis[i][largest] < 0 { basis[i] = basis[i].map { -$0 } }
        }
        let totalVariance = (0..<d).reduce(0.0) { $0 + covariance[$1 * d + $1] }
        var xs = [Double](repeating: 0, count: n), ys = [Double](repeating: 0, count: n)
        for r in 0..<n {
            var px = 0.0, py = 0.0
            for c in 0..<d {
                let v = Double(centred[r * d + c])
                px += v * basis[0][c]
                if components == 2 { py += v * basis[1][c] }
            }
            xs[r] = px
            ys[r] = py
        }
        let explained = eigenvalues.map { totalVariance > 0 ? $0 / totalVariance : 0 }
        return (PlanarProjection(x: xs, y: ys, xName: "PC 1", yName: "PC 2"), explained)
    }

    private static func multiply(_ m: [Double], _ v: [Double], _ d: Int) -> [Double] {
        (0..<d).map { r in
            var s = 0.0
            for c in 0..<d { s += m[r * d + c] * v[c] }
            return s
        }
    }

    private static func dot(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Gram–Schmidt; a vector that vanishes (rank-deficient data) is replaced by a fixed unit axis
    /// orthogonalised against the others, so the basis stays complete.
    private static func orthonormalise(_ basis: inout [[Double]]) {
        for i in basis.indices {
            for j in 0..<i {
                let p = dot(basis[i], basis[j])
                for c in basis[i].indices { basis[i][c] -= p * basis[j][c] }
            }
            var norm = dot(basis[i], basis[i]).squareRoot()
            if norm < 1e-12 {
                var axis = 0
                repeat {
                    basis[i] = [Double](repeating: 0, count: basis[i].count)
                    basis[i][axis] = 1
                    for j in 0..<i {
                        let p = dot(basis[i], basis[j])
                        for c in basis[i].indices { basis[i][c] -= p * basis[j][c] }
                    }
                    norm = dot(basis[i], basis[i]).squareRoot()
                    axis += 1
                } while norm < 1e-6 && axis < basis[i].count
            }
            for c in basis[i].indices { basis[i][c] /= norm }
        }
    }
}
