import Foundation
import GapTestSupport
import XCTest

/// `gaplab --help` lists what a researcher uses; the engineering tools are under `gaplab dev`.
final class HelpTests: XCTestCase {
    func help(_ arguments: [String]) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-help-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let launched = try GapLabBinary.Launched(arguments: arguments, logDirectory: directory, name: "help")
        XCTAssertEqual(launched.wait(), 0, launched.stderr)
        return launched.stdout
    }

    func subcommands(_ text: String) -> [String] {
        guard let start = text.range(of: "SUBCOMMANDS:\n") else { return [] }
        let section = text[start.upperBound...].components(separatedBy: "\n\n").first ?? ""
        return section.split(separator: "\n").compactMap { line in
            line.hasPrefix("  ") && !line.hasPrefix("   ") ? line.split(separator: " ").first.map(String.init) : nil
        }
    }

    func testTheUsersCommandListHoldsNoEngineeringTools() throws {
        let listed = subcommands(try help(["--help"]))
        for command in ["run", "train", "validate", "plan", "report", "eval", "ls", "show", "compare", "dev"] {
            XCTAssertTrue(listed.contains(command), "\(command) missing from \(listed)")
        }
        for tool in ["bench", "bench-store", "fake-train", "fake-sweep", "train-run"] {
            XCTAssertFalse(listed.contains(tool), "\(tool) is listed for users: \(listed)")
        }
        XCTAssertEqual(subcommands(try help(["dev", "--help"])), ["bench", "bench-store", "fake-train", "fake-sweep"])
    }
}
