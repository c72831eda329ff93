import CBLAS
import Foundation

/// A 2-D principal-component projection.
public struct PlanarProjection: Sendable, Equatable {
    /// [rows] x and y coordinates.
    public var x: [Double]
    public var y: [Double]
    /// Names of the two axes, for plot labels.
    public var xName: String
    public var yName: String
}

/// The leading principal axes of a set of rows.
public struct PrincipalComponents: Sendable, Equatable {
    /// Unit axes of `dim` values each, in descending order of variance. An axis's sign is fixed so that its
    /// largest-magnitude entry (the first, on ties) is positive, so pictures do not flip between runs or machines.
    public var axes: [[Double]]
    /// The variance of the rows along each axis: the covariance's eigenvalues, normalised by rows − 1.
    public var variances: [Double]
    /// The variance summed over all dims (the covariance's trace), for explained-variance fractions.
    public var totalVariance: Double
}

public enum PCA {
    /// Projects the rows onto the two leading principal axes (one when the rows have a single dim), with the
    /// fraction of the total variance along each.
    public static func project(_ x: EmbeddingMatrix) throws -> (projection: PlanarProjection, explainedVariance: [Double]) {
        let centred = centredRows(x)
        let pcs = try components(centred: centred, rows: x.rows, dim: x.dim, count: min(2, x.dim))
        let coordinates = pcs.axes.map { project(centred, rows: x.rows, dim: x.dim, onto: $0) }
        let y = coordinates.count == 2 ? coordinates[1] : [Double](repeating: 0, count: x.rows)
        let explained = pcs.variances.map { pcs.totalVariance > 0 ? $0 / pcs.totalVariance : 0 }
        return (PlanarProjection(x: coordinates[0], y: y, xName: "PC 1", yName: "PC 2"), explained)
    }

    /// The `count` leading principal axes of the rows of `x` and the variance along each.
    public static func components(_ x: EmbeddingMatrix, count: Int) throws -> PrincipalComponents {
        guard (1...x.dim).contains(count) else {
            throw EvalError.invalidArgument(what: "PCA component count", expected: "1...\(x.dim)", got: "\(count)")
        }
        return try components(centred: centredRows(x), rows: x.rows, dim: x.dim, count: count)
    }

    /// Row-major [rows, dim] in Double. An eigenvector's error is the covariance's rounding over the gap to the next
    /// eigenvalue, which in Float (ssyevr) shows for close leading eigenvalues; Double (dsyevr) costs little here.
    private static func centredRows(_ x: EmbeddingMatrix) -> [Double] {
        let mean = x.columnMean()
        var centred = [Double](repeating: 0, count: x.rows * x.dim)
        for r in 0..<x.rows { for c in 0..<x.dim { centred[r * x.dim + c] = Double(x.values[r * x.dim + c]) - mean[c] } }
        return centred
    }

    /// Decomposes the smaller of the covariance (dim × dim) and the Gram matrix (rows × rows) of the centred rows;
    /// both have the same nonzero eigenvalues, and a Gram eigenvector u gives the axis Xᵀu / ‖Xᵀu‖.
    private static func components(centred: [Double], rows n: Int, dim d: Int, count: Int) throws -> PrincipalComponents {
        guard n >= 2 else {
            throw EvalError.shape(what: "PCA input", expected: "at least 2 rows", got: "\(n)")
        }
        let totalVariance = centred.reduce(0) { $0 + $1 * $1 } / Double(n - 1)
        var axes: [[Double]]
        var eigenvalues: [Double]
        if n < d, let fromGram = try axesFromGram(centred, rows: n, dim: d, count: count) {
            (axes, eigenvalues) = fromGram
        } else {
            // The row-major [n, d] rows are the column-major [d, n] matrix A, and A·Aᵀ is the scatter matrix.
            var scatter = [Double](repeating: 0, count: d * d)
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, blasint(d), blasint(n), 1, centred, blasint(d), 0, &scatter, blasint(d))
            (eigenvalues, axes) = try leadingEigenpairs(&scatter, order: d, count: count)
        }
        return PrincipalComponents(axes: axes.map(signFixed),
                                   variances: eigenvalues.map { max(0, $0) / Double(n - 1) },
                                   totalVariance: totalVariance)
    }

    /// Axes through the rows × rows Gram matrix, or nil when the rows span fewer than `count` directions: the axes
    /// past their span are then any orthonormal completion, which the covariance's eigenvectors provide.
    private static func axesFromGram(_ centred: [Double], rows n: Int, dim d: Int, count: Int) throws -> (axes: [[Double]], eigenvalues: [Double])? {
        guard count < n else { return nil }
        var gram = [Double](repeating: 0, count: n * n)
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, blasint(n), blasint(d), 1, centred, blasint(d), 0, &gram, blasint(n))
        let (eigenvalues, vectors) = try leadingEigenpairs(&gram, order: n, count: count)
        // Below this an axis Xᵀu / ‖Xᵀu‖ would be mostly rounding error.
        guard let largest = eigenvalues.first, largest > 0, eigenvalues.allSatisfy({ $0 > largest * 1e-10 }) else { return nil }
        let axes = zip(eigenvalues, vectors).map { eigenvalue, u -> [Double] in
            var axis = [Double](repeating: 0, count: d)
            for r in 0..<n { for c in 0..<d { axis[c] += u[r] * centred[r * d + c] } }
            let norm = eigenvalue.squareRoot()
            return axis.map { $0 / norm }
        }
        return (axes, eigenvalues)
    }

    /// The `count` largest eigenvalues of the symmetric column-major `matrix` (upper triangle read, all of it
    /// overwritten) in descending order, with their unit eigenvectors, through LAPACK's dsyevr.
    private static func leadingEigenpairs(_ matrix: inout [Double], order: Int, count: Int) throws -> (values: [Double], vectors: [[Double]]) {
        var n = blasint(order), lda = blasint(order), ldz = blasint(order)
        var first = blasint(order - count + 1), last = blasint(order)
        var lower = 0.0, upper = 0.0, tolerance = Double.leastNormalMagnitude
        var found: blasint = 0, info: blasint = 0
        var values = [Double](repeating: 0, count: order)
        var vectors = [Double](repeating: 0, count: order * count)
        var support = [blasint](repeating: 0, count: 2 * count)
        var work = [Double](repeating: 0, count: 1), integerWork = [blasint](repeating: 0, count: 1)
        // The first call, with workspace lengths of -1, only reports the lengths the second one needs.
        for isQuery in [true, false] {
            var workCount = isQuery ? -1 : blasint(work.count)
            var integerWorkCount = isQuery ? -1 : blasint(integerWork.count)
            dsyevr_("V", "I", "U", &n, &matrix, &lda, &lower, &upper, &first, &last, &tolerance, &found,
                    &values, &vectors, &ldz, &support, &work, &workCount, &integerWork, &integerWorkCount, &info, 1, 1, 1)
            guard info == 0 else {
                throw EvalError.invalidArgument(what: "PCA eigendecomposition (LAPACK dsyevr)", expected: "info 0", got: "info \(info)")
            }
            if isQuery {
                work = [Double](repeating: 0, count: max(1, Int(work[0])))
                integerWork = [blasint](repeating: 0, count: max(1, Int(integerWork[0])))
            }
        }
        guard found == blasint(count) else {
            throw EvalError.invalidArgument(what: "PCA eigendecomposition (LAPACK dsyevr)", expected: "\(count) eigenpairs", got: "\(found)")
        }
        // dsyevr returns them in ascending order, eigenvector j as column j of a column-major [order, count].
        let descending = (0..<count).reversed()
        return (descending.map { values[$0] }, descending.map { Array(vectors[($0 * order)..<(($0 + 1) * order)]) })
    }

    /// The axis with its largest-magnitude entry (the first, on ties) made positive.
    static func signFixed(_ axis: [Double]) -> [Double] {
        var largest = 0
        for i in axis.indices where abs(axis[i]) > abs(axis[largest]) { largest = i }
        return axis[largest] < 0 ? axis.map { -$0 } : axis
    }

    private static func project(_ centred: [Double], rows n: Int, dim d: Int, onto axis: [Double]) -> [Double] {
        (0..<n).map { r in
            var sum = 0.0
            for c in 0..<d { sum += centred[r * d + c] * axis[c] }
            return sum
        }
    }
}
