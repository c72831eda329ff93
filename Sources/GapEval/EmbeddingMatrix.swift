import Foundation

/// Row-major Float32 embeddings, `rows` vectors of length `dim` stored back to back, as the model emits them.
public struct EmbeddingMatrix: Sendable, Equatable {
    public var values: [Float]
    public let rows: Int
    public let dim: Int

    public init(values: [Float], rows: Int, dim: Int) throws {
        guard rows >= 0, dim > 0 else {
            throw EvalError.shape(what: "embedding matrix", expected: "rows >= 0 and dim > 0", got: "rows \(rows), dim \(dim)")
        }
        guard values.count == rows * dim else {
            throw EvalError.shape(what: "embedding matrix [\(rows), \(dim)]", expected: "\(rows * dim) values", got: "\(values.count)")
        }
        for (index, value) in values.enumerated() where !value.isFinite {
            throw EvalError.invalidArgument(what: "embedding matrix value at row \(index / dim), column \(index % dim)",
                                            expected: "a finite number", got: "\(value)")
        }
        self.values = values
        self.rows = rows
        self.dim = dim
    }

    /// Builds a matrix from nested rows (convenient for small, hand-made inputs).
    public init(rows nested: [[Float]]) throws {
        guard let first = nested.first else {
            throw EvalError.shape(what: "embedding rows", expected: "at least one row", got: "none")
        }
        for (index, row) in nested.enumerated() where row.count != first.count {
            throw EvalError.shape(what: "embedding row \(index)", expected: "\(first.count) values like row 0", got: "\(row.count)")
        }
        try self.init(values: nested.flatMap { $0 }, rows: nested.count, dim: first.count)
    }

    /// Unchecked construction for results computed here from already valid matrices.
    init(trusted values: [Float], rows: Int, dim: Int) {
        self.values = values
        self.rows = rows
        self.dim = dim
    }

    public func row(_ index: Int) -> ArraySlice<Float> {
        values[(index * dim)..<((index + 1) * dim)]
    }

    /// Every row scaled to unit length; an all-zero row stays zero (it has no direction to keep).
    public func normalisedRows() -> EmbeddingMatrix {
        var out = values
        for r in 0..<rows {
            var sum: Double = 0
            for c in 0..<dim { let v = Double(out[r * dim + c]); sum += v * v }
            let norm = sum.squareRoot()
            guard norm > 0 else { continue }
            let inverse = Float(1 / norm)
            for c in 0..<dim { out[r * dim + c] *= inverse }
        }
        return EmbeddingMatrix(trusted: out, rows: rows, dim: dim)
    }

    /// Column means in Double, so that large sets do not lose precision.
    public func columnMean() -> [Double] {
        var mean = [Double](repeating: 0, count: dim)
        guard rows > 0 else { return mean }
        for r in 0..<rows {
            for c in 0..<dim { mean[c] += Double(values[r * dim + c]) }
        }
        let inverse = 1 / Double(rows)
        for c in 0..<dim { mean[c] *= inverse }
        return mean
    }

    /// The rows at `indices`, in that order (repeats allowed).
    public func selecting(rows indices: [Int]) -> EmbeddingMatrix {
        var out = [Float]()
        out.reserveCapacity(indices.count * dim)
        for index in indices { out.append(contentsOf: row(index)) }
        return EmbeddingMatrix(trusted: out, rows: indices.count, dim: dim)
    }

    /// Rows of `self` followed by rows of `other`.
    public func stacked(with other: EmbeddingMatrix) throws -> EmbeddingMatrix {
        guard other.dim == dim else {
            throw EvalError.shape(what: "stacked embeddings", expected: "dim \(dim)", got: "dim \(other.dim)")
        }
        return EmbeddingMatrix(trusted: values + other.values, rows: rows + other.rows, dim: dim)
    }
}

func requireSameDim(_ a: EmbeddingMatrix, _ b: EmbeddingMatrix, _ what: String) throws {
    guard a.dim == b.dim else {
        throw EvalError.shape(what: what, expected: "image and text embeddings of the same dim", got: "\(a.dim) and \(b.dim)")
    }
}

func requirePaired(_ images: EmbeddingMatrix, _ texts: EmbeddingMatrix, _ what: String) throws {
    try requireSameDim(images, texts, what)
    guard images.rows == texts.rows else {
        throw EvalError.shape(what: what, expected: "as many text rows as image rows (row i of each is a pair)",
                              got: "\(images.rows) images, \(texts.rows) texts")
    }
    guard images.rows > 0 else {
        throw EvalError.shape(what: what, expected: "at least one pair", got: "none")
    }
}
