/// The closed vocabulary of generated scenes: what objects can be, and the words captions may use for each.
/// Several surface forms per concept (synonyms) make captions of one image differ while meaning the same.
public enum SceneShape: Int, CaseIterable, Codable, Sendable {
    case circle, square, triangle, diamond, star, cross, hexagon, crescent

    public var name: String { SceneShape.names[rawValue] }
    static let names = ["circle", "square", "triangle", "diamond", "star", "cross", "hexagon", "crescent"]

    /// (singular, plural) surface forms; the first is the class name used for zero-shot.
    var nouns: [(String, String)] {
        switch self {
        case .circle: return [("circle", "circles"), ("disc", "discs"), ("round shape", "round shapes")]
        case .square: return [("square", "squares"), ("box", "boxes")]
        case .triangle: return [("triangle", "triangles"), ("three-sided shape", "three-sided shapes")]
        case .diamond: return [("diamond", "diamonds"), ("rhombus", "rhombuses")]
        case .star: return [("star", "stars"), ("five-pointed star", "five-pointed stars")]
        case .cross: return [("cross", "crosses"), ("plus sign", "plus signs")]
        case .hexagon: return [("hexagon", "hexagons"), ("six-sided shape", "six-sided shapes")]
        case .crescent: return [("crescent", "crescents"), ("moon shape", "moon shapes")]
        }
    }
}

public enum SceneColour: Int, CaseIterable, Codable, Sendable {
    case red, green, blue, yellow, purple, orange, pink, cyan

    public var name: String { SceneColour.names[rawValue] }
    static let names = ["red", "green", "blue", "yellow", "purple", "orange", "pink", "cyan"]

    var words: [String] {
        switch self {
        case .red: return ["red", "scarlet"]
        case .green: return ["green"]
        case .blue: return ["blue"]
        case .yellow: return ["yellow", "golden"]
        case .purple: return ["purple", "violet"]
        case .orange: return ["orange"]
        case .pink: return ["pink"]
        case .cyan: return ["cyan", "turquoise"]
        }
    }

    /// Saturated base colours, far from the muted backgrounds and neutral distractors.
    var rgb: (Double, Double, Double) {
        switch self {
        case .red: return (215, 35, 35)
        case .green: return (35, 165, 55)
        case .blue: return (35, 75, 215)
        case .yellow: return (235, 210, 35)
        case .purple: return (135, 55, 185)
        case .orange: return (245, 135, 25)
        case .pink: return (245, 125, 190)
        case .cyan: return (35, 200, 210)
        }
    }
}

public enum SceneSize: Int, CaseIterable, Codable, Sendable {
    case small, large

    public var name: String { self == .small ? "small" : "large" }
    var words: [String] { self == .small ? ["small", "little", "tiny"] : ["large", "big"] }
}

public enum SceneFill: Int, CaseIterable, Codable, Sendable {
    case solid, outline, striped

    public var name: String { SceneFill.names[rawValue] }
    static let names = ["solid", "outlined", "striped"]
    var words: [String] {
        switch self {
        case .solid: return ["solid", "filled"]
        case .outline: return ["outlined", "hollow"]
        case .striped: return ["striped"]
        }
    }
}

/// Where object B lies as seen from object A.
public enum SceneRelation: Int, Codable, Sendable {
    case leftOf, rightOf, above, below

    var inverse: SceneRelation {
        switch self {
        case .leftOf: return .rightOf
        case .rightOf: return .leftOf
        case .above: return .below
        case .below: return .above
        }
    }

    var phrases: [String] {
        switch self {
        case .leftOf: return ["left of", "to the left of", "on the left of"]
        case .rightOf: return ["right of", "to the right of", "on the right of"]
        case .above: return ["above", "over"]
        case .below: return ["below", "under", "beneath"]
        }
    }
}

let numberWords = ["zero", "one", "two", "three", "four", "five"]
