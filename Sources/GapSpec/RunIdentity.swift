import Crypto
import Foundation

/// The identity of a run: the SHA-256 of its resolved configuration in canonical JSON, leaving out what
/// does not change its results (`runtime`: threads, log frequency) and the seed; and, with the seed, its run id.
/// Two runs with the same id compute the same numbers, so a completed one is never run again.
public struct RunIdentity: Equatable, Sendable {
    /// The resolved configuration without `runtime` and `seed`, keys sorted.
    public var identityJSON: JSONValue
    /// SHA-256 hex of `identityJSON`'s canonical form: the same for every seed of one configuration.
    public var configHash: String
    public var seed: Int
    /// SHA-256 hex of the canonical form of `{"config": identityJSON, "seed": seed}`.
    public var runID: String

    /// Keys of the resolved configuration that are not part of a run's identity.
    public static let excludedKeys: Set<String> = ["runtime", "seed"]

    /// Fields added after runs were recorded, with the value every earlier run had: at that value a field stays
    /// out of the identity, so adding it changed no run id; any other value is part of it.
    public static let fieldsOmittedAtDefault: [(section: String, key: String, value: JSONValue)] = [
        ("train", "engine", .string(TrainEngine.gaplab.rawValue)),
        ("train", "precision", .string(TrainPrecision.fp32.rawValue)),
        ("train", "command", .array([])),
        ("train", "command_metrics", .string(CommandMetrics.stream.rawValue)),
        ("train", "command_checkpoint", .string("")),
    ]

    /// Length of the short ids shown in listings.
    public static let shortLength = 12

    public init(config: RunConfig) throws {
        try self.init(resolvedJSON: try RunConfigResolver.json(of: config), seed: config.seed)
    }

    /// From the resolved configuration's JSON (as `RunConfigResolver.json(of:)` gives it).
    public init(resolvedJSON: JSONValue, seed: Int) throws {
        guard let members = resolvedJSON.members else {
            throw ConfigIssues([ConfigIssue(path: "", message: "a run configuration must be a JSON object, found \(resolvedJSON.foundDescription)")])
        }
        let kept = members.filter { !RunIdentity.excludedKeys.contains($0.key) }.map { member -> (key: String, value: JSONValue) in
            guard var section = member.value.members else { return member }
            for field in RunIdentity.fieldsOmittedAtDefault where field.section == member.key {
                section.removeAll { $0.key == field.key && $0.value == field.value }
            }
            return (member.key, .object(section))
        }
        identityJSON = JSONValue.object(kept).sortedKeys
        configHash = RunIdentity.sha256Hex(identityJSON.canonicalString)
        self.seed = seed
        let keyed: JSONValue = ["config": identityJSON, "seed": .number(Double(seed))]
        runID = RunIdentity.sha256Hex(keyed.canonicalString)
    }

    public var shortRunID: String { RunIdentity.short(runID) }
    public var shortConfigHash: String { RunIdentity.short(configHash) }

    public static func short(_ hex: String) -> String { String(hex.prefix(shortLength)) }

    public static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
