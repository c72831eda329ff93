import Foundation
import GapStore

/// What a run attempt ran on, recorded per attempt as key/value pairs in the store.
public enum RunEnvironment {
    public static var swiftVersion: String {
        #if compiler(>=6.4)
        return ">=6.4"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "<6.1"
        #endif
    }

    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }

    /// The standard entries; `extra` (BLAS configuration, thread count chosen by the trainer, ...) is merged over them.
    public static func collect(codeVersion: CodeVersion, extra: [String: String] = [:]) -> [String: String] {
        let info = ProcessInfo.processInfo
        var values: [String: String] = [
            "git_commit": codeVersion.commit ?? "unknown",
            "git_dirty": codeVersion.dirty ? "true" : "false",
            "swift_version": swiftVersion,
            "cpu_model": cpuModel,
            "cpu_count": String(info.activeProcessorCount),
            "threads": info.environment["OPENBLAS_NUM_THREADS"] ?? String(info.activeProcessorCount),
            "host": info.hostName,
            "os": info.operatingSystemVersionString,
            "command_line": StoreLocation.redactingPasswords(CommandLine.arguments.joined(separator: " ")),
        ]
        values.merge(extra) { _, new in new }
        return values
    }
}
