import Foundation
@testable import GapStore
import GapSpec
import XCTest

final class RunFilterTests: XCTestCase {
    private func subject(params: [String: ParamValue], metrics: [String: Double] = [:], variant: String = "clip",
                         seed: Int = 0, status: RunStatus = .completed) -> RunFilter.Subject {
        let run = RunRecord(runID: "abc123", sequence: 0, experiment: "exp", variant: variant, shortName: variant, seed: seed,
                            configHash: "h", configJSON: "{}", status: status, attempts: 1, createdAt: Date())
        let summaries = metrics.map { key, value in
            MetricSummary(key: key, direction: .max, count: 3, finalStep: 30, finalValue: value, bestStep: 10, bestValue: value + 1)
        }
        return RunFilter.Subject(run: run, params: params, summaries: summaries)
    }

    private func matches(_ expression: String, _ subject: RunFilter.Subject, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        do { return try RunFilter(expression).matches(subject) } catch {
            XCTFail("\(expression): \(error)", file: file, line: line)
            return false
        }
    }

    func testComparisonsOverParamsAndMetrics() {
        let run = subject(params: ["loss.imsep_weight": .double(0.5), "model.sharing.depth": .int(4), "model.kind": .string("shared"),
                                   "train.augment": .bool(true)],
                          metrics: ["alignment": 0.7, "val.loss": 1.5])
        XCTAssertTrue(matches("params.loss.imsep_weight >= 0.5 and metrics.alignment > 0.5", run))
        XCTAssertFalse(matches("params.loss.imsep_weight > 0.5 and metrics.alignment > 0.5", run))
        XCTAssertTrue(matches("params.loss.imsep_weight > 0.5 or metrics.alignment > 0.5", run))
        XCTAssertTrue(matches("params.model.sharing.depth in (0, 2, 4)", run))
        XCTAssertFalse(matches("params.model.sharing.depth not in (0, 2, 4)", run))
        XCTAssertTrue(matches("params.model.kind = 'shared' and params.train.augment = true", run))
        XCTAssertTrue(matches("params.model.kind != \"clip\"", run))
        XCTAssertTrue(matches("metrics.val.loss < 2 and metrics.val.loss.best = 2.5 and metrics.val.loss.best_step == 10", run))
        XCTAssertTrue(matches("not (variant = 'shared') and seed = 0 and status = 'completed'", run))
        XCTAssertTrue(matches("(params.model.sharing.depth = 2 or params.model.sharing.depth = 4) and metrics.alignment >= 7e-1", run))
        XCTAssertTrue(matches("params.model.sharing.depth > -1.5", run))
    }

    func testMissingValuesMakeComparisonsUnknownNotErrors() {
        let run = subject(params: ["loss.beta": .double(0.5)])
        XCTAssertFalse(matches("params.loss.gamma > 0", run))
        XCTAssertFalse(matches("params.loss.gamma != 0", run), "a missing value is not 'different'")
        XCTAssertFalse(matches("not (params.loss.gamma > 0)", run), "not of unknown is unknown")
        XCTAssertFalse(matches("metrics.alignment > 0.5", run))
        XCTAssertTrue(matches("metrics.alignment > 0.5 or params.loss.beta = 0.5", run), "true or unknown is true")
        XCTAssertFalse(matches("metrics.alignment > 0.5 and params.loss.beta = 0.5", run))
        XCTAssertFalse(matches("params.loss.gamma in (1, 2)", run))
        XCTAssertFalse(matches("params.loss.beta = 'text'", run), "values of different kinds do not compare")
    }

    func testSyntaxErrorsPointAtTheProblem() {
        let cases: [(String, String)] = [
            ("params.a >", "expected a value"),
            ("params.a >= 1 and", "expected a value"),
            ("(params.a = 1", "expected ')'"),
            ("params.a = 'open", "unterminated string"),
            ("lr > 1", "unknown name 'lr'"),
            ("params.a in 1", "expected '('"),
            ("params.a = 1 params.b = 2", "unexpected params.b"),
            ("", "empty expression"),
            ("params.a ~ 1", "unexpected character '~'"),
        ]
        for (expression, expected) in cases {
            XCTAssertThrowsError(try RunFilter(expression), expression) { error in
                let text = String(describing: error)
                XCTAssertTrue(text.contains(expected), "\(expression): \(text)")
                XCTAssertTrue(text.contains("invalid --where expression at character"), text)
            }
        }
    }
}

final class MetricDirectionTests: XCTestCase {
    func testDefaultsFromTheKeyName() {
        for key in ["loss", "train.loss", "val/loss", "modality_gap", "mean_rank", "eval.gap.centroid", "test-error"] {
            XCTAssertEqual(MetricDirection.defaultDirection(forKey: key), .min, key)
        }
        for key in ["alignment", "recall_at_1", "accuracy", "glossary_size", "ranking_acc", "logit_scale"] {
            XCTAssertEqual(MetricDirection.defaultDirection(forKey: key), .max, key)
        }
    }

    func testPreferenceIgnoresNaN() {
        XCTAssertTrue(MetricDirection.min.prefers(1, over: 2))
        XCTAssertFalse(MetricDirection.max.prefers(1, over: 2))
        XCTAssertFalse(MetricDirection.max.prefers(.nan, over: 2))
        XCTAssertTrue(MetricDirection.max.prefers(0, over: .nan))
    }
}

final class StoreLocationTests: XCTestCase {
    func testExplicitPathThenEnvironmentThenDefault() {
        let cwd = URL(fileURLWithPath: "/work/project")
        XCTAssertEqual(StoreLocation.resolve(explicitPath: nil, environment: [:], currentDirectory: cwd).databaseURL.path,
                       "/work/project/.gaplab/gaplab.sqlite")
        XCTAssertEqual(StoreLocation.resolve(explicitPath: nil, environment: ["GAPLAB_STORE": "/data/s.sqlite"], currentDirectory: cwd)
                        .databaseURL.path, "/data/s.sqlite")
        let explicit = StoreLocation.resolve(explicitPath: "runs/x.sqlite", environment: ["GAPLAB_STORE": "/data/s.sqlite"],
                                             currentDirectory: cwd)
        XCTAssertEqual(explicit.databaseURL.path, "/work/project/runs/x.sqlite")
        XCTAssertEqual(explicit.artifactsRoot.path, "/work/project/runs/artifacts")
        XCTAssertEqual(StoreLocation.resolve(explicitPath: "", environment: [:], currentDirectory: cwd).artifactsRoot.path,
                       "/work/project/.gaplab/artifacts")
    }
}
