import XCTest
@testable import GapEval

final class PCATests: XCTestCase {
    /// Column j of the Householder reflection I − 2wwᵀ/wᵀw: the columns are exactly orthonormal.
    private func householderColumn(_ w: [Double], _ j: Int) -> [Double] {
        let scale = 2 * w[j] / w.reduce(0) { $0 + $1 * $1 }
        return w.indices.map { (($0 == j) ? 1 : 0) - scale * w[$0] }
    }

    /// Column k of an orthonormal [n, k] basis of zero-mean vectors: cosines and sines of frequencies 1, 2, ….
    private func fourierColumn(rows n: Int, _ k: Int) -> [Double] {
        let frequency = Double(k / 2 + 1)
        return (0..<n).map { r in
            let angle = 2 * Double.pi * frequency * Double(r) / Double(n)
            return (2 / Double(n)).squareRoot() * (k % 2 == 0 ? cos(angle) : sin(angle))
        }
    }

    /// Rows of U·diag(s)·Vᵀ plus a per-column offset (which centring must remove).
    private func data(u: [[Double]], s: [Double], v: [[Double]]) throws -> EmbeddingMatrix {
        let n = u[0].count, d = v[0].count
        var values = [Float](repeating: 0, count: n * d)
        for r in 0..<n {
            for c in 0..<d {
                let value = s.indices.reduce(0.0) { $0 + u[$1][r] * s[$1] * v[$1][c] }
                values[r * d + c] = Float(value + 0.25 * Double(c) - 1)
            }
        }
        return try EmbeddingMatrix(values: values, rows: n, dim: d)
    }

    private func largestMagnitudeIndex(_ v: [Double]) -> Int {
        v.indices.max { abs(v[$0]) < abs(v[$1]) || (abs(v[$0]) == abs(v[$1]) && $0 > $1) }!
    }

    /// Recovers V's columns (sign fixed), s²/(n−1) and the coordinates s·U from data built as U·diag(s)·Vᵀ.
    private func checkKnownDecomposition(rows n: Int, w: [Double], s: [Double], file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let v = s.indices.map { householderColumn(w, $0) }
        let u = s.indices.map { fourierColumn(rows: n, $0) }
        let x = try data(u: u, s: s, v: v)
        let pcs = try PCA.components(x, count: s.count)
        XCTAssertEqual(pcs.axes.count, s.count, file: file, line: line)
        var flipped = 0
        for k in s.indices {
            let sign: Double = v[k][largestMagnitudeIndex(v[k])] < 0 ? -1 : 1
            if sign < 0 { flipped += 1 }
            for c in 0..<x.dim {
                XCTAssertEqual(pcs.axes[k][c], sign * v[k][c], accuracy: 1e-5, "axis \(k), entry \(c)", file: file, line: line)
            }
            let expectedVariance = s[k] * s[k] / Double(n - 1)
            XCTAssertEqual(pcs.variances[k], expectedVariance, accuracy: 1e-5 * expectedVariance, "variance \(k)", file: file, line: line)
        }
        let total = s.reduce(0) { $0 + $1 * $1 } / Double(n - 1)
        XCTAssertEqual(pcs.totalVariance, total, accuracy: 1e-5 * total, file: file, line: line)

        let (projection, explained) = try PCA.project(x)
        for (k, coordinates) in [projection.x, projection.y].enumerated() {
            let sign: Double = v[k][largestMagnitudeIndex(v[k])] < 0 ? -1 : 1
            for r in 0..<n { XCTAssertEqual(coordinates[r], sign * s[k] * u[k][r], accuracy: 1e-4, file: file, line: line) }
            XCTAssertEqual(explained[k], s[k] * s[k] / s.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-5, file: file, line: line)
        }
        return flipped
    }

    func testRecoversAKnownDecompositionThroughTheCovariance() throws {
        // 40 rows of 5 dims: the covariance is the smaller matrix. V's fourth column has a negative largest entry.
        let flipped = try checkKnownDecomposition(rows: 40, w: [1, 2, -1, 3, 1], s: [8, 6, 4, 3, 2])
        XCTAssertGreaterThan(flipped, 0, "the data should exercise the sign fix")
    }

    func testRecoversAKnownDecompositionThroughTheGramMatrix() throws {
        // 8 rows of 12 dims: the Gram matrix is the smaller one.
        _ = try checkKnownDecomposition(rows: 8, w: [3, -1, 4, 1.5, -5, 9, 2, -6, 5.5, 3.5, -8, 7], s: [6, 4, 3, 1.5])
    }

    func testSignsAreFixedAndIgnoreTheDataSign() throws {
        for (rows, dim) in [(60, 10), (6, 10)] {
            let x = try cone(rows, dim, axis: 0, noiseAxes: Array(1..<dim), spread: 0.7, seed: 9)
            let pcs = try PCA.components(x, count: 3)
            for axis in pcs.axes { XCTAssertGreaterThan(axis[largestMagnitudeIndex(axis)], 0) }
            XCTAssertEqual(pcs.variances, pcs.variances.sorted(by: >))
            let negated = try EmbeddingMatrix(values: x.values.map { -$0 }, rows: x.rows, dim: x.dim)
            let negatedPCs = try PCA.components(negated, count: 3)
            for (a, b) in zip(pcs.axes, negatedPCs.axes) {
                for c in 0..<dim { XCTAssertEqual(a[c], b[c], accuracy: 1e-9) }
            }
            let (projection, negatedProjection) = (try PCA.project(x).projection, try PCA.project(negated).projection)
            for r in 0..<rows { XCTAssertEqual(projection.x[r], -negatedProjection.x[r], accuracy: 1e-9) }
        }
    }

    private func assertOrthonormal(_ axes: [[Double]], file: StaticString = #filePath, line: UInt = #line) {
        for i in axes.indices {
            for j in axes.indices {
                let dot = zip(axes[i], axes[j]).reduce(0) { $0 + $1.0 * $1.1 }
                XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-9, "axes \(i), \(j)", file: file, line: line)
            }
        }
    }

    func testFewerRowsThanDirectionsGiveAFiniteOrthonormalBasis() throws {
        // Two rows span one direction; four rows on a line too. The second axis is then any completion.
        let two = try EmbeddingMatrix(rows: [[1, 2, 0, -1, 3, 0], [-1, 0, 2, 1, 3, 4]])
        let line = try EmbeddingMatrix(rows: (0..<4).map { t in [1, 2, 0, -1, 3, 0].map { Float(t) * $0 + 0.5 } })
        for (x, direction) in [(two, [2.0, 2, -2, -2, 0, -4]), (line, [1.0, 2, 0, -1, 3, 0])] {
            let pcs = try PCA.components(x, count: 2)
            assertOrthonormal(pcs.axes)
            let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let alignment = zip(pcs.axes[0], direction).reduce(0) { $0 + $1.0 * $1.1 } / norm
            XCTAssertEqual(abs(alignment), 1, accuracy: 1e-6)
            XCTAssertGreaterThan(pcs.variances[0], 0)
            XCTAssertEqual(pcs.variances[1], 0, accuracy: 1e-9 * pcs.variances[0])
            let (projection, explained) = try PCA.project(x)
            XCTAssertTrue((projection.x + projection.y + explained).allSatisfy(\.isFinite))
            for r in 0..<x.rows { XCTAssertEqual(projection.y[r], 0, accuracy: 1e-5) }
            XCTAssertEqual(explained[0], 1, accuracy: 1e-9)
        }
    }

    func testConstantColumnsAndIdenticalRowsGiveFiniteResults() throws {
        // Column 1 is constant: no axis with variance leans on it.
        let rows = (0..<20).map { i -> [Float] in [Float(i) * 0.3, 7, Float((i * 7) % 5) - 2] }
        let pcs = try PCA.components(try EmbeddingMatrix(rows: rows), count: 3)
        assertOrthonormal(pcs.axes)
        for k in 0..<2 { XCTAssertEqual(pcs.axes[k][1], 0, accuracy: 1e-9) }
        XCTAssertEqual(pcs.variances[2], 0, accuracy: 1e-9)

        let identical = try EmbeddingMatrix(rows: Array(repeating: [0.5, -2, 1, 4], count: 5))
        let flat = try PCA.components(identical, count: 2)
        assertOrthonormal(flat.axes)
        XCTAssertEqual(flat.variances, [0, 0])
        XCTAssertEqual(flat.totalVariance, 0)
        let (projection, explained) = try PCA.project(identical)
        XCTAssertEqual(projection.x, Array(repeating: 0, count: 5))
        XCTAssertEqual(projection.y, Array(repeating: 0, count: 5))
        XCTAssertEqual(explained, [0, 0])
    }

    func testOneDimensionAndInvalidRequests() throws {
        let column = try EmbeddingMatrix(rows: [[1], [3], [-2]])
        let (projection, explained) = try PCA.project(column)
        for (got, expected) in zip(projection.x, [1 - 2.0 / 3, 3 - 2.0 / 3, -2 - 2.0 / 3]) { XCTAssertEqual(got, expected, accuracy: 1e-12) }
        XCTAssertEqual(projection.y, [0, 0, 0])
        XCTAssertEqual(explained.count, 1)
        XCTAssertEqual(explained[0], 1, accuracy: 1e-12)
        XCTAssertThrowsError(try PCA.project(try EmbeddingMatrix(rows: [[1, 2]])))
        XCTAssertThrowsError(try PCA.components(column, count: 2))
        XCTAssertThrowsError(try PCA.components(column, count: 0))
    }
}
