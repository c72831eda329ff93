import Foundation
import GapSpec
import GapStore

/// A SQLite store of its own under `folder` with the run of `config` planned in it (the pipeline tests' start):
/// the store and the run's id.
public func plannedStore(in folder: URL, experiment: String, variant: String, config: RunConfig) throws -> (SQLiteStorage, String) {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let storage = try SQLiteStorage(path: folder.appendingPathComponent("gaplab.sqlite").path)
    let identity = try RunIdentity(config: config)
    try storage.addExperiment(ExperimentRecord(name: experiment))
    try storage.planRuns([RunSpec(runID: identity.runID, experiment: experiment, variant: variant, shortName: variant,
                                  seed: config.seed, configHash: identity.configHash,
                                  configJSON: try RunConfigResolver.json(of: config).canonicalString, params: [:])])
    return (storage, identity.runID)
}
