import Foundation
import GapSpec

/// A typed parameter value, as flattened from a run configuration by dotted path.
public enum ParamValue: Equatable, Hashable, Sendable, CustomStringConvertible, Encodable {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)

    /// The value as a number when it has one (bools count as 0/1), so numeric filters compare ints and doubles alike.
    public var numericValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        case .bool(let value): return value ? 1 : 0
        case .string: return nil
        }
    }

    public var typeName: String {
        switch self {
        case .int: return "int"
        case .double: return "double"
        case .string: return "string"
        case .bool: return "bool"
        }
    }

    public var description: String {
        switch self {
        case .int(let value): return String(value)
        case .double(let value): return Listing.exactText(value)
        case .string(let value): return value
        case .bool(let value): return value ? "true" : "false"
        }
    }

    /// JSON output keeps the type: numbers stay numbers, bools stay bools.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        }
    }
}

/// One planned run as the store receives it: identity, the canonical configuration and its flattened parameters.
public struct RunSpec: Equatable, Sendable {
    public var runID: String
    public var experiment: String
    public var variant: String
    public var shortName: String
    public var seed: Int
    public var configHash: String
    /// Canonical JSON text of the fully resolved configuration.
    public var configJSON: String
    /// Parameters flattened by dotted path (`loss.imsep_weight`).
    public var params: [String: ParamValue]

    public init(runID: String, experiment: String, variant: String, shortName: String, seed: Int,
                configHash: String, configJSON: String, params: [String: ParamValue]) {
        self.runID = runID
        self.experiment = experiment
        self.variant = variant
        self.shortName = shortName
        self.seed = seed
        self.configHash = configHash
        self.configJSON = configJSON
        self.params = params
    }
}
