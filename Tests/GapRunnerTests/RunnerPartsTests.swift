import Foundation
import GapTestSupport
@testable import GapRunner
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class RunnerPartsTests: XCTestCase {
    func testProgressLinesRoundTrip() {
        let line = ProgressLine(epoch: 2, epochs: 6, step: 120, steps: 360, loss: 1.25)
        XCTAssertEqual(line.formatted, "gaplab-progress epoch=2 epochs=6 step=120 steps=360 loss=1.25")
        XCTAssertEqual(ProgressLine(parsing: line.formatted), line)
        XCTAssertEqual(ProgressLine(parsing: "gaplab-progress epoch=1 step=3"), ProgressLine(epoch: 1, epochs: 0, step: 3, steps: 0, loss: nil))
        XCTAssertNil(ProgressLine(parsing: "epoch=1 step=3"))
        XCTAssertNil(ProgressLine(parsing: "gaplab-progress epoch=x step=3"))
    }

    func testExecutorFillsTheArgumentTemplate() {
        let executor = Executor(executable: URL(fileURLWithPath: "/usr/bin/gaplab"),
                                arguments: ["train-run", "--store", "{store}", "--run", "{run}", "--resume={artifacts}", "{attempt}"])
        XCTAssertEqual(executor.resolvedArguments(runID: "r1", storeLocator: "/s/g.sqlite",
                                                  artifactDirectory: URL(fileURLWithPath: "/s/artifacts/r1"), attempt: 2),
                       ["train-run", "--store", "/s/g.sqlite", "--run", "r1", "--resume=/s/artifacts/r1", "2"])
    }

    func testChildContextComesFromTheRunnersEnvironment() {
        XCTAssertNil(ChildContext.fromEnvironment([:]))
        let context = ChildContext.fromEnvironment(["GAPLAB_RUN_ID": "r1", "GAPLAB_STORE": "/s/g.sqlite",
                                                    "GAPLAB_ARTIFACTS": "/s/artifacts/r1", "GAPLAB_ATTEMPT": "3"])
        XCTAssertEqual(context, ChildContext(runID: "r1", storeLocator: "/s/g.sqlite",
                                             artifactDirectory: URL(fileURLWithPath: "/s/artifacts/r1"), attempt: 3))
    }

    func testTerminationDescriptions() {
        XCTAssertEqual(ChildTermination.exited(3).exitStatus, 3)
        XCTAssertEqual(ChildTermination.signalled(SIGKILL).exitStatus, 137)
        XCTAssertEqual(ChildTermination.signalled(SIGABRT).summary, "terminated by SIGABRT")
        XCTAssertEqual(ChildTermination.exited(1).summary, "exited with status 1")
    }

    func testCodeVersionDescribesDirtyCheckouts() {
        XCTAssertEqual(CodeVersion(commit: "abc", dirty: true).description, "abc-dirty")
        XCTAssertEqual(CodeVersion(commit: "abc", dirty: false).description, "abc")
        XCTAssertEqual(CodeVersion(commit: nil, dirty: false).description, "unknown")
        let outside = CodeVersion.current(directory: FileManager.default.temporaryDirectory)
        XCTAssertNil(outside.commit)
    }

    func testChildStderrTailAndProgressAreCaptured() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-child-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let lock = NSLock()
        var progress: [ProgressLine] = []
        let script = """
            for i in $(seq 1 60); do echo "noise line $i" >&2; done
            echo "gaplab-progress epoch=1 epochs=1 step=1 steps=2 loss=0.5"
            echo "plain output"
            echo "gaplab-progress epoch=1 epochs=1 step=2 steps=2"
            echo "last words" >&2
            exit 7
            """
        let child = try ChildProcess(executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", script], environment: [:],
                                     stdoutLog: directory.appendingPathComponent("out.log"),
                                     stderrLog: directory.appendingPathComponent("err.log")) { line in
            lock.lock(); progress.append(line); lock.unlock()
        }
        try child.start()
        XCTAssertEqual(child.wait(), .exited(7))
        let tail = child.stderrTail(maxBytes: 4000, maxLines: 5)
        XCTAssertEqual(tail.split(separator: "\n"), ["noise line 57", "noise line 58", "noise line 59", "noise line 60", "last words"])
        try waitUntil("both progress lines are read") {
            lock.lock(); defer { lock.unlock() }
            return progress.count == 2
        }
        XCTAssertEqual(progress.map(\.step), [1, 2])
        try waitUntil("plain output is logged") {
            (try? String(contentsOf: directory.appendingPathComponent("out.log"), encoding: .utf8)) == "plain output\n"
        }
    }

    func testSignalledChildIsReportedWithItsSignal() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-child-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let child = try ChildProcess(executable: URL(fileURLWithPath: "/bin/sleep"), arguments: ["30"], environment: [:],
                                     stdoutLog: directory.appendingPathComponent("out.log"),
                                     stderrLog: directory.appendingPathComponent("err.log")) { _ in }
        try child.start()
        XCTAssertNil(child.wait(timeout: 0.01))
        child.send(SIGTERM)
        XCTAssertEqual(child.wait(), .signalled(SIGTERM))
    }
}
