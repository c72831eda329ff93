import Foundation
import GapStore
#if canImport(Glibc)
import Glibc
#endif

/// How the runner reports progress.
public enum ProgressStyle: Sendable {
    /// Live lines when standard output is a terminal, plain log lines otherwise.
    case automatic
    /// One live line per running run (epoch/step, loss, ETA) and a sweep line, redrawn in place.
    case live
    /// Timestamped log lines: run started, epoch reached, run finished.
    case plain
    case silent

    var resolved: ProgressStyle {
        guard case .automatic = self else { return self }
        return isatty(STDOUT_FILENO) != 0 ? .live : .plain
    }
}

/// Formats progress for people; all calls are thread-safe.
final class ProgressDisplay {
    private struct Active {
        var label: String
        var attempt: Int
        var startedAt: Date
        var first: (date: Date, step: Int)?
        var latest: ProgressLine?
    }

    private let style: ProgressStyle
    private let lock = NSLock()
    private var active: [String: Active] = [:]
    private var order: [String] = []
    private var sweepLine = ""
    private var drawnLines = 0
    private var lastDraw = Date.distantPast

    init(style: ProgressStyle) {
        self.style = style.resolved
    }

    private func label(_ run: RunRecord) -> String {
        let name = run.shortName.isEmpty ? run.variant : run.shortName
        return "\(name) seed=\(run.seed) [\(run.runID.prefix(8))]"
    }

    func runStarted(_ claim: ClaimedRun) {
        lock.lock(); defer { lock.unlock() }
        active[claim.runID] = Active(label: label(claim.run), attempt: claim.attempt, startedAt: Date())
        order.append(claim.runID)
        let resumed = claim.attempt > 1 ? " (attempt \(claim.attempt), resuming)" : ""
        log("started \(label(claim.run))\(resumed)")
        redraw(force: true)
    }

    func runProgress(runID: String, _ line: ProgressLine) {
        lock.lock(); defer { lock.unlock() }
        guard var entry = active[runID] else { return }
        let previousEpoch = entry.latest?.epoch
        if entry.first == nil { entry.first = (Date(), line.step) }
        entry.latest = line
        active[runID] = entry
        if case .plain = style, previousEpoch != line.epoch {
            log("\(entry.label) \(describe(entry, line))")
        }
        redraw(force: false)
    }

    func runFinished(_ claim: ClaimedRun, outcome: RunOutcome, detail: String) {
        lock.lock(); defer { lock.unlock() }
        let elapsed = active[claim.runID].map { Date().timeIntervalSince($0.startedAt) } ?? 0
        active[claim.runID] = nil
        order.removeAll { $0 == claim.runID }
        log("\(outcome.status.rawValue) \(label(claim.run)) after \(Self.duration(elapsed))\(detail.isEmpty ? "" : ": " + detail)")
        redraw(force: true)
    }

    func sweep(_ counts: [RunStatus: Int]) {
        lock.lock(); defer { lock.unlock() }
        let text = "sweep: " + [RunStatus.completed, .running, .failed, .killed, .stale, .pending]
            .filter { counts[$0, default: 0] > 0 || $0 == .completed || $0 == .pending }
            .map { "\(counts[$0, default: 0]) \($0.rawValue)" }.joined(separator: ", ")
        guard text != sweepLine else { return }
        sweepLine = text
        if case .plain = style { log(text) }
        redraw(force: true)
    }

    func message(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        log(text)
        redraw(force: true)
    }

    /// Leaves the live area as it is (the final state stays on screen).
    func finish() {
        lock.lock(); defer { lock.unlock() }
        drawnLines = 0
    }

    // MARK: Rendering (lock held)

    private func describe(_ entry: Active, _ line: ProgressLine) -> String {
        var parts = ["epoch \(line.epoch)\(line.epochs > 0 ? "/\(line.epochs)" : "")",
                     "step \(line.step)\(line.steps > 0 ? "/\(line.steps)" : "")"]
        if let loss = line.loss { parts.append(String(format: "loss %.4f", loss)) }
        if let first = entry.first, line.steps > 0, line.step > first.step {
            let rate = Double(line.step - first.step) / max(Date().timeIntervalSince(first.date), 1e-3)
            parts.append("ETA " + Self.duration(Double(line.steps - line.step) / rate))
        }
        return parts.joined(separator: "  ")
    }

    private func bar(_ line: ProgressLine?) -> String {
        let width = 20
        guard let line, line.steps > 0 else { return "[" + String(repeating: " ", count: width) + "]" }
        let filled = min(width, max(0, line.step * width / line.steps))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    private func log(_ text: String) {
        switch style {
        case .silent: return
        case .live:
            clearLiveArea()
            write(text + "\n")
        default:
            let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .current, formatOptions: [.withTime, .withColonSeparatorInTime])
            write("[\(stamp)] \(text)\n")
        }
    }

    private func clearLiveArea() {
        guard drawnLines > 0 else { return }
        write("\u{1B}[\(drawnLines)A\u{1B}[J")
        drawnLines = 0
    }

    private func redraw(force: Bool) {
        guard case .live = style else { return }
        let now = Date()
        if !force, now.timeIntervalSince(lastDraw) < 0.2 { return }
        lastDraw = now
        clearLiveArea()
        var lines = order.compactMap { id -> String? in
            guard let entry = active[id] else { return nil }
            return "  \(entry.label) \(bar(entry.latest)) " + (entry.latest.map { describe(entry, $0) } ?? "starting")
        }
        if !sweepLine.isEmpty { lines.append(sweepLine) }
        for line in lines { write(line + "\n") }
        drawnLines = lines.count
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        if total >= 3600 { return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60) }
        return String(format: "%d:%02d", total / 60, total % 60)
    }
}
