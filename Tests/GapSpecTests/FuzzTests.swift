import XCTest
import GapRandom
@testable import GapSpec

/// Random mutations of valid experiment files must give a plan or a clear error (`ConfigIssues` naming a
/// file, or `JSONSyntaxError`), never a crash or any other failure.
final class FuzzTests: XCTestCase {
    static let experiment = #"""
    {
      "name": "fuzz",
      "description": "sharing depth against AlignCLIP",
      "base": {
        "model": {"embed_dim": 64, "vision_cfg": {"width": 64, "layers": 2, "head_width": 16}, "text_cfg": {"width": 64, "heads": 4, "layers": 2}},
        "train": {"epochs": 1, "lr": 0.001, "batch_size": 32},
        "eval": {"retrieval_k": [1, 5], "posthoc_shift": [0.25]},
        "data": {"dataset": "scenes", "train_size": 512}
      },
      "variants": [
        {"name": "clip"},
        {"name": "alignclip", "overrides": {"loss.imsep_weight": 0.5, "model.sharing": {"depth": 1, "head": true}}}
      ],
      "grid": {"model.sharing.depth": [0, 2]},
      "zip": {"train.lr": [0.001, 0.002], "train.warmup": [0, 5]},
      "seeds": [0, 1],
      "exclude": [{"variant": "clip", "model.sharing.depth": 2, "seed": 1}]
    }
    """#

    static let runConfig = #"{"model": {"sharing": {"depth": 1}}, "train": {"epochs": 2, "lr_scheduler": "const"}, "seed": 3}"#

    private var outcomes = (plans: 0, issues: 0, syntax: 0)

    private func check(_ text: String, overrides: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
        do {
            let plan = try ExperimentPlanner.plan(text: text, file: "Experiments/fuzz.json", overrides: overrides)
            XCTAssertFalse(plan.runs.isEmpty, file: file, line: line)
            outcomes.plans += 1
        } catch let error as ConfigIssues {
            XCTAssertFalse(error.issues.isEmpty, file: file, line: line)
            for issue in error.issues {
                XCTAssertNotNil(issue.file, "\(issue) for input \(text)", file: file, line: line)
                XCTAssertFalse(issue.message.isEmpty, file: file, line: line)
            }
            outcomes.issues += 1
        } catch let error as JSONSyntaxError {
            XCTAssertGreaterThanOrEqual(error.position.line, 1, file: file, line: line)
            XCTAssertGreaterThanOrEqual(error.position.column, 1, file: file, line: line)
            outcomes.syntax += 1
        } catch {
            XCTFail("unexpected error \(type(of: error)): \(error) for input \(text)", file: file, line: line)
        }
    }

    func testTheSamplesAreValid() throws {
        // 2 variants × 2 depths × 2 zip rows × 2 seeds, less clip at depth 2 with seed 1 (both zip rows).
        XCTAssertEqual(try ExperimentPlanner.plan(text: Self.experiment, file: "Experiments/fuzz.json").runs.count, 2 * 2 * 2 * 2 - 2)
        XCTAssertEqual(try ExperimentPlanner.plan(text: Self.runConfig, file: "run.json").runs.count, 1)
    }

    func testTextMutations() {
        var rng = SeededRandom(seed: 2024)
        let alphabet = Array("{}[]\",:0123456789-+.eE truefalsnl\n\\/ué")
        for sample in [Self.experiment, Self.runConfig] {
            let chars = Array(sample)
            for _ in 0..<700 {
                var m = chars
                switch Int.random(in: 0..<7, using: &rng) {
                case 0:  // delete one character
                    m.remove(at: Int.random(in: 0..<m.count, using: &rng))
                case 1:  // delete a span
                    let start = Int.random(in: 0..<m.count, using: &rng)
                    m.removeSubrange(start..<min(m.count, start + Int.random(in: 1...12, using: &rng)))
                case 2:  // truncate
                    m = Array(m.prefix(Int.random(in: 0..<m.count, using: &rng)))
                case 3:  // insert a character
                    m.insert(alphabet.randomElement(using: &rng)!, at: Int.random(in: 0...m.count, using: &rng))
                case 4:  // swap two characters
                    m.swapAt(Int.random(in: 0..<m.count, using: &rng), Int.random(in: 0..<m.count, using: &rng))
                case 5:  // replace a character
                    m[Int.random(in: 0..<m.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                default:  // duplicate a span
                    let start = Int.random(in: 0..<m.count, using: &rng)
                    let span = m[start..<min(m.count, start + Int.random(in: 1...20, using: &rng))]
                    m.insert(contentsOf: span, at: Int.random(in: 0...m.count, using: &rng))
                }
                check(String(m))
            }
        }
        // Most character-level damage breaks the file; some (inside a string, in whitespace) does not.
        XCTAssertGreaterThan(outcomes.syntax, 500)
        XCTAssertGreaterThan(outcomes.issues, 50)
        XCTAssertGreaterThan(outcomes.plans, 10)
    }

    func testStructuralMutations() throws {
        var rng = SeededRandom(seed: 99)
        for sample in [Self.experiment, Self.runConfig] {
            let document = try JSONParser.parse(sample)
            let paths = Array(document.positions.keys).sorted { $0.description < $1.description }
            for _ in 0..<300 {
                let path = paths.randomElement(using: &rng)!
                var value = document.value
                switch Int.random(in: 0..<3, using: &rng) {
                case 0:  // swap the value's type
                    value = replacing(value, at: path.components[...], with: randomValue(&rng, depth: 0))
                case 1:  // rename a key by one character
                    value = renamingKey(value, at: path.components[...], &rng)
                default:  // remove the member or element
                    value = removing(value, at: path.components[...])
                }
                check(value.compactString)
            }
        }
        XCTAssertGreaterThan(outcomes.issues, 250)
    }

    func testOverrideMutations() {
        var rng = SeededRandom(seed: 5)
        let valid = ["train.lr=0.002", "model.sharing.depth=0,1", "seed=4", "eval.retrieval_k=[1,10]", "data.dataset=emoji,digits"]
        let alphabet = Array("=,.[]{}\"0123456789abcxyz-")
        for _ in 0..<400 {
            var o = Array(valid.randomElement(using: &rng)!)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<o.count, using: &rng)
                if Bool.random(using: &rng) { o[i] = alphabet.randomElement(using: &rng)! } else { o.remove(at: i) }
                if o.isEmpty { break }
            }
            check(Self.experiment, overrides: [String(o)])
        }
        XCTAssertGreaterThan(outcomes.issues, 100)
    }

    // MARK: - Helpers

    private func randomValue(_ rng: inout SeededRandom, depth: Int) -> JSONValue {
        switch Int.random(in: 0..<(depth > 1 ? 5 : 7), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(Double(Int.random(in: -3...30, using: &rng)) / Double([1, 4, 1000].randomElement(using: &rng)!))
        case 3: return .string(["", "x", "scenes", "cosine", "model.sharing.depth", "../fuzz.json"].randomElement(using: &rng)!)
        case 4: return .number([1e300, -1e300, 9.1e18, -0.0, 1e-300].randomElement(using: &rng)!)
        case 5: return .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            let keys = ["name", "overrides", "depth", "x", "train.lr", "model", "variant"]
            return .object((0..<Int.random(in: 0...3, using: &rng)).map { i in (key: keys[(i * 3 + depth) % keys.count], value: randomValue(&rng, depth: depth + 1)) })
        }
    }

    private func replacing(_ value: JSONValue, at path: ArraySlice<JSONPath.Component>, with new: JSONValue) -> JSONValue {
        guard let first = path.first else { return new }
        switch (first, value) {
        case (.key(let k), .object(var m)):
            if let i = m.firstIndex(where: { $0.key == k }) { m[i].value = replacing(m[i].value, at: path.dropFirst(), with: new) }
            return .object(m)
        case (.index(let n), .array(var a)) where a.indices.contains(n):
            a[n] = replacing(a[n], at: path.dropFirst(), with: new)
            return .array(a)
        default: return value
        }
    }

    private func removing(_ value: JSONValue, at path: ArraySlice<JSONPath.Component>) -> JSONValue {
        guard let first = path.first else { return .object([]) }
        switch (first, value) {
        case (.key(let k), .object(var m)):
            if path.count == 1 { m.removeAll { $0.key == k } } else if let i = m.firstIndex(where: { $0.key == k }) {
                m[i].value = removing(m[i].value, at: path.dropFirst())
            }
            return .object(m)
        case (.index(let n), .array(var a)) where a.indices.contains(n):
            if path.count == 1 { a.remove(at: n) } else { a[n] = removing(a[n], at: path.dropFirst()) }
            return .array(a)
        default: return value
        }
    }

    private func renamingKey(_ value: JSONValue, at path: ArraySlice<JSONPath.Component>, _ rng: inout SeededRandom) -> JSONValue {
        guard let first = path.first else { return value }
        switch (first, value) {
        case (.key(let k), .object(var m)):
            guard let i = m.firstIndex(where: { $0.key == k }) else { return value }
            if path.count == 1 {
                var chars = Array(k)
                if !chars.isEmpty { chars[Int.random(in: 0..<chars.count, using: &rng)] = "q" }
                let renamed = String(chars)
                if !m.contains(where: { $0.key == renamed }) { m[i].key = renamed }
            } else {
                m[i].value = renamingKey(m[i].value, at: path.dropFirst(), &rng)
            }
            return .object(m)
        case (.index(let n), .array(var a)) where a.indices.contains(n):
            a[n] = renamingKey(a[n], at: path.dropFirst(), &rng)
            return .array(a)
        default: return value
        }
    }
}
