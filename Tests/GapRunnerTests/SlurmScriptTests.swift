import Foundation
import GapRunner
import GapTestSupport
import XCTest

/// The sbatch script of `gaplab slurm`: its directives, the array range and the quoting of what it interpolates.
final class SlurmScriptTests: XCTestCase {
    private func job(taskCount: Int = 3, logs: String = "/data/run s/logs", command: [String]? = nil) -> SlurmArrayJob {
        SlurmArrayJob(jobName: "gaplab-tiny", taskCount: taskCount, logDirectory: logs,
                      command: command ?? ["/opt/gap lab/gaplab", "worker", "--store", "/data/it's here/gaplab.sqlite",
                                           "--experiment", "tiny", "--threads", "2"])
    }

    private func directives(_ script: String) -> [String] {
        script.split(separator: "\n").filter { $0.hasPrefix("#SBATCH ") }.map { String($0.dropFirst(8)) }
    }

    func testShellQuotingSurvivesTheShell() throws {
        let values = ["plain", "with space", "it's", "'", "''", "a\"b", "$HOME `id` \\n *", "--x=y;z&"]
        for value in values { XCTAssertTrue(SlurmScript.shellQuoted(value).hasPrefix("'")) }
        XCTAssertEqual(SlurmScript.shellQuoted("it's"), #"'it'\''s'"#)
        // What bash makes of the quoted words: each value back, one argument each.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-quote-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "printf '%s\\0' " + values.map(SlurmScript.shellQuoted).joined(separator: " ")]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let words = try String(contentsOf: output, encoding: .utf8).split(separator: "\0", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(words.map(String.init), values)
    }

    func testDirectiveQuotingIsSbatchs() {
        XCTAssertEqual(SlurmScript.directiveQuoted("--time=2:00:00"), "--time=2:00:00")
        XCTAssertEqual(SlurmScript.directiveQuoted("--output=/a b/%A_%a.out"), "\"--output=/a b/%A_%a.out\"")
        XCTAssertEqual(SlurmScript.directiveQuoted(#"--comment=say "hi" \ #1"#), #""--comment=say \"hi\" \\ #1""#)
        XCTAssertEqual(SlurmScript.directiveQuoted("--comment=it's"), "\"--comment=it's\"")
    }

    func testTheArrayRangeAndTheWorkerCommand() throws {
        let script = try SlurmScript.render(job())
        XCTAssertTrue(script.hasPrefix("#!/bin/bash\n"), script)
        XCTAssertEqual(directives(script), ["--job-name=gaplab-tiny", "--array=0-2", "\"--output=/data/run s/logs/%A_%a.out\"",
                                            "\"--error=/data/run s/logs/%A_%a.err\""])
        let exec = try XCTUnwrap(script.split(separator: "\n").first { $0.hasPrefix("exec ") })
        XCTAssertEqual(String(exec), #"exec '/opt/gap lab/gaplab' 'worker' '--store' '/data/it'\''s here/gaplab.sqlite' '--experiment' 'tiny' '--threads' '2'"#)
        XCTAssertEqual(directives(try SlurmScript.render(job(taskCount: 1)))[1], "--array=0-0")
        // sbatch reads directives only above the first command.
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false)
        let lastDirective = try XCTUnwrap(lines.lastIndex { $0.hasPrefix("#SBATCH") })
        XCTAssertTrue(lines[..<lastDirective].allSatisfy { $0.hasPrefix("#") })
    }

    func testEveryOptionGivenHasItsDirective() throws {
        var full = job(logs: "/logs/100%/")
        full.partition = "gpu queue"
        full.time = "1-02:00:00"
        full.cpusPerTask = 4
        full.gpusPerTask = 1
        full.memory = "8G"
        full.extraOptions = ["--qos=low", "--comment=a \"b\""]
        XCTAssertEqual(directives(try SlurmScript.render(full)), [
            "--job-name=gaplab-tiny", "--array=0-2", "--output=/logs/100%%/%A_%a.out", "--error=/logs/100%%/%A_%a.err",
            "\"--partition=gpu queue\"", "--time=1-02:00:00", "--cpus-per-task=4", "--gpus-per-task=1", "--mem=8G",
            "--qos=low", #""--comment=a \"b\"""#,
        ])
    }

    func testBadValuesNameTheirOption() {
        func problem(_ job: SlurmArrayJob) -> String? {
            do {
                _ = try SlurmScript.render(job)
                return nil
            } catch let error as SlurmScriptError {
                return error.description
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(problem(job(taskCount: 0)), "--array: expected the number of array tasks, at least 1; got 0")
        var bad = job()
        bad.cpusPerTask = 0
        XCTAssertTrue(problem(bad)?.hasPrefix("--cpus-per-task: expected at least 1") == true, problem(bad) ?? "")
        bad = job()
        bad.gpusPerTask = -1
        XCTAssertTrue(problem(bad)?.hasPrefix("--gpus-per-task:") == true, problem(bad) ?? "")
        bad = job()
        bad.time = "1:00\n#SBATCH --x"
        XCTAssertTrue(problem(bad)?.hasPrefix("--time: expected one line") == true, problem(bad) ?? "")
        bad = job()
        bad.extraOptions = [""]
        XCTAssertTrue(problem(bad)?.hasPrefix("--sbatch-arg: expected a value") == true, problem(bad) ?? "")
        XCTAssertTrue(problem(job(logs: "logs"))?.hasPrefix("log folder: expected an absolute path") == true)
    }

    func testFileNames() {
        XCTAssertEqual(SlurmScript.fileNameSafe("tiny-1.x_y"), "tiny-1.x_y")
        XCTAssertEqual(SlurmScript.fileNameSafe("a b/c"), "a_b_c")
        XCTAssertEqual(SlurmScript.fileNameSafe(".hidden"), "_.hidden")
    }

    func testSchedulerEnvironmentEntries() {
        XCTAssertEqual(RunEnvironment.scheduler(["PATH": "/bin"]), [:])
        let values = RunEnvironment.scheduler(["SLURM_JOB_ID": "12", "SLURM_ARRAY_JOB_ID": "10", "SLURM_ARRAY_TASK_ID": "2",
                                               "SLURMD_NODENAME": "node1", "SLURM_JOB_GPUS": "0,1"])
        XCTAssertEqual(values, ["slurm_job_id": "12", "slurm_array_job_id": "10", "slurm_array_task_id": "2",
                                "slurm_node": "node1", "gpus": "0,1"])
        XCTAssertEqual(RunEnvironment.scheduler(["CUDA_VISIBLE_DEVICES": "3", "SLURM_JOB_GPUS": "0"])["gpus"], "3")
        XCTAssertEqual(RunEnvironment.slurmJobLabel(values), "10_2")
        XCTAssertEqual(RunEnvironment.slurmJobLabel(["slurm_job_id": "12"]), "12")
        XCTAssertNil(RunEnvironment.slurmJobLabel([:]))
    }
}
