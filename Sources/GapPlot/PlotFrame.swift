import Foundation

/// Axis ranges, the mapping from data to pixels and the furniture every plot shares: frame, grid, ticks,
/// axis labels, title and a legend under the plotting area, where arm names of any length have the full width.
struct PlotFrame {
    static let canvasWidth = 840
    static let plotLeft = 100.0, plotRight = 810.0, plotTop = 60.0, plotBottom = 490.0
    static let tickSize = 13.0, axisLabelSize = 15.0, titleSize = 20.0, legendSize = 13.0
    static let legendTop = plotBottom + 66, legendRowHeight = 24.0, legendLeft = 20.0, bottomMargin = 20.0

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

    func point(_ x: Double, _ y: Double) -> PixelPoint { PixelPoint(px(x), py(y)) }

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

    /// The canvas for a plot whose legend has `entries` entries (the legend's rows decide the height).
    static func drawing(title: String, legend entries: [LegendEntry]) -> PlotDrawing {
        let rows = Double(legendLayout(entries).rows)
        let height = legendTop + rows * legendRowHeight + bottomMargin
        return PlotDrawing(width: canvasWidth, height: Int(height.rounded(.up)), title: title)
    }

    /// The largest size from `size` down to `smallest` at which `text` fits in `room` pixels, and the text,
    /// cut with an ellipsis when it does not fit even at `smallest`.
    static func fitted(_ text: String, room: Double, size: Double, smallest: Double) -> (text: String, size: Double) {
        var size = size
        while size > smallest, PlotDrawing.textWidth(text, size: size) > room { size -= 1 }
        guard PlotDrawing.textWidth(text, size: size) > room else { return (text, size) }
        let keep = max(1, Int(room / (0.6 * size)) - 1)
        return (String(text.prefix(keep)) + "…", size)
    }

    func drawAxes(into drawing: inout PlotDrawing, xLabel: String, yLabel: String) {
        let left = PlotFrame.plotLeft, right = PlotFrame.plotRight, top = PlotFrame.plotTop, bottom = PlotFrame.plotBottom
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        let tick = PlotFrame.tickSize
        for t in xTicks {
            let x = px(t)
            drawing.add(.line(from: PixelPoint(x, top), to: PixelPoint(x, bottom), color: .lightGrey, width: 1, opacity: 1), role: .axes)
            drawing.add(.line(from: PixelPoint(x, bottom), to: PixelPoint(x, bottom + 6), color: .black, width: 1, opacity: 1), role: .axes)
            drawing.add(.text(PlotFrame.tickLabel(t, step: xStep), at: PixelPoint(x, bottom + 8 + tick), size: tick, color: .black, anchor: .middle, rotated: false), role: .axes)
        }
        for t in yTicks {
            let y = py(t)
            drawing.add(.line(from: PixelPoint(left, y), to: PixelPoint(right, y), color: .lightGrey, width: 1, opacity: 1), role: .axes)
            drawing.add(.line(from: PixelPoint(left - 6, y), to: PixelPoint(left, y), color: .black, width: 1, opacity: 1), role: .axes)
            // 0.35 em below the tick puts the middle of the digits on it.
            drawing.add(.text(PlotFrame.tickLabel(t, step: yStep), at: PixelPoint(left - 10, y + 0.35 * tick), size: tick, color: .black, anchor: .end, rotated: false), role: .axes)
        }
        drawing.add(.rectangle(origin: PixelPoint(left, top), width: right - left, height: bottom - top, fill: nil, stroke: .black, strokeWidth: 1), role: .axes)
        let x = PlotFrame.fitted(xLabel, room: right - left, size: PlotFrame.axisLabelSize, smallest: 11)
        drawing.add(.text(x.text, at: PixelPoint((left + right) / 2, bottom + 50), size: x.size, color: .black, anchor: .middle, rotated: false), role: .axes)
        let y = PlotFrame.fitted(yLabel, room: bottom - top, size: PlotFrame.axisLabelSize, smallest: 11)
        drawing.add(.text(y.text, at: PixelPoint(30, (top + bottom) / 2), size: y.size, color: .black, anchor: .middle, rotated: true), role: .axes)
    }

    /// Grid lines are drawn under the data, so axes come first and the data is added after them.
    static func drawTitle(into drawing: inout PlotDrawing) {
        let title = fitted(drawing.title, room: Double(canvasWidth - 20), size: titleSize, smallest: 14)
        drawing.add(.text(title.text, at: PixelPoint(Double(canvasWidth) / 2, 38), size: title.size, color: .black, anchor: .middle, rotated: false), role: .title)
    }

    enum LegendMark { case point, line, band }

    struct LegendEntry {
        var name: String
        var color: RGBColor
        var mark: LegendMark
        var opacity: Double
    }

    /// Entries fill columns of equal width, as many as the longest name allows; a name too long for the full
    /// width at the smallest size is cut with an ellipsis.
    static func legendLayout(_ entries: [LegendEntry]) -> (columns: Int, rows: Int, size: Double, columnWidth: Double) {
        guard !entries.isEmpty else { return (1, 0, legendSize, 0) }
        let room = Double(canvasWidth) - 2 * legendLeft
        let markAndGaps = 36.0 + 20.0
        var size = legendSize
        func widest(_ size: Double) -> Double { entries.map { PlotDrawing.textWidth($0.name, size: size) }.max()! + markAndGaps }
        while size > 10, widest(size) > room { size -= 1 }
        let columns = max(1, min(entries.count, Int(room / widest(size))))
        let rows = (entries.count + columns - 1) / columns
        return (columns, rows, size, room / Double(columns))
    }

    static func drawLegend(into drawing: inout PlotDrawing, entries: [LegendEntry]) {
        guard !entries.isEmpty else { return }
        let layout = legendLayout(entries)
        let boxWidth = Double(canvasWidth) - 2 * legendLeft
        drawing.add(.rectangle(origin: PixelPoint(legendLeft, legendTop), width: boxWidth, height: legendRowHeight * Double(layout.rows),
                               fill: .white, stroke: .grey, strokeWidth: 1), role: .legend)
        for (i, entry) in entries.enumerated() {
            let column = i % layout.columns, row = i / layout.columns
            let y = legendTop + legendRowHeight * (Double(row) + 0.5)
            let markX = legendLeft + layout.columnWidth * Double(column) + 22
            let opacity = max(entry.opacity, 0.6)
            switch entry.mark {
            case .point:
                drawing.add(.circle(center: PixelPoint(markX, y), radius: 5, fill: entry.color, opacity: opacity), role: .legend)
            case .line:
                drawing.add(.line(from: PixelPoint(markX - 10, y), to: PixelPoint(markX + 10, y), color: entry.color, width: 2.5, opacity: opacity), role: .legend)
            case .band:
                drawing.add(.rectangle(origin: PixelPoint(markX - 10, y - 6), width: 20, height: 12, fill: entry.color, stroke: nil, strokeWidth: 0), role: .legend)
            }
            let room = layout.columnWidth - 36 - 8
            let name = fitted(entry.name, room: room, size: layout.size, smallest: layout.size)
            drawing.add(.text(name.text, at: PixelPoint(markX + 18, y + 0.35 * layout.size), size: layout.size, color: .black, anchor: .start, rotated: false), role: .legend)
        }
    }
}
