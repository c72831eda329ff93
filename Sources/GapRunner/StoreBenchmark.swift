import Foundation
import GapStore

/// Measures a store's own overhead, with 1, 4, 16… concurrent workers, each on its own connection as workers on
/// different hosts would be: run claims per second (claim and finish, as a worker does per run), metric rows per
/// second written in a trainer's batches, and per-step logging calls (one small transaction each, as a trainer that
/// logs every step makes) with their latency. Every figure comes from one fresh set of runs of its own.
public enum StoreBenchmark {
    public struct Row: Sendable {
        public var store: String
        public var workers: Int
        public var claimsPerSecond: Double
        public var batchedRowsPerSecond: Double
        public var loggingCallsPerSecond: Double
        /// Mean wall time of one per-step logging call, seconds.
        public var loggingCallSeconds: Double
    }

    public struct Settings: Sendable {
        /// Runs claimed (and finished) per worker count.
        public var runs = 400
        /// Metric rows written in batches per worker count, split between the workers.
        public var metricRows = 40_000
        public var batchSize = 500
        /// Per-step logging calls per worker count, split between the workers.
        public var loggingCalls = 2_000
        public var workerCounts = [1, 4, 16]

        public init() {}
    }

    /// Benchmarks the store `open` opens (a new connection per call); `label` names it in the table, and `prefix`
    /// keeps this run's rows apart from anything else in the store.
    public static func run(label: String, settings: Settings, prefix: String = UUID().uuidString.prefix(8).lowercased(),
                           open: @escaping @Sendable () throws -> any Storage) throws -> [Row] {
        var rows: [Row] = []
        for workers in settings.workerCounts {
            let experiment = "bench-\(prefix)-w\(workers)"
            let planner = try open()
            let specs = (0..<settings.runs).map { index in
                RunSpec(runID: "\(experiment)-\(String(format: "%06d", index))", experiment: experiment, variant: "v\(index % 4)",
                        shortName: "v\(index % 4)", seed: index, configHash: String(format: "%064x", index),
                        configJSON: "{\"seed\":\(index)}", params: ["seed": .int(index), "loss.beta": .double(Double(index % 10) / 10)])
            }
            try planner.planRuns(specs)

            let claims = try concurrently(workers, open: open) { store, worker in
                var claimed = 0
                let name = "bench:\(worker)"
                while let claim = try store.claimNextRun(experiment: experiment, worker: name, leaseSeconds: 60, codeVersion: "bench") {
                    try store.finishRun(runID: claim.runID, worker: name, attempt: claim.attempt,
                                        outcome: RunOutcome(status: .completed, exitStatus: 0))
                    claimed += 1
                }
                return claimed
            }
            let perWorkerRows = max(1, settings.metricRows / workers)
            let batched = try concurrently(workers, open: open) { store, worker in
                let runID = specs[worker % specs.count].runID
                var step = 0
                while step < perWorkerRows {
                    let count = min(settings.batchSize, perWorkerRows - step)
                    try store.logMetrics(runID: runID, (step..<step + count).map {
                        MetricPoint(key: "train.loss", step: $0, value: 1 / Double($0 + 1), epoch: Double($0) / 1000)
                    })
                    step += count
                }
                return perWorkerRows
            }
            let perWorkerCalls = max(1, settings.loggingCalls / workers)
            let logging = try concurrently(workers, open: open) { store, worker in
                let runID = specs[worker % specs.count].runID
                for step in 0..<perWorkerCalls {
                    try store.logMetrics(runID: runID, [MetricPoint(key: "train.step_loss", step: step, value: Double(step))])
                }
                return perWorkerCalls
            }
            rows.append(Row(store: label, workers: workers, claimsPerSecond: Double(claims.count) / claims.seconds,
                            batchedRowsPerSecond: Double(batched.count) / batched.seconds,
                            loggingCallsPerSecond: Double(logging.count) / logging.seconds,
                            loggingCallSeconds: logging.seconds * Double(workers) / Double(max(logging.count, 1))))
        }
        return rows
    }

    /// `workers` threads, each with its own connection, run `body`; returns the summed counts and the wall time from
    /// the moment every connection is open.
    private static func concurrently(_ workers: Int, open: @escaping @Sendable () throws -> any Storage,
                                     _ body: @escaping @Sendable (any Storage, Int) throws -> Int) throws -> (count: Int, seconds: Double) {
        let stores = try (0..<workers).map { _ in try open() }
        let tally = Tally()
        let group = DispatchGroup()
        let start = Date()
        for worker in 0..<workers {
            group.enter()
            let store = stores[worker]
            Thread {
                defer { group.leave() }
                do { tally.add(try body(store, worker)) } catch { tally.fail(error) }
            }.start()
        }
        group.wait()
        let seconds = Date().timeIntervalSince(start)
        let (count, firstError) = tally.result
        if let firstError { throw firstError }
        return (count, seconds)
    }

    /// The table of every store's rows, side by side per worker count.
    public static func report(_ rows: [Row]) -> String {
        var lines = ["store       workers  claims/s  metric rows/s (batches)  logging calls/s  ms per logging call"]
        for row in rows {
            let name = row.store.padding(toLength: max(10, row.store.count), withPad: " ", startingAt: 0)
            lines.append(name + String(format: "  %7d  %8.0f  %23.0f  %15.0f  %19.2f", row.workers, row.claimsPerSecond,
                                       row.batchedRowsPerSecond, row.loggingCallsPerSecond, 1000 * row.loggingCallSeconds))
        }
        return lines.joined(separator: "\n")
    }
}

/// Counts summed across benchmark threads, with the first error.
private final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var firstError: Error?

    func add(_ value: Int) {
        lock.lock(); count += value; lock.unlock()
    }

    func fail(_ error: Error) {
        lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
    }

    var result: (Int, Error?) {
        lock.lock(); defer { lock.unlock() }
        return (count, firstError)
    }
}
