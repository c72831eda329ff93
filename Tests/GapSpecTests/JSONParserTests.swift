import XCTest
import GapRandom
@testable import GapSpec

final class JSONParserTests: XCTestCase {
    func testParsesEveryKindAndKeepsKeyOrder() throws {
        let doc = try JSONParser.parse(#"{"b": [1, 2.5, -3e2], "a": {"x": true, "y": null}, "s": "h\u00e9\n\ud83d\ude00"}"#)
        XCTAssertEqual(doc.value.members?.map(\.key), ["b", "a", "s"])
        XCTAssertEqual(doc.value["b"], [1, 2.5, -300])
        XCTAssertEqual(doc.value["a"]?["x"], true)
        XCTAssertEqual(doc.value["a"]?["y"], .null)
        XCTAssertEqual(doc.value["s"], .string("hé\n😀"))
    }

    func testPositionsOfKeysAndElements() throws {
        let text = "{\n  \"base\": {\n    \"lr\": [1,\n  22]\n  }\n}"
        let doc = try JSONParser.parse(text)
        XCTAssertEqual(doc.position(of: ["base"].map(JSONPath.Component.key).asPath), SourcePosition(line: 2, column: 3))
        XCTAssertEqual(doc.position(of: JSONPath(keys: ["base", "lr"])), SourcePosition(line: 3, column: 5))
        XCTAssertEqual(doc.position(of: JSONPath(keys: ["base", "lr"]).appending(1)), SourcePosition(line: 4, column: 3))
    }

    private func syntaxError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONSyntaxError? {
        do {
            _ = try JSONParser.parse(text, file: "x.json")
            XCTFail("parsed invalid JSON: \(text)", file: file, line: line)
            return nil
        } catch let error as JSONSyntaxError {
            return error
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    func testSyntaxErrorsCarryLineAndColumn() {
        let trailing = syntaxError("{\n  \"a\": 1,\n}")
        XCTAssertEqual(trailing?.position, SourcePosition(line: 3, column: 1))
        XCTAssertEqual(trailing?.message, "trailing comma before '}'")
        XCTAssertEqual(trailing?.description, "x.json: syntax error at line 3, column 1: trailing comma before '}'")

        let missingComma = syntaxError("{\"a\": 1\n \"b\": 2}")
        XCTAssertEqual(missingComma?.position, SourcePosition(line: 2, column: 2))
        XCTAssertTrue(missingComma?.message.contains("expected ',' or '}'") ?? false)

        // Columns count characters, not bytes: "é" is two bytes.
        let afterAccent = syntaxError("[\"é\", tru]")
        XCTAssertEqual(afterAccent?.position, SourcePosition(line: 1, column: 7))

        XCTAssertEqual(syntaxError("{'a': 1}")?.message, "keys must be in double quotes")
        XCTAssertEqual(syntaxError("[01]")?.message, "numbers must not have leading zeros")
        XCTAssertTrue(syntaxError("[1e999]")?.message.contains("out of range") ?? false)
        XCTAssertTrue(syntaxError("{\"a\": 1, \"a\": 2}")?.message.contains("duplicate key \"a\"") ?? false)
        XCTAssertTrue(syntaxError("\"abc")?.message.contains("unterminated string") ?? false)
        XCTAssertTrue(syntaxError("[\"\\ud800\"]")?.message.contains("unpaired surrogate") ?? false)
        XCTAssertTrue(syntaxError("[1] [2]")?.message.contains("after the end") ?? false)
        XCTAssertTrue(syntaxError("")?.message.contains("end of input") ?? false)
        XCTAssertTrue(syntaxError("[NaN]")?.message.contains("expected a value") ?? false)
    }

    func testDeepNestingIsAnErrorNotAStackOverflow() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertTrue(syntaxError(deep)?.message.contains("nesting deeper") ?? false)
    }

    func testInvalidUTF8IsAnError() {
        XCTAssertThrowsError(try JSONParser.parse(data: Data([0x22, 0xFF, 0xFE, 0x22]))) { error in
            XCTAssertTrue(error is JSONSyntaxError)
        }
    }

    func testCanonicalForm() throws {
        let value = try JSONParser.parse(#"{"b": 1.0, "a": [0.1, 1e-6, 3, -0.0, 1e20, 2.5e-3], "c": {"z": "q\"\u0001", "y": false}}"#).value
        XCTAssertEqual(value.canonicalString, #"{"a":[0.1,1e-06,3,0,1e+20,0.0025],"b":1,"c":{"y":false,"z":"q\"\u0001"}}"#)
        // The canonical form parses back to an equal value, and its canonical form is itself.
        let reparsed = try JSONParser.parse(value.canonicalString).value
        XCTAssertEqual(reparsed, value)
        XCTAssertEqual(reparsed.canonicalString, value.canonicalString)
    }

    func testDoublesRoundTripInShortestForm() throws {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<2000 {
            let bits = rng.next()
            let d = Double(bitPattern: bits)
            guard d.isFinite else { continue }
            let text = JSONValue.number(d).canonicalString
            XCTAssertEqual(try JSONParser.parse(text).value.doubleValue, d == 0 ? 0 : d, text)
        }
    }

    func testObjectEqualityIgnoresKeyOrder() throws {
        let a = try JSONParser.parse(#"{"x": 1, "y": {"p": 1, "q": 2}}"#).value
        let b = try JSONParser.parse(#"{"y": {"q": 2, "p": 1}, "x": 1.0}"#).value
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, try JSONParser.parse(#"{"x": 2, "y": {"p": 1, "q": 2}}"#).value)
    }

    func testMergeAndSet() {
        let base: JSONValue = ["a": ["x": 1, "y": 2], "b": 3]
        XCTAssertEqual(base.merging(["a": ["y": 5, "z": 6]]), ["a": ["x": 1, "y": 5, "z": 6], "b": 3])
        XCTAssertEqual(base.setting(keys: ["a", "y"], to: 9), ["a": ["x": 1, "y": 9], "b": 3])
        XCTAssertEqual(base.setting(keys: ["a"], to: ["w": 0]), ["a": ["w": 0], "b": 3])
        XCTAssertEqual(JSONValue.object([]).setting(keys: ["p", "q"], to: 1), ["p": ["q": 1]])
    }

    func testLeavesFlattenByDottedPath() {
        let value: JSONValue = ["train": ["lr": 0.1, "betas": [0.9, 0.98]], "seed": 1, "empty": [:]]
        let leaves = value.leaves()
        XCTAssertEqual(leaves.map(\.path), ["train.lr", "train.betas", "seed"])
        XCTAssertEqual(leaves.map(\.value), [0.1, [0.9, 0.98], 1])
    }

    func testPathRendering() {
        XCTAssertEqual(JSONPath(keys: ["base", "model", "sharing"]).description, "base.model.sharing")
        XCTAssertEqual(JSONPath([.key("grid"), .key("model.sharing.depth"), .index(2)]).description, #"grid["model.sharing.depth"][2]"#)
    }
}

extension Array where Element == JSONPath.Component {
    var asPath: JSONPath { JSONPath(self) }
}

