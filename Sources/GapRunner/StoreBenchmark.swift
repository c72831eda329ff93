import Foundation
import GapStore

/// Measures the store's own overhead on a throw-away store: metric rows written per second (in the batches a
/// trainer writes, and one row per transaction), and run claims per second with several workers, each with
/// its own connection, claiming and finishing runs concurrently.
public enum StoreBenchmark {
    public struct Result: Sendable {
        public var metricRows: Int
        public var batchSize: Int
        public var batchedRowsPerSecond: Double
        public var singleRowTransactions: Int
        public var singleRowsPerSecond: Double
        public var claimedRuns: Int
        public var workers: Int
        public var claimsPerSecond: Double

        public var report: String {
            """
            metric rows, batches of \(batchSize): \(Int(batchedRowsPerSecond)) rows/s (\(metricRows) rows)
            metric rows, one per transaction: \(Int(singleRowsPerSecond)) rows/s (\(singleRowTransactions) rows)
            claims with \(workers) workers: \(Int(claimsPerSecond)) claims/s (\(claimedRuns) runs claimed and finished)
            """
        }
    }

    public static func run(directory: URL, metricRows: Int = 100_000, batchSize: Int = 500,
                           singleRowTransactions: Int = 2_000, runs: Int = 1_000, workers: Int = 4) throws -> Result {
        let location = StoreLocation(databaseURL: directory.appendingPathComponent("bench.sqlite"))
        let storage = try SQLiteStorage(location: location)
        let specs = (0..<runs).map { index in
            RunSpec(runID: String(format: "bench-%06d", index), experiment: "bench", variant: "v\(index % 4)",
                    shortName: "v\(index % 4)", seed: index, configHash: String(format: "%064x", index),
                    configJSON: "{\"seed\":\(index)}", params: ["seed": .int(index), "loss.beta": .double(Double(index % 10) / 10)])
        }
        try storage.planRuns(specs)

        let metricRun = specs[0].runID
        var start = Date()
        var step = 0
        while step < metricRows {
            let count = min(batchSize, metricRows - step)
            try storage.logMetrics(runID: metricRun, (step..<step + count).map {
                MetricPoint(key: "train.loss", step: $0, value: 1 / Double($0 + 1), epoch: Double($0) / 1000)
            })
            step += count
        }
        let batchedRate = Double(metricRows) / Date().timeIntervalSince(start)

        start = Date()
        for index in 0..<singleRowTransactions {
            try storage.logMetrics(runID: metricRun, [MetricPoint(key: "train.single", step: index, value: Double(index))])
        }
        let singleRate = Double(singleRowTransactions) / Date().timeIntervalSince(start)

        let tally = ClaimTally()
        let group = DispatchGroup()
        start = Date()
        for worker in 0..<workers {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let own = try SQLiteStorage(location: location)
                    let name = "bench:\(worker)"
                    while let claim = try own.claimNextRun(experiment: "bench", worker: name, leaseSeconds: 60, codeVersion: "bench") {
                        try own.finishRun(runID: claim.runID, worker: name, attempt: claim.attempt,
                                          outcome: RunOutcome(status: .completed, exitStatus: 0))
                        tally.add()
                    }
                } catch {
                    tally.fail(error)
                }
            }.start()
        }
        group.wait()
        let (claimed, firstError) = tally.result
        let claimRate = Double(claimed) / Date().timeIntervalSince(start)
        if let firstError { throw firstError }
        return Result(metricRows: metricRows, batchSize: batchSize, batchedRowsPerSecond: batchedRate,
                      singleRowTransactions: singleRowTransactions, singleRowsPerSecond: singleRate,
                      claimedRuns: claimed, workers: workers, claimsPerSecond: claimRate)
    }
}

/// Claims counted across benchmark threads.
private final class ClaimTally: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = 0
    private var firstError: Error?

    func add() {
        lock.lock(); claimed += 1; lock.unlock()
    }

    func fail(_ error: Error) {
        lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
    }

    var result: (Int, Error?) {
        lock.lock(); defer { lock.unlock() }
        return (claimed, firstError)
    }
}
