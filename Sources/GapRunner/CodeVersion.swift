import Foundation

/// The code a run was made with: git commit plus a dirty flag for uncommitted changes to tracked files.
public struct CodeVersion: Equatable, Sendable, CustomStringConvertible {
    public var commit: String?
    public var dirty: Bool

    public init(commit: String?, dirty: Bool) {
        self.commit = commit
        self.dirty = dirty
    }

    /// `abc123…`, `abc123…-dirty`, or `unknown` outside a git checkout.
    public var description: String {
        guard let commit else { return "unknown" }
        return dirty ? commit + "-dirty" : commit
    }

    public static func current(directory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) -> CodeVersion {
        guard let commit = git(["rev-parse", "HEAD"], in: directory)?.trimmingCharacters(in: .whitespacesAndNewlines),
              !commit.isEmpty else { return CodeVersion(commit: nil, dirty: false) }
        let status = git(["status", "--porcelain", "--untracked-files=no"], in: directory) ?? ""
        return CodeVersion(commit: commit, dirty: !status.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    private static func git(_ arguments: [String], in directory: URL) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
