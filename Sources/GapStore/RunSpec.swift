import Foundation

/// A typed parameter value, as flattened from a run configuration by dotted path.
public enum ParamValue: Equatable, Hashable, Sendable, CustomStringConvertible {
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
        case .double(let value): return formatNumber(value)
        case .string(let value): return value
        case .bool(let value): return value ? "true" : "false"
        }
    }

    /// The value for JSON output (numbers stay numbers).
    public var jsonObject: Any {
        switch self {
        case .int(let value): return value
        case .double(let value): return value.isFinite ? value as Any : String(describing: value) as Any
        case .string(let value): return value
        case .bool(let value): return value
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

/// Shortest text that reads back as the same double (`0.5`, `1e-06`), used in listings.
func formatNumber(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}
