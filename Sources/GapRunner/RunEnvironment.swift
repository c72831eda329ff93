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

    /// The batch scheduler's view of this process, from the variables Slurm sets in a job: `slurm_job_id`,
    /// `slurm_array_job_id`, `slurm_array_task_id`, `slurm_node` and `gpus` (CUDA_VISIBLE_DEVICES, else
    /// SLURM_JOB_GPUS), each only when set.
    public static func scheduler(_ environment: [String: String]) -> [String: String] {
        var values: [String: String] = [:]
        let names = [("slurm_job_id", "SLURM_JOB_ID"), ("slurm_array_job_id", "SLURM_ARRAY_JOB_ID"),
                     ("slurm_array_task_id", "SLURM_ARRAY_TASK_ID"), ("slurm_node", "SLURMD_NODENAME")]
        for (key, variable) in names {
            if let value = environment[variable], !value.isEmpty { values[key] = value }
        }
        if let gpus = [environment["CUDA_VISIBLE_DEVICES"], environment["SLURM_JOB_GPUS"]].compactMap({ $0 }).first(where: { !$0.isEmpty }) {
            values["gpus"] = gpus
        }
        return values
    }

    /// The Slurm job of an attempt as `gaplab status` shows it: `ARRAYJOB_TASK` for an array task, else the job ID;
    /// nil when the attempt did not run under Slurm.
    public static func slurmJobLabel(_ values: [String: String]) -> String? {
        if let job = values["slurm_array_job_id"], let task = values["slurm_array_task_id"] { return "\(job)_\(task)" }
        return values["slurm_job_id"]
    }

    /// The standard entries, with the scheduler's (see `scheduler`); `extra` (BLAS configuration, thread count
    /// chosen by the trainer, ...) is merged over them.
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
        values.merge(scheduler(info.environment)) { _, new in new }
        values.merge(extra) { _, new in new }
        return values
    }
}
