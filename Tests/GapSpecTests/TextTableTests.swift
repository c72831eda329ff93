import Foundation
import XCTest
@testable import GapSpec

final class TextTableTests: XCTestCase {
    private let table = TextTable(header: ["name", "value", "note"], rows: [["a", "0.5", ""], ["long name", "12", "x, \"y\" | z"]])

    func testAlignedPadsEveryColumnButTheLast() {
        XCTAssertEqual(table.aligned(), """
            name       value  note
            a          0.5    
            long name  12     x, "y" | z

            """)
    }

    func testCSVQuotesFieldsWithCommasQuotesAndLineBreaks() {
        XCTAssertEqual(table.csv(), "name,value,note\na,0.5,\nlong name,12,\"x, \"\"y\"\" | z\"\n")
        XCTAssertEqual(TextTable.csvLine(["a\nb", "c\rd", "plain"]), "\"a\nb\",\"c\rd\",plain")
    }

    func testMarkdownEscapesPipes() {
        XCTAssertEqual(table.markdown(), """
            | name | value | note |
            | --- | --- | --- |
            | a | 0.5 |  |
            | long name | 12 | x, "y" \\| z |

            """)
    }
}

final class ListingTests: XCTestCase {
    private let listing = Listing(columns: ["name", "value", "note"],
                                  rows: [[.text("a"), .number(0.5), .missing], [.text("long name"), .integer(12), .text("x, \"y\"")]])

    func testTableAlignsColumns() {
        XCTAssertEqual(listing.render(.table), """
            name       value  note
            a          0.5    -
            long name  12     x, "y"

            """)
    }

    func testCSVQuotesAndLeavesMissingEmpty() {
        XCTAssertEqual(listing.render(.csv), "name,value,note\na,0.5,\nlong name,12,\"x, \"\"y\"\"\"\n")
    }

    private struct Row: Decodable, Equatable {
        var name: String
        var value: Double
        var note: String?
    }

    func testJSONKeepsTypesAndDecodesBack() throws {
        let rows = try JSONDecoder().decode([Row].self, from: Data(listing.render(.json).utf8))
        XCTAssertEqual(rows, [Row(name: "a", value: 0.5, note: nil), Row(name: "long name", value: 12, note: "x, \"y\"")])
        XCTAssertTrue(listing.render(.json).contains(#""note" : null"#))
        XCTAssertTrue(listing.render(.json).contains(#""value" : 12"#))
    }
}

final class JSONOutputTests: XCTestCase {
    private struct Sample: Encodable {
        var zeta = 1
        var Alpha = "a/b"
        var alpha2 = Double.nan
        var alpha10 = -Double.infinity
        @NullWhenAbsent var absent: Int? = nil
        var leftOut: Int? = nil
    }

    func testKeysSortByCodePointAndAbsentValuesAreNull() {
        XCTAssertEqual(JSONOutput.text(Sample()), """
            {
              "Alpha" : "a/b",
              "absent" : null,
              "alpha10" : "-inf",
              "alpha2" : "nan",
              "zeta" : 1
            }

            """)
    }

    func testJSONValuesKeepTheirNumbersAndOrderIsCanonical() throws {
        let value = try JSONParser.parse(#"{"b": [1, 2.5, true, null], "a": {"y": "s", "x": 3}}"#).value
        let text = JSONOutput.text(value)
        XCTAssertEqual(try JSONParser.parse(text).value, value)
        XCTAssertEqual(text, """
            {
              "a" : {
                "x" : 3,
                "y" : "s"
              },
              "b" : [
                1,
                2.5,
                true,
                null
              ]
            }

            """)
    }

    func testPlanJSONDecodesBack() throws {
        struct Plan: Decodable {
            struct Run: Decodable { var run_id: String; var seed: Int; var config: RunConfig }
            var experiment: String
            var runs: [Run]
        }
        let plan = try ExperimentPlanner.plan(text: #"{"name": "e", "variants": [{"name": "a"}], "seeds": [0, 1]}"#, file: "e.json")
        let decoded = try JSONDecoder().decode(Plan.self, from: Data(PlanListing.render(plan, format: .json).utf8))
        XCTAssertEqual(decoded.experiment, "e")
        XCTAssertEqual(decoded.runs.map(\.seed), [0, 1])
        XCTAssertEqual(decoded.runs.map(\.run_id), plan.runs.map(\.runID))
        XCTAssertEqual(decoded.runs.map(\.config), plan.runs.map(\.config))
    }
}
