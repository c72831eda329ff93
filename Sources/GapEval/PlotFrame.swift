import Foundation

/// Axis ranges, the mapping from data to pixels and the furniture every plot shares: frame, grid, ticks,
/// axis labels, title and a legend to the right of the plotting area.
struct PlotFrame {
    static let canvasWidth = 840
    static let canvasHeight = 600
    static let plotLeft = 100.0, plotRight = 610.0, plotTop = 60.0, plotBottom = 510.0
    static let legendLeft = 630.0

    let xTicks: [Double]
    let yTicks: [Double]
    let xLow: Double, xHigh: Double, yLow: Double, yHigh: Double

    init(xRange: (Double, Double), yRange: (Double, Double)) {
        let xs = PlotFrame.niceTicks(xRange.0, xRange.1)
        let ys = PlotFrame.niceTicks(yRange.0, yRange.1)
        xTicks = xs.ticks
        yTicks = ys.ticks
        xLow = xs.low; xHigh = xs.high
        yLow = ys.low; yHigh = ys.high
    }

    func px(_ x: Double) -> Double {
        PlotFrame.plotLeft + (x - xLow) / (xHigh - xLow) * (PlotFrame.plotRight - PlotFrame.plotLeft)
    }

    func py(_ y: Double) -> Double {
        PlotFrame.plotBottom - (y - yLow) / (yHigh - yLow) * (PlotFrame.plotBottom - PlotFrame.plotTop)
    }

    func point(_ x: Double, _ y: Double) -> ScenePoint { ScenePoint(px(x), py(y)) }

    /// Ticks at 1, 2 or 5 × 10^k covering [low, high]; a degenerate range is widened so it still has extent.
    static func niceTicks(_ rawLow: Double, _ rawHigh: Double, target: Int = 6) -> (low: Double, high: Double, ticks: [Double]) {
        var low = rawLow.isFinite ? rawLow : 0, high = rawHigh.isFinite ? rawHigh : 1
        if high < low { swap(&low, &high) }
        if high - low < 1e-12 {
            let pad = max(abs(low) * 0.1, 0.5)
            low -= pad
            high += pad
        }
        let rough = (high - low) / Double(target)
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        let first = (low / step).rounded(.down) * step
        let last = (high / step).rounded(.up) * step
        var ticks = [Double]()
        var t = first
        while t <= last + step * 1e-9 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return (first, last, ticks)
    }

    static func tickLabel(_ value: Double, step: Double) -> String {
        let decimals = max(0, Int(-(log10(step)).rounded(.down)))
        return String(format: "%.\(decimals)f", value)
    }

    func drawAxes(into scene: inout Scene, xLabel: String, yLabel: String) {
        let left = PlotFrame.plotLeft, right = PlotFrame.plotRight, top = PlotFrame.plotTop, bottom = PlotFrame.plotBottom
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        for t in xTicks {
            let x = px(t)
            scene.add(.line(from: ScenePoint(x, top), to: ScenePoint(x, bottom), color: .lightGrey, width: 1, opacity: 1), role: .axes)
            scene.add(.line(from: ScenePoint(x, bottom), to: ScenePoint(x, bottom + 6), color: .black, width: 1, opacity: 1), role: .axes)
            scene.add(.text(PlotFrame.tickLabel(t, step: xStep), at: ScenePoint(x, bottom + 24), scale: 2, color: .black, anchor: .middle, rotated: false), role: .axes)
        }
        for t in yTicks {
            let y = py(t)
            scene.add(.line(from: ScenePoint(left, y), to: ScenePoint(right, y), color: .lightGrey, width: 1, opacity: 1), role: .axes)
            scene.add(.line(from: ScenePoint(left - 6, y), to: ScenePoint(left, y), color: .black, width: 1, opacity: 1), role: .axes)
            scene.add(.text(PlotFrame.tickLabel(t, step: yStep), at: ScenePoint(left - 10, y + 7), scale: 2, color: .black, anchor: .end, rotated: false), role: .axes)
        }
        scene.add(.rectangle(origin: ScenePoint(left, top), width: right - left, height: bottom - top, fill: nil, stroke: .black, strokeWidth: 1), role: .axes)
        scene.add(.text(xLabel, at: ScenePoint((left + right) / 2, bottom + 62), scale: 2, color: .black, anchor: .middle, rotated: false), role: .axes)
        scene.add(.text(yLabel, at: ScenePoint(24, (top + bottom) / 2), scale: 2, color: .black, anchor: .middle, rotated: true), role: .axes)
    }

    /// Grid lines are drawn under the data, so axes come first and the data is added after them.
    static func drawTitle(into scene: inout Scene) {
        let scale = Scene.textWidth(scene.title, scale: 3) <= Double(canvasWidth - 20) ? 3 : 2
        scene.add(.text(scene.title, at: ScenePoint(Double(canvasWidth) / 2, 38), scale: scale, color: .black, anchor: .middle, rotated: false), role: .title)
    }

    enum LegendMark { case point, line, band }

    static func drawLegend(into scene: inout Scene, entries: [(name: String, color: RGBColor, mark: LegendMark, opacity: Double)]) {
        guard !entries.isEmpty else { return }
        let rowHeight = 26.0
        let boxHeight = rowHeight * Double(entries.count) + 12
        let boxWidth = Double(canvasWidth) - legendLeft - 8
        scene.add(.rectangle(origin: ScenePoint(legendLeft, plotTop), width: boxWidth, height: boxHeight, fill: .white, stroke: .grey, strokeWidth: 1), role: .legend)
        let longest = entries.map { Scene.textWidth($0.name, scale: 2) }.max() ?? 0
        let scale = longest <= boxWidth - 44 ? 2 : 1
        for (i, entry) in entries.enumerated() {
            let y = plotTop + 6 + rowHeight * (Double(i) + 0.5)
            let markX = legendLeft + 18
            switch entry.mark {
            case .point:
                scene.add(.circle(center: ScenePoint(markX, y), radius: 5, fill: entry.color, opacity: max(entry.opacity, 0.6)), role: .legend)
            case .line:
                scene.add(.line(from: ScenePoint(markX - 10, y), to: ScenePoint(markX + 10, y), color: entry.color, width: 2, opacity: max(entry.opacity, 0.6)), role: .legend)
            case .band:
                scene.add(.rectangle(origin: ScenePoint(markX - 10, y - 6), width: 20, height: 12, fill: entry.color, stroke: nil, strokeWidth: 0), role: .legend)
            }
            scene.add(.text(entry.name, at: ScenePoint(markX + 18, y + Double(7 * scale) / 2), scale: scale, color: .black, anchor: .start, rotated: false), role: .legend)
        }
    }
}
