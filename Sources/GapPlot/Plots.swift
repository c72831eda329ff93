import Foundation

/// One named curve of a line plot, with optional symmetric error bars or a shaded band.
public struct PlotSeries: Sendable, Equatable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// ± half-widths drawn as error bars.
    public var yError: [Double]?
    /// Lower and upper edges of a shaded band (e.g. a confidence interval).
    public var bandLower: [Double]?
    public var bandUpper: [Double]?
    public var showPoints: Bool

    public init(name: String, x: [Double], y: [Double], yError: [Double]? = nil,
                bandLower: [Double]? = nil, bandUpper: [Double]? = nil, showPoints: Bool = true) {
        self.name = name
        self.x = x
        self.y = y
        self.yError = yError
        self.bandLower = bandLower
        self.bandUpper = bandUpper
        self.showPoints = showPoints
    }
}

/// Several series on shared axes; non-finite values leave a gap in their curve.
public struct LinePlot: Sendable, Equatable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [PlotSeries]
    /// Fixes the y axis (e.g. 0...1 for accuracies) instead of fitting the data.
    public var yRange: ClosedRange<Double>?

    public init(title: String, xLabel: String, yLabel: String, series: [PlotSeries], yRange: ClosedRange<Double>? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.yRange = yRange
    }

    public func drawing() throws -> PlotDrawing {
        guard !series.isEmpty else {
            throw PlotError.invalidArgument(what: "line plot \"\(title)\"", expected: "at least one series", got: "none")
        }
        var xs = [Double](), ys = [Double]()
        for s in series {
            guard s.x.count == s.y.count else {
                throw PlotError.shape(what: "series \"\(s.name)\" of plot \"\(title)\"", expected: "as many y as x values (\(s.x.count))", got: "\(s.y.count)")
            }
            for (label, extra) in [("yError", s.yError), ("bandLower", s.bandLower), ("bandUpper", s.bandUpper)] {
                if let extra, extra.count != s.x.count {
                    throw PlotError.shape(what: "\(label) of series \"\(s.name)\" in plot \"\(title)\"", expected: "\(s.x.count) values", got: "\(extra.count)")
                }
            }
            for i in s.x.indices where s.x[i].isFinite && s.y[i].isFinite {
                xs.append(s.x[i])
                ys.append(s.y[i])
                if let e = s.yError?[i], e.isFinite { ys.append(s.y[i] - e); ys.append(s.y[i] + e) }
                if let l = s.bandLower?[i], l.isFinite { ys.append(l) }
                if let u = s.bandUpper?[i], u.isFinite { ys.append(u) }
            }
        }
        let yBounds = yRange.map { ($0.lowerBound, $0.upperBound) } ?? (ys.min() ?? 0, ys.max() ?? 1)
        let frame = PlotFrame(xRange: (xs.min() ?? 0, xs.max() ?? 1), yRange: yBounds)
        let legend = series.indices.map { PlotFrame.LegendEntry(name: series[$0].name, color: .series($0), mark: .line, opacity: 1) }
        var drawing = PlotFrame.drawing(title: title, legend: legend)
        frame.drawAxes(into: &drawing, xLabel: xLabel, yLabel: yLabel)
        for (index, s) in series.enumerated() {
            let color = RGBColor.series(index)
            if let lower = s.bandLower, let upper = s.bandUpper {
                for run in finiteRuns(s.x.indices.filter { s.x[$0].isFinite && lower[$0].isFinite && upper[$0].isFinite }) where run.count >= 2 {
                    let top = run.map { frame.point(s.x[$0], upper[$0]) }
                    let bottom = run.reversed().map { frame.point(s.x[$0], lower[$0]) }
                    drawing.add(.polygon(points: top + bottom, fill: color, opacity: 0.2), role: .data)
                }
            }
            let valid = s.x.indices.filter { s.x[$0].isFinite && s.y[$0].isFinite }
            for run in finiteRuns(valid) where run.count >= 2 {
                drawing.add(.polyline(points: run.map { frame.point(s.x[$0], s.y[$0]) }, color: color, width: 2, opacity: 1), role: .data)
            }
            if let errors = s.yError {
                for i in valid where errors[i].isFinite && errors[i] > 0 {
                    let x = frame.px(s.x[i])
                    let low = frame.py(s.y[i] - errors[i]), high = frame.py(s.y[i] + errors[i])
                    drawing.add(.line(from: PixelPoint(x, low), to: PixelPoint(x, high), color: color, width: 1.5, opacity: 1), role: .data)
                    drawing.add(.line(from: PixelPoint(x - 4, low), to: PixelPoint(x + 4, low), color: color, width: 1.5, opacity: 1), role: .data)
                    drawing.add(.line(from: PixelPoint(x - 4, high), to: PixelPoint(x + 4, high), color: color, width: 1.5, opacity: 1), role: .data)
                }
            }
            if s.showPoints || valid.count == 1 {
                for i in valid { drawing.add(.circle(center: frame.point(s.x[i], s.y[i]), radius: 3.5, fill: color, opacity: 1), role: .data) }
            }
        }
        PlotFrame.drawTitle(into: &drawing)
        PlotFrame.drawLegend(into: &drawing, entries: legend)
        return drawing
    }

    /// Splits ascending indices into runs of consecutive ones, so a missing value breaks the curve.
    private func finiteRuns(_ indices: [Int]) -> [[Int]] {
        var runs = [[Int]]()
        for i in indices {
            if let last = runs.last?.last, last == i - 1 { runs[runs.count - 1].append(i) } else { runs.append([i]) }
        }
        return runs
    }
}

/// Empirical CDFs of paired cosines, one named curve per arm (the paper's Fig. 4).
public struct CosineCDFPlot: Sendable, Equatable {
    public var title: String
    public var curves: [(name: String, values: [Float])]
    public var xLabel = "paired cosine similarity"
    public var yLabel = "fraction of pairs <= x"
    /// Above this many values a curve keeps every k-th order statistic; the picture cannot show more.
    public static let maximumSteps = 600

    public init(title: String, curves: [(name: String, values: [Float])]) {
        self.title = title
        self.curves = curves
    }

    public static func == (a: CosineCDFPlot, b: CosineCDFPlot) -> Bool {
        a.title == b.title && a.curves.map(\.name) == b.curves.map(\.name) && a.curves.map(\.values) == b.curves.map(\.values)
    }

    public func drawing() throws -> PlotDrawing {
        guard !curves.isEmpty else {
            throw PlotError.invalidArgument(what: "CDF plot \"\(title)\"", expected: "at least one curve", got: "none")
        }
        var sortedCurves = [(String, [Double])]()
        for curve in curves {
            let values = curve.values.filter { $0.isFinite }.map(Double.init).sorted()
            guard !values.isEmpty else {
                throw PlotError.invalidArgument(what: "CDF curve \"\(curve.name)\"", expected: "at least one finite value", got: "none")
            }
            sortedCurves.append((curve.name, values))
        }
        let low = sortedCurves.map { $0.1.first! }.min()!, high = sortedCurves.map { $0.1.last! }.max()!
        let frame = PlotFrame(xRange: (low, high), yRange: (0, 1))
        let legend = sortedCurves.indices.map { PlotFrame.LegendEntry(name: sortedCurves[$0].0, color: .series($0), mark: .line, opacity: 1) }
        var drawing = PlotFrame.drawing(title: title, legend: legend)
        frame.drawAxes(into: &drawing, xLabel: xLabel, yLabel: yLabel)
        for (index, (_, values)) in sortedCurves.enumerated() {
            let color = RGBColor.series(index)
            let n = values.count
            let stride = max(1, (n + CosineCDFPlot.maximumSteps - 1) / CosineCDFPlot.maximumSteps)
            var points = [frame.point(frame.xLow, 0), frame.point(values[0], 0)]
            var k = 0
            while k < n {
                let next = min(n, k + stride)
                // F jumps to next/n at the (next−1)-th order statistic.
                let x = values[next - 1]
                points.append(frame.point(x, Double(k) / Double(n)))
                points.append(frame.point(x, Double(next) / Double(n)))
                k = next
            }
            points.append(frame.point(frame.xHigh, 1))
            drawing.add(.polyline(points: points, color: color, width: 2, opacity: 1), role: .data)
        }
        PlotFrame.drawTitle(into: &drawing)
        PlotFrame.drawLegend(into: &drawing, entries: legend)
        return drawing
    }
}

/// Named groups of points on shared axes, optionally with the i-th points of two groups joined by a faint line
/// (an image and its caption in an embedding picture).
public struct ScatterPlot: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var name: String
        public var x: [Double]
        public var y: [Double]
        public var color: RGBColor

        public init(name: String, x: [Double], y: [Double], color: RGBColor) {
            self.name = name
            self.x = x
            self.y = y
            self.color = color
        }
    }

    /// Joins point i of group `first` to point i of group `second`; named `name` in the legend.
    public struct Pairing: Sendable, Equatable {
        public var name: String
        public var first: Int
        public var second: Int

        public init(name: String, first: Int, second: Int) {
            self.name = name
            self.first = first
            self.second = second
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var groups: [Group]
    public var pairing: Pairing?
    public var pointRadius = 3.0
    public var pointOpacity = 0.75
    public var pairOpacity = 0.15

    public init(title: String, xLabel: String, yLabel: String, groups: [Group], pairing: Pairing? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.groups = groups
        self.pairing = pairing
    }

    /// Lines first, then each group's points in order, so the pairs stay under the points.
    public func drawing() throws -> PlotDrawing {
        guard !groups.isEmpty else {
            throw PlotError.invalidArgument(what: "scatter plot \"\(title)\"", expected: "at least one group", got: "none")
        }
        for group in groups where group.x.count != group.y.count {
            throw PlotError.shape(what: "group \"\(group.name)\" of plot \"\(title)\"", expected: "as many y as x values (\(group.x.count))", got: "\(group.y.count)")
        }
        if let pairing {
            guard groups.indices.contains(pairing.first), groups.indices.contains(pairing.second) else {
                throw PlotError.invalidArgument(what: "pairing of plot \"\(title)\"", expected: "two of the \(groups.count) groups", got: "\(pairing.first) and \(pairing.second)")
            }
            let a = groups[pairing.first], b = groups[pairing.second]
            guard a.x.count == b.x.count else {
                throw PlotError.shape(what: "pairing \"\(pairing.name)\" of plot \"\(title)\"", expected: "groups of equal size (\(a.x.count))", got: "\(b.x.count)")
            }
        }
        let xs = groups.flatMap(\.x).filter(\.isFinite), ys = groups.flatMap(\.y).filter(\.isFinite)
        let frame = PlotFrame(xRange: (xs.min() ?? 0, xs.max() ?? 1), yRange: (ys.min() ?? 0, ys.max() ?? 1))
        var legend = groups.map { PlotFrame.LegendEntry(name: $0.name, color: $0.color, mark: .point, opacity: pointOpacity) }
        if let pairing { legend.append(PlotFrame.LegendEntry(name: pairing.name, color: .grey, mark: .line, opacity: 1)) }
        var drawing = PlotFrame.drawing(title: title, legend: legend)
        frame.drawAxes(into: &drawing, xLabel: xLabel, yLabel: yLabel)
        if let pairing {
            let a = groups[pairing.first], b = groups[pairing.second]
            for i in a.x.indices where a.x[i].isFinite && a.y[i].isFinite && b.x[i].isFinite && b.y[i].isFinite {
                drawing.add(.line(from: frame.point(a.x[i], a.y[i]), to: frame.point(b.x[i], b.y[i]),
                                  color: .grey, width: 1, opacity: pairOpacity), role: .data)
            }
        }
        for group in groups {
            for i in group.x.indices where group.x[i].isFinite && group.y[i].isFinite {
                drawing.add(.circle(center: frame.point(group.x[i], group.y[i]), radius: pointRadius, fill: group.color, opacity: pointOpacity), role: .data)
            }
        }
        PlotFrame.drawTitle(into: &drawing)
        PlotFrame.drawLegend(into: &drawing, entries: legend)
        return drawing
    }
}
