import CBLAS
import Foundation

/// Choice of OpenBLAS's compute kernel. Debian's OpenBLAS 0.3.21 does not recognise recent Xeons (for example
/// ones with AVX-512 FP16) and falls back to its Prescott (SSE3) kernels, far slower than the AVX-512 ones on the
/// same core. OpenBLAS reads `OPENBLAS_CORETYPE` only while it loads, so the `gaplab` executable
/// restarts itself once with the variable set when that fallback is detected. A value already in the
/// environment is always respected (some machines set it on purpose), and `GAPLAB_BLAS_KERNEL=default` turns
/// the selection off.
public enum BLASKernel {
    /// OpenBLAS's own pool stays at one thread: its workers spin between calls and would compete with the
    /// engine's element-wise threads on a small machine; `sgemm` splits large products across an engine context's
    /// threads. A process-wide library setting, made once, when the first context is made.
    static let singleThreaded: Void = openblas_set_num_threads(1)

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    public static var configuration: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c) + " (core: \(openblas_get_corename().map { String(cString: $0) } ?? "?"))"
    }

    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    public static func cpuFlags() -> Set<String> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: ":", maxSplits: 1).last?.split(separator: " ").map(String.init) ?? [])
    }

    /// The OpenBLAS core type matching the CPU's vector extensions, or nil when OpenBLAS's own choice stands.
    public static func preferredCoreType(flags: Set<String>) -> String? {
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// The core type to restart with, or nil to carry on as loaded.
    public static func restartCoreType(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, environment["GAPLAB_BLAS_KERNEL"] != "default",
              coreName.lowercased() == "prescott" else { return nil }
        return preferredCoreType(flags: cpuFlags())
    }
}
