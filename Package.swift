// swift-tools-version:6.0
import Foundation
import PackageDescription

// Modules follow the flow of data: spec → store → runner → (data, engine, model, loss, optim) → train → eval → report.
// Each depends only on stages before it; the `gaplab` executable wires them together.

// Release builds of the numeric modules target the vector extensions of the machine that builds them, as numeric
// code built with -march=native does: AVX-512 (sixteen-lane vectors, `GAPLAB_AVX512`) when its CPU has it, otherwise
// AVX2 + FMA (every x86-64 CPU since 2013). GELU, softmax and LayerNorm are about twice as fast with AVX2 as with the
// SSE2 baseline. `GAPLAB_SIMD=avx2 swift build -c release` builds for AVX2 on any machine (a binary to copy to an
// older one). Debug builds (the tests) use the same vector width, without the instruction set, so tests exercise
// the code the release build runs.
func buildMachineHasAVX512() -> Bool {
    if let chosen = ProcessInfo.processInfo.environment["GAPLAB_SIMD"] { return chosen == "avx512" }
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
    let flags = Set(flagLine.split(separator: " ").map(String.init))
    return ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
}
#if arch(x86_64)
let avx512 = buildMachineHasAVX512()
let releaseFlags = ["-Ounchecked", "-wmo", "-target-cpu", avx512 ? "skylake-avx512" : "haswell"]
#else
let avx512 = false
let releaseFlags = ["-Ounchecked", "-wmo"]
#endif
let fastMath: [SwiftSetting] = [
    .unsafeFlags(releaseFlags, .when(configuration: .release)),
] + (avx512 ? [.define("GAPLAB_AVX512")] : [])

let package = Package(
    name: "GapLab",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "gaplab", targets: ["GapLabCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // Debian C libraries.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CRSVG", pkgConfig: "librsvg-2.0", providers: [.apt(["librsvg2-dev"])]),

        // The one seeded random generator (SplitMix64, Fisher–Yates, bounded integers); no dependencies.
        .target(name: "GapRandom"),
        // Experiment files, run configurations, validation, plans and run identity.
        .target(name: "GapSpec", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Storage protocol and its SQLite implementation.
        .target(name: "GapStore", dependencies: ["GapSpec", .product(name: "GRDB", package: "GRDB.swift"),
                                                 .product(name: "Crypto", package: "swift-crypto")]),
        // The PostgreSQL implementation of the storage protocol, and opening a store from its locator (path or URL).
        .target(name: "GapStorePostgres", dependencies: ["GapStore", "GapSpec", .product(name: "PostgresNIO", package: "postgres-nio")]),
        // Workers: claim, lease, heartbeat, isolate and record runs.
        .target(name: "GapRunner", dependencies: ["GapStore"]),
        // Numeric kernels over flat Float32 buffers (forward and backward per layer).
        .target(name: "GapEngine", dependencies: ["CBLAS"], swiftSettings: fastMath),
        // Datasets, image decoding, tokenizer, caption semantics.
        .target(name: "GapData", dependencies: ["GapSpec", "GapRandom", "CPNG", "CZlib", "CTurboJPEG",
                                                .product(name: "Crypto", package: "swift-crypto")], exclude: ["README.md"], swiftSettings: fastMath),
        // CLIP / SharedCLIP towers with any sharing depth, initialisation, safetensors checkpoints.
        .target(name: "GapModel", dependencies: ["GapSpec", "GapEngine", "GapRandom"], swiftSettings: fastMath),
        // Contrastive losses (InfoNCE, IMSep, CyCLIP) with their gradients.
        .target(name: "GapLoss", dependencies: ["GapSpec", "GapEngine"], swiftSettings: fastMath),
        // AdamW, learning-rate schedule, gradient clipping.
        .target(name: "GapOptim", dependencies: ["GapSpec", "GapEngine"], swiftSettings: fastMath),
        // The training loop.
        .target(name: "GapTrain", dependencies: ["GapSpec", "GapEngine", "GapData", "GapModel", "GapLoss", "GapOptim", "GapRandom"], swiftSettings: fastMath),
        // Plots drawn as SVG and rendered to PNG by librsvg and cairo; no numeric code, so reports draw without the engine.
        .target(name: "GapPlot", dependencies: ["GapData", "CCairo", "CRSVG"]),
        // Geometry and downstream metrics, embedding pictures.
        .target(name: "GapEval", dependencies: ["GapSpec", "GapData", "GapEngine", "GapModel", "GapRandom", "GapPlot", "CBLAS"], swiftSettings: fastMath),
        // The run pipeline: data → training through an engine (the trainer seam) → evaluation, all into the store.
        .target(name: "GapPipeline", dependencies: ["GapSpec", "GapStore", "GapRunner", "GapData", "GapEngine", "GapModel",
                                                    "GapTrain", "GapEval"]),
        // Tables and figures from the store.
        .target(name: "GapReport", dependencies: ["GapSpec", "GapStore", "GapPlot"]),
        .executableTarget(name: "GapLabCLI", dependencies: [
            "GapSpec", "GapStore", "GapStorePostgres", "GapRunner", "GapEngine", "GapData", "GapModel", "GapLoss",
            "GapTrain", "GapEval", "GapReport", "GapPipeline", "GapRandom",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "GapRandomTests", dependencies: ["GapRandom"]),
        .testTarget(name: "GapEngineTests", dependencies: ["GapEngine", "GapRandom", "GapTestSupport"], exclude: ["vector_math_fit.py"]),
        .testTarget(name: "GapModelTests", dependencies: ["GapModel", "GapLoss", "GapSpec", "GapTrain", "GapEngine", "GapRandom", "GapTestSupport"]),
        .testTarget(name: "GapLossTests", dependencies: ["GapLoss", "GapEngine", "GapRandom", "GapSpec"]),
        .testTarget(name: "GapOptimTests", dependencies: ["GapOptim", "GapEngine", "GapRandom", "GapSpec"]),
        .testTarget(name: "GapTrainTests", dependencies: ["GapTrain", "GapEngine", "GapModel", "GapSpec", "GapRandom"]),
        .testTarget(name: "GapSpecTests", dependencies: ["GapSpec", "GapRandom"]),
        .testTarget(name: "GapStoreTests", dependencies: ["GapStore", "GapStorePostgres", "GapSpec", "GapTestSupport"]),
        // What the tests that start processes share: the built `gaplab`, waiting for states, synthetic run specs.
        .target(name: "GapTestSupport", dependencies: ["GapSpec", "GapStore", "GapEngine", "GapRandom"], path: "Tests/GapTestSupport"),
        .testTarget(name: "GapRunnerTests", dependencies: ["GapRunner", "GapStore", "GapTestSupport"]),
        .testTarget(name: "GapDataTests", dependencies: ["GapData", "GapSpec", "GapRandom"]),
        .testTarget(name: "GapEvalTests", dependencies: ["GapEval", "GapEngine", "GapPlot", "GapData", "GapSpec", "GapRandom"]),
        .testTarget(name: "GapPlotTests", dependencies: ["GapPlot", "GapData"]),
        .testTarget(name: "GapPipelineTests", dependencies: ["GapPipeline", "GapStore", "GapSpec", "GapModel", "GapData", "GapEval",
                                                        "GapTestSupport"]),
        .testTarget(name: "GapReportTests", dependencies: ["GapReport", "GapStore", "GapSpec"]),
        // Runs the built `gaplab` executable: the commands end to end, and the runner's fault handling across processes.
        .testTarget(name: "GapLabCLITests", dependencies: ["GapRunner", "GapStore", "GapStorePostgres", "GapSpec", "GapModel", "GapData", "GapTestSupport", "GapPipeline"]),
    ],
    swiftLanguageModes: [.v5]
)
