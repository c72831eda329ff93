import Foundation
import GapRandom
import GapLoss
import GapSpec

/// The losses of METHOD.md §3 written straight from the formulas in Double, as the yardstick for GapLoss.
struct ReferenceLoss {
    var settings: LossConfig

    struct Terms {
        var total = 0.0
        var cross = 0.0
        var imsep = 0.0
        var inModal = 0.0
        var crossModal = 0.0
    }

    /// image, text: [n][e]; distance: [n][n] or nil for hollow.
    func terms(image: [[Double]], text: [[Double]], logitScale: Double, distance: [[Double]]?) -> Terms {
        let n = image.count
        let s = exp(logitScale)
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        func meanDiagonalCrossEntropy(_ logits: [[Double]]) -> Double {
            var sum = 0.0
            for i in 0..<n {
                let m = logits[i].max()!
                let lse = m + log(logits[i].reduce(0) { $0 + exp($1 - m) })
                sum += lse - logits[i][i]
            }
            return sum / Double(n)
        }
        func d(_ i: Int, _ j: Int) -> Double {
            settings.imsepRescale == .hollow ? 1 : (distance?[i][j] ?? 1)
        }
        var result = Terms()

        let imageToText = (0..<n).map { i in (0..<n).map { j in s * dot(image[i], text[j]) } }
        let textToImage = (0..<n).map { i in (0..<n).map { j in s * dot(text[i], image[j]) } }
        let directionSum = meanDiagonalCrossEntropy(imageToText) + meanDiagonalCrossEntropy(textToImage)
        result.cross = settings.crossReduction == .sum ? directionSum : directionSum / 2

        func separation(_ same: [[Double]]) -> Double {
            let logits = (0..<n).map { i in
                (0..<n).map { j in i == j ? s * dot(image[i], text[i]) : s * dot(same[i], same[j]) * d(i, j) }
            }
            return meanDiagonalCrossEntropy(logits)
        }
        if settings.imsepModality != .text { result.imsep += separation(image) }
        if settings.imsepModality != .image { result.imsep += separation(text) }

        for j in 0..<n {
            for k in 0..<n {
                let inModal = dot(image[j], image[k]) - dot(text[j], text[k])
                let crossModal = dot(image[j], text[k]) - dot(image[k], text[j])
                result.inModal += inModal * inModal / Double(n * n)
                result.crossModal += crossModal * crossModal / Double(n * n)
            }
        }
        result.total = settings.clipWeight * result.cross + settings.imsepWeight * result.imsep
            + settings.cyclipLambda1 * result.inModal + settings.cyclipLambda2 * result.crossModal
        return result
    }

    func total(image: [[Double]], text: [[Double]], logitScale: Double, distance: [[Double]]?) -> Double {
        terms(image: image, text: text, logitScale: logitScale, distance: distance).total
    }
}

/// n unit rows of dimension e.
func randomUnitRows(_ n: Int, _ e: Int, _ rng: inout SeededRandom) -> [[Double]] {
    (0..<n).map { _ in
        let row = (0..<e).map { _ in rng.uniform(-1, 1) }
        let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return row.map { $0 / norm }
    }
}

func flat(_ rows: [[Double]]) -> [Float] { rows.flatMap { $0.map(Float.init) } }

/// Rows rounded to Float and back, so the reference sees exactly the inputs the Float code sees.
func roundedToFloat(_ rows: [[Double]]) -> [[Double]] { rows.map { $0.map { Double(Float($0)) } } }
