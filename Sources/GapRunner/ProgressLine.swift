import Foundation

/// A progress report a child prints on its standard output, one per line:
/// `gaplab-progress epoch=2 epochs=6 step=120 steps=360 loss=1.2345`. The runner turns these into its
/// progress display; any other output line is kept in the run's log.
public struct ProgressLine: Equatable, Sendable {
    public static let prefix = "gaplab-progress"

    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var steps: Int
    public var loss: Double?

    public init(epoch: Int, epochs: Int, step: Int, steps: Int, loss: Double?) {
        self.epoch = epoch
        self.epochs = epochs
        self.step = step
        self.steps = steps
        self.loss = loss
    }

    public var formatted: String {
        var text = "\(Self.prefix) epoch=\(epoch) epochs=\(epochs) step=\(step) steps=\(steps)"
        if let loss { text += " loss=\(loss)" }
        return text
    }

    public init?(parsing line: String) {
        let words = line.split(separator: " ")
        guard words.first.map(String.init) == Self.prefix else { return nil }
        var fields: [String: String] = [:]
        for word in words.dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard let epoch = fields["epoch"].flatMap({ Int($0) }), let step = fields["step"].flatMap({ Int($0) }) else { return nil }
        self.epoch = epoch
        self.epochs = fields["epochs"].flatMap { Int($0) } ?? 0
        self.step = step
        self.steps = fields["steps"].flatMap { Int($0) } ?? 0
        self.loss = fields["loss"].flatMap { Double($0) }
    }
}
