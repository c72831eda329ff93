/// One run of an expanded experiment.
public struct PlannedRun: Equatable, Sendable {
    public var variant: String
    /// The variant name and the swept values that differ from the baseline (the first variant with the first
    /// value of every sweep), e.g. `alignclip depth=2 lr=0.0005`.
    public var shortName: String
    public var seed: Int
    public var config: RunConfig
    /// The resolved configuration (defaults filled in, runtime and seed included), keys sorted.
    public var configJSON: JSONValue
    /// SHA-256 hex of the configuration without `runtime` and `seed` (see `RunIdentity`).
    public var configHash: String
    /// SHA-256 hex of configuration and seed: the run's identity in the store.
    public var runID: String
    /// The values of the swept keys (grid, zip, command-line sweeps) for this run, by dotted path.
    public var axes: [String: JSONValue]

    public init(variant: String, shortName: String, seed: Int, config: RunConfig, configJSON: JSONValue,
                configHash: String, runID: String, axes: [String: JSONValue]) {
        self.variant = variant
        self.shortName = shortName
        self.seed = seed
        self.config = config
        self.configJSON = configJSON
        self.configHash = configHash
        self.runID = runID
        self.axes = axes
    }

    public var shortRunID: String { RunIdentity.short(runID) }
    public var shortConfigHash: String { RunIdentity.short(configHash) }
}

/// An experiment file expanded into runs.
public struct ExperimentPlan: Equatable, Sendable {
    public var name: String
    public var description: String
    public var sourceFile: String
    /// Command-line overrides exactly as given.
    public var overrides: [String]
    /// In order: variants, then grid combinations (last axis fastest), then zip, command-line sweeps, seeds.
    public var runs: [PlannedRun]
    /// Things worth knowing that are not errors (dropped duplicates, exclusions that matched nothing, ...).
    public var warnings: [String]

    public init(name: String, description: String, sourceFile: String, overrides: [String], runs: [PlannedRun], warnings: [String]) {
        self.name = name
        self.description = description
        self.sourceFile = sourceFile
        self.overrides = overrides
        self.runs = runs
        self.warnings = warnings
    }
}
