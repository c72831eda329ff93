import Foundation
import GapRandom

/// A rectangle in source pixel coordinates (fractional), the part of an image a resize reads.
public struct CropRect: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
}

/// torchvision's RandomResizedCrop sampling (area scale and log-uniform aspect, ten tries, then the centre).
public struct RandomResizedCrop: Sendable {
    public var scale: ClosedRange<Double>
    public var ratio: ClosedRange<Double>

    public init(scale: ClosedRange<Double> = 0.9...1.0, ratio: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0)) {
        self.scale = scale
        self.ratio = ratio
    }

    public func sample(width: Int, height: Int, rng: inout SeededRandom) -> CropRect {
        let area = Double(width * height)
        let logLow = Foundation.log(ratio.lowerBound), logHigh = Foundation.log(ratio.upperBound)
        for _ in 0..<10 {
            let target = area * rng.uniform(scale.lowerBound, scale.upperBound)
            let aspect = Foundation.exp(rng.uniform(logLow, logHigh))
            let w = (target * aspect).squareRoot(), h = (target / aspect).squareRoot()
            if w <= Double(width), h <= Double(height), w >= 1, h >= 1 {
                let x = rng.uniform(0, Double(width) - w + 1e-9)
                let y = rng.uniform(0, Double(height) - h + 1e-9)
                return CropRect(x: min(x, Double(width) - w), y: min(y, Double(height) - h), width: w, height: h)
            }
        }
        let side = Double(min(width, height))
        return CropRect(x: (Double(width) - side) / 2, y: (Double(height) - side) / 2, width: side, height: side)
    }
}

/// Reusable weight tables and row buffer for `Resampler`, so a batch allocates once rather than per image.
public struct ResampleScratch {
    var xStart: [Int] = [], xCount: [Int] = [], xWeights: [Float] = []
    var yStart: [Int] = [], yCount: [Int] = [], yWeights: [Float] = []
    var rows: [Float] = []
    public init() {}
}

/// Separable resampling with a triangle filter widened by the downscale factor (PIL's antialiased bilinear):
/// shrinking averages every source pixel under the output pixel instead of aliasing, enlarging is bilinear.
public enum Resampler {
    static func weights(outputCount: Int, sourceCount: Int, offset: Double, span: Double,
                        start: inout [Int], count: inout [Int], weights: inout [Float]) -> Int {
        let scale = span / Double(outputCount)
        let support = max(1.0, scale)
        let maxTaps = Int((support * 2).rounded(.up)) + 2
        start = [Int](repeating: 0, count: outputCount)
        count = [Int](repeating: 0, count: outputCount)
        if weights.count < outputCount * maxTaps { weights = [Float](repeating: 0, count: outputCount * maxTaps) }
        for o in 0..<outputCount {
            let centre = offset + (Double(o) + 0.5) * scale
            var first = Int((centre - support - 0.5).rounded(.up))
            var last = Int((centre + support - 0.5).rounded(.down))
            // Stay inside the crop: a centre crop must not bleed in what it cut away.
            first = max(first, 0, Int(offset.rounded(.down)))
            last = min(last, sourceCount - 1, Int((offset + span).rounded(.up)) - 1)
            if last < first {
                let nearest = min(max(Int(centre), 0), sourceCount - 1)
                first = nearest; last = nearest
            }
            var total: Double = 0
            var taps = 0
            for j in first...last where taps < maxTaps {
                let w = max(0, 1 - abs(Double(j) + 0.5 - centre) / support)
                weights[o * maxTaps + taps] = Float(w)
                total += w
                taps += 1
            }
            if total <= 0 {
                weights[o * maxTaps] = 1
                taps = 1
                first = min(max(Int(centre), 0), sourceCount - 1)
            } else {
                for t in 0..<taps { weights[o * maxTaps + t] /= Float(total) }
            }
            start[o] = first
            count[o] = taps
        }
        return maxTaps
    }

    /// Resamples `crop` of an RGB (HWC) image to outputWidth × outputHeight; `sink(pixelIndex, r, g, b)` gets each
    /// output pixel in 0...255 floats, row-major.
    public static func resample(source: UnsafePointer<UInt8>, width: Int, height: Int, crop: CropRect,
                                outputWidth: Int, outputHeight: Int, scratch: inout ResampleScratch,
                                sink: (Int, Float, Float, Float) -> Void) {
        let xTaps = weights(outputCount: outputWidth, sourceCount: width, offset: crop.x, span: crop.width,
                            start: &scratch.xStart, count: &scratch.xCount, weights: &scratch.xWeights)
        let yTaps = weights(outputCount: outputHeight, sourceCount: height, offset: crop.y, span: crop.height,
                            start: &scratch.yStart, count: &scratch.yCount, weights: &scratch.yWeights)
        let firstRow = scratch.yStart[0]
        let lastRow = (0..<outputHeight).map { scratch.yStart[$0] + scratch.yCount[$0] - 1 }.max()!
        let rowCount = lastRow - firstRow + 1
        if scratch.rows.count < rowCount * outputWidth * 3 { scratch.rows = [Float](repeating: 0, count: rowCount * outputWidth * 3) }
        scratch.rows.withUnsafeMutableBufferPointer { rows in
            for r in 0..<rowCount {
                let line = source + (firstRow + r) * width * 3
                for o in 0..<outputWidth {
                    var red: Float = 0, green: Float = 0, blue: Float = 0
                    let s = scratch.xStart[o]
                    for t in 0..<scratch.xCount[o] {
                        let w = scratch.xWeights[o * xTaps + t]
                        let p = line + (s + t) * 3
                        red += w * Float(p[0]); green += w * Float(p[1]); blue += w * Float(p[2])
                    }
                    let q = (r * outputWidth + o) * 3
                    rows[q] = red; rows[q + 1] = green; rows[q + 2] = blue
                }
            }
            for oy in 0..<outputHeight {
                let s = scratch.yStart[oy] - firstRow
                for ox in 0..<outputWidth {
                    var red: Float = 0, green: Float = 0, blue: Float = 0
                    for t in 0..<scratch.yCount[oy] {
                        let w = scratch.yWeights[oy * yTaps + t]
                        let q = ((s + t) * outputWidth + ox) * 3
                        red += w * rows[q]; green += w * rows[q + 1]; blue += w * rows[q + 2]
                    }
                    sink(oy * outputWidth + ox, red, green, blue)
                }
            }
        }
    }
}

/// How an image of any shape becomes the square stored resolution.
public enum FitMode: String, CaseIterable, Codable, Sendable {
    /// Scale the shorter side to the target, cut the centre (open_clip's default preprocessing).
    case centreCrop = "centre_crop"
    /// Scale the longer side to the target, pad the rest with white.
    case letterbox
    /// Scale both sides independently.
    case stretch
}

public enum ImageFitting {
    public static func fit(_ image: RGBImage, size: Int, mode: FitMode = .centreCrop) -> RGBImage {
        if image.width == size && image.height == size { return image }
        var scratch = ResampleScratch()
        let w = Double(image.width), h = Double(image.height)
        switch mode {
        case .centreCrop, .stretch:
            var crop = CropRect(x: 0, y: 0, width: w, height: h)
            if mode == .centreCrop {
                let side = min(w, h)
                crop = CropRect(x: (w - side) / 2, y: (h - side) / 2, width: side, height: side)
            }
            return resample(image, crop: crop, outputWidth: size, outputHeight: size, scratch: &scratch)
        case .letterbox:
            let scale = Double(size) / max(w, h)
            let outW = max(1, Int((w * scale).rounded())), outH = max(1, Int((h * scale).rounded()))
            let inner = resample(image, crop: CropRect(x: 0, y: 0, width: w, height: h), outputWidth: outW, outputHeight: outH, scratch: &scratch)
            var canvas = RGBImage(width: size, height: size)
            let ox = (size - outW) / 2, oy = (size - outH) / 2
            for y in 0..<outH {
                for x in 0..<outW {
                    for c in 0..<3 { canvas.pixels[((oy + y) * size + ox + x) * 3 + c] = inner.pixels[(y * outW + x) * 3 + c] }
                }
            }
            return canvas
        }
    }

    public static func resample(_ image: RGBImage, crop: CropRect, outputWidth: Int, outputHeight: Int,
                                scratch: inout ResampleScratch) -> RGBImage {
        var out = [UInt8](repeating: 0, count: outputWidth * outputHeight * 3)
        image.pixels.withUnsafeBufferPointer { source in
            Resampler.resample(source: source.baseAddress!, width: image.width, height: image.height, crop: crop,
                               outputWidth: outputWidth, outputHeight: outputHeight, scratch: &scratch) { p, r, g, b in
                out[3 * p] = UInt8(max(0, min(255, r.rounded())))
                out[3 * p + 1] = UInt8(max(0, min(255, g.rounded())))
                out[3 * p + 2] = UInt8(max(0, min(255, b.rounded())))
            }
        }
        return RGBImage(width: outputWidth, height: outputHeight, pixels: out)
    }
}
