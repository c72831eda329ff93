import Foundation

/// Where the store lives: `--store PATH`, else `$GAPLAB_STORE`, else `.gaplab/gaplab.sqlite` under the
/// current directory. Artifacts go in an `artifacts` folder beside the database file.
public struct StoreLocation: Equatable, Sendable {
    public static let environmentVariable = "GAPLAB_STORE"
    public static let defaultRelativePath = ".gaplab/gaplab.sqlite"

    public var databaseURL: URL
    public var artifactsRoot: URL

    public init(databaseURL: URL, artifactsRoot: URL? = nil) {
        self.databaseURL = databaseURL.standardizedFileURL
        self.artifactsRoot = (artifactsRoot ?? databaseURL.deletingLastPathComponent().appendingPathComponent("artifacts"))
            .standardizedFileURL
    }

    public static func resolve(explicitPath: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment,
                               currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        -> StoreLocation {
        let chosen = [explicitPath, environment[environmentVariable]]
            .compactMap { $0 }
            .first(where: { !$0.isEmpty }) ?? defaultRelativePath
        let url = chosen.hasPrefix("/") ? URL(fileURLWithPath: chosen)
                                        : currentDirectory.appendingPathComponent(chosen)
        return StoreLocation(databaseURL: url)
    }

    /// `text` with the password of every URL in it removed (for command lines and messages): secrets are never
    /// printed or recorded.
    public static func redactingPasswords(_ text: String) -> String {
        guard text.contains("://") else { return text }
        var result = ""
        var rest = Substring(text)
        while let schemeRange = rest.range(of: "://") {
            result += rest[..<schemeRange.upperBound]
            rest = rest[schemeRange.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == " " || $0 == "?" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                result += authority[..<colon] + authority[at...]
            } else {
                result += authority
            }
            rest = rest[authorityEnd...]
        }
        return result + rest
    }
}
