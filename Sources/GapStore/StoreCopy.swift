import Foundation

/// Copies experiments and runs from one store to another (a laptop's SQLite into the lab's PostgreSQL and back),
/// by run identity, so copying again duplicates nothing. A run the destination lacks is inserted with its params,
/// metrics, attempts, environment, artifact records and artifact files; a destination run that has not completed
/// is replaced by a completed source run; a completed or running destination run is kept as it is. Experiments the
/// destination lacks are created with the source's description, definition and overrides; an experiment it already
/// has keeps its own. Runs running in the source are skipped (they are still changing there).
public enum StoreCopy {
    public struct Report: Equatable, Sendable {
        /// Experiments created in the destination, and those it already had.
        public var experimentsCreated: [String] = []
        public var experimentsExisting: [String] = []
        /// Runs new in the destination.
        public var inserted: [String] = []
        /// Destination runs that had not completed, replaced by the source's completed run.
        public var replaced: [String] = []
        /// Runs already in the destination as in the source (nothing to do).
        public var alreadyThere: [String] = []
        /// Runs completed in the destination whose state differs from the source's: the destination's is kept.
        public var keptCompleted: [String] = []
        /// Runs running in the destination, left untouched.
        public var runningInDestination: [String] = []
        /// Runs running in the source, not copied.
        public var runningInSource: [String] = []
        /// Metric rows written to the destination.
        public var metricRows = 0
        /// Artifact files copied and their bytes (none when both stores use one artifacts folder).
        public var artifactFiles = 0
        public var artifactBytes: Int64 = 0
        /// Both stores use the same artifacts folder, so no file was copied.
        public var sharedArtifactsFolder = false

        public init() {}

        /// Every run looked at.
        public var runs: Int {
            inserted.count + replaced.count + alreadyThere.count + keptCompleted.count + runningInDestination.count + runningInSource.count
        }
    }

    /// Copies the runs of `experiment` (every run when nil) with their experiments; throws when the source has no
    /// such experiment. A copy that stops on an error leaves the runs already copied in place: running it again
    /// carries on.
    @discardableResult
    public static func copy(from source: any Storage, to destination: any Storage, experiment: String? = nil) throws -> Report {
        var report = Report()
        let sourceExperiments = try source.experiments()
        let chosen = try experiment.map { name in
            guard let found = sourceExperiments.first(where: { $0.name == name }) else {
                let known = sourceExperiments.map(\.name)
                throw StoreError.invalid("the source store has no experiment '\(name)'"
                                         + (known.isEmpty ? " (it has none)" : "; it has: \(known.joined(separator: ", "))"))
            }
            return [found]
        } ?? sourceExperiments

        // Each run's place in every copied experiment, in the order the experiments were created.
        var memberships: [String: [RunMembership]] = [:]
        for record in chosen {
            for run in try source.runs(experiment: record.name, status: nil) {
                memberships[run.runID, default: []].append(RunMembership(experiment: record.name, variant: run.variant,
                                                                         shortName: run.shortName))
            }
        }

        let existing = Dictionary(try destination.experiments().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for record in chosen {
            if let present = existing[record.name], !isPlaceholder(present) || isPlaceholder(record) {
                report.experimentsExisting.append(record.name)
            } else {
                // Planning a run creates a bare experiment; the source's description and definition fill it in.
                try destination.addExperiment(existing[record.name].map { ExperimentRecord(
                    name: record.name, description: record.description, definitionJSON: record.definitionJSON,
                    overrides: record.overrides, createdAt: $0.createdAt) } ?? record)
                report.experimentsCreated.append(record.name)
            }
        }

        let shared = source.artifactsRoot.standardizedFileURL.path == destination.artifactsRoot.standardizedFileURL.path
        report.sharedArtifactsFolder = shared
        let runs = try source.runs(experiment: experiment, status: nil)
        for var run in runs {
            if run.status == .running {
                report.runningInSource.append(run.runID)
                continue
            }
            let places = memberships[run.runID] ?? []
            // The run's own experiment leads when it is copied; otherwise the first copied one takes its place.
            if !places.contains(where: { $0.experiment == run.experiment }), let first = places.first {
                run.experiment = first.experiment
                run.variant = first.variant
                run.shortName = first.shortName
            }
            let snapshot = try RunSnapshot.read(source, run: run, memberships: places)
            try snapshot.validate()
            let before = try destination.run(id: run.runID)
            let expected = ImportOutcome.decide(destination: before?.status, source: run.status)
            // Files are staged and checked before the records go in, so the destination never records a file it lacks.
            var staged = expected.tookSource && !shared ? try stage(snapshot, from: source, to: destination) : nil
            let outcome: ImportOutcome
            do {
                outcome = try destination.importRun(snapshot)
                if outcome.tookSource && !shared && staged == nil { staged = try stage(snapshot, from: source, to: destination) }
            } catch {
                if let staged { try? FileManager.default.removeItem(at: staged.folder) }
                throw error
            }
            if let staged {
                if outcome.tookSource {
                    try place(staged.folder, runID: run.runID, in: destination)
                    report.artifactFiles += staged.files
                    report.artifactBytes += staged.bytes
                } else {
                    try? FileManager.default.removeItem(at: staged.folder)
                }
            }
            switch outcome {
            case .inserted:
                report.inserted.append(run.runID)
                report.metricRows += snapshot.metrics.count
            case .replaced:
                report.replaced.append(run.runID)
                report.metricRows += snapshot.metrics.count
            case .keptCompleted:
                let kept = try destination.run(id: run.runID)
                if let kept, sameState(kept, run) { report.alreadyThere.append(run.runID) } else { report.keptCompleted.append(run.runID) }
            case .keptDestination:
                report.alreadyThere.append(run.runID)
            case .runningInDestination:
                report.runningInDestination.append(run.runID)
            }
        }
        return report
    }

    /// An experiment that planning created without a description, definition or overrides.
    private static func isPlaceholder(_ record: ExperimentRecord) -> Bool {
        record.description.isEmpty && record.definitionJSON.isEmpty && record.overrides.isEmpty
    }

    /// The same attempt, ended the same way: what a run copied earlier looks like.
    private static func sameState(_ a: RunRecord, _ b: RunRecord) -> Bool {
        a.status == b.status && a.attempts == b.attempts && a.startedAt == b.startedAt && a.endedAt == b.endedAt
            && a.exitStatus == b.exitStatus && a.codeVersion == b.codeVersion
    }

    private struct Staged {
        var folder: URL
        var files: Int
        var bytes: Int64
    }

    /// Copies the source run's artifact folder (its regular files; links are not followed) into a new folder beside
    /// the destination's run folders, and checks every recorded artifact's size and SHA-256 there.
    private static func stage(_ snapshot: RunSnapshot, from source: any Storage, to destination: any Storage) throws -> Staged {
        let fileManager = FileManager.default
        let runID = snapshot.run.runID
        let from = source.artifactDirectory(runID: runID).standardizedFileURL
        let staging = destination.artifactsRoot.appendingPathComponent(".copy-\(runID)-\(UUID().uuidString)", isDirectory: true)
        var staged = Staged(folder: staging, files: 0, bytes: 0)
        do {
            try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
            if fileManager.fileExists(atPath: from.path) {
                guard let walker = fileManager.enumerator(at: from, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey, .isSymbolicLinkKey]) else {
                    throw StoreError.invalid("cannot read the artifact folder \(from.path) of run \(runID)")
                }
                let prefix = from.path + "/"
                for case let file as URL in walker {
                    let values = try file.resourceValues(forKeys: [.isRegularFileKey, .isDirectoryKey, .isSymbolicLinkKey])
                    let path = file.standardizedFileURL.path
                    guard path.hasPrefix(prefix) else { continue }
                    let relative = String(path.dropFirst(prefix.count))
                    let target = staging.appendingPathComponent(relative)
                    if values.isSymbolicLink == true { continue }
                    if values.isDirectory == true {
                        try fileManager.createDirectory(at: target, withIntermediateDirectories: true)
                    } else if values.isRegularFile == true {
                        try fileManager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                        try fileManager.copyItem(at: file, to: target)
                        staged.files += 1
                        staged.bytes += Int64(try target.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0)
                    }
                }
            }
            for artifact in snapshot.artifacts {
                let file = staging.appendingPathComponent(artifact.path)
                guard fileManager.fileExists(atPath: file.path) else {
                    throw StoreError.invalid("artifact \(artifact.name) of run \(runID) is missing from the source: "
                                             + from.appendingPathComponent(artifact.path).path)
                }
                let (size, sha256) = try FileDigest.sizeAndSHA256(of: file)
                if size != artifact.size || sha256 != artifact.sha256 {
                    throw StoreError.invalid("artifact \(artifact.name) of run \(runID): the copied file has \(size) bytes and SHA-256 "
                                             + "\(sha256), the source records \(artifact.size) bytes and \(artifact.sha256)")
                }
            }
            return staged
        } catch {
            try? fileManager.removeItem(at: staging)
            throw error
        }
    }

    /// Puts the staged folder in the place of the destination run's folder.
    private static func place(_ staged: URL, runID: String, in destination: any Storage) throws {
        let fileManager = FileManager.default
        let target = destination.artifactDirectory(runID: runID)
        if fileManager.fileExists(atPath: target.path) { try fileManager.removeItem(at: target) }
        try fileManager.moveItem(at: staged, to: target)
    }
}
