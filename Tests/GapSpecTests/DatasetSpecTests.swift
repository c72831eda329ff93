import XCTest
@testable import GapSpec

/// `data.dataset` strings: every documented option is accepted, a misspelt one gets a suggestion, a bad value and a
/// missing file or folder are named, all with the file and JSON path of the setting.
final class DatasetSpecTests: XCTestCase {
    var folder: URL!
    var table: String!
    var vocabulary: String!

    override func setUpWithError() throws {
        folder = try temporaryDirectory()
        table = folder.appendingPathComponent("pairs.tsv").path
        vocabulary = folder.appendingPathComponent("bpe_simple_vocab_16e6.txt.gz").path
        for path in [table!, vocabulary!] { XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data())) }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// The messages `quick.json` gets for `data.dataset` (empty when it resolves).
    private func messages(_ dataset: String, at section: String = "data", vocabularySize: Int? = 49408) -> [String] {
        var quoted = ""
        JSONValue.writeString(dataset, to: &quoted)
        // open_clip's vocabulary size, so that `bpe=` is checked here as a data option only.
        let model = vocabularySize.map { #""model": {"text_cfg": {"vocab_size": \#($0)}}, "# } ?? ""
        let text = section == "data" ? #"{\#(model)"data": {"dataset": \#(quoted)}}"#
            : #"{\#(model)"finetune": {"epochs": 1, "data": {"dataset": \#(quoted)}}}"#
        do {
            let document = try JSONParser.parse(text, file: "quick.json")
            _ = try RunConfigResolver.resolve(document.value, source: SourceRef(document))
            return []
        } catch let error as ConfigIssues {
            return error.issues.map(\.description)
        } catch {
            XCTFail("unexpected error \(error)")
            return []
        }
    }

    /// Every option `Sources/GapData/README.md` documents, with a valid value, a misspelling of its name and a bad value.
    var documentedOptions: [(valid: String, misspelt: String, suggestion: String, bad: String, expected: String)] {
        [
            ("scenes?captions=2", "scenes?captoins=2", "captions", "scenes?captions=0", #"expected an integer from 1 to 20, got "0""#),
            ("scenes?held_out_pairs=8", "scenes?held_out_pair=8", "held_out_pairs", "scenes?held_out_pairs=x", #"expected an integer from 1 to 56, got "x""#),
            ("scenes?strict=true", "scenes?stirct=true", "strict", "scenes?strict=maybe", #"expected true or false, got "maybe""#),
            ("scenes?fit=letterbox", "scenes?fitt=letterbox", "fit", "scenes?fit=letterbx",
             #"expected one of "centre_crop", "letterbox", "stretch", got "letterbx"; did you mean "letterbox"?"#),
            ("scenes?bpe=\(vocabulary!)", "scenes?bep=\(vocabulary!)", "bpe", "scenes?bpe=\(folder.path)/none.txt.gz",
             "no such file \"\(folder.path)/none.txt.gz\""),
            ("emoji?style=twemoji", "emoji?styel=twemoji", "style", "emoji?style=noto", #"expected one of "emojione", "twemoji", got "noto""#),
            ("emoji?train_style=emojione&test_style=twemoji", "emoji?train_styl=emojione", "train_style", "emoji?test_style=twemoj",
             #"did you mean "twemoji"?"#),
            ("emoji?names=\(table!)", "emoji?name=\(table!)", "names", "emoji?names=\(folder.path)", "is a folder, expected a file"),
            ("csv:\(table!)?img_key=filepath&caption_key=title", "csv:\(table!)?img_kye=filepath", "img_key", "csv:\(table!)?caption_key=",
             #"expected a name, got """#),
            ("csv:\(table!)?sep=tab&label_key=label", "csv:\(table!)?label=label", "label_key", "csv:\(table!)?sep=::",
             #"expected one character or one of tab, comma, semicolon, space, pipe, got "::""#),
            ("csv:\(table!)?sep=,", "csv:\(table!)?seperator=,", "sep", "csv:\(table!)?sep=semi", "got \"semi\""),
            ("digits?path=\(table!)", "digits?pth=\(table!)", "path", "digits?path=\(folder.path)/digits.csv.gz",
             "no such file \"\(folder.path)/digits.csv.gz\""),
            ("fashion-mnist?path=\(folder.path)", "fashion-mnist?paths=\(folder.path)", "path", "fashion-mnist?path=\(table!)",
             "is a file, expected a folder"),
        ]
    }

    func testEveryDocumentedOptionIsAccepted() {
        for option in documentedOptions {
            XCTAssertEqual(messages(option.valid), [], option.valid)
            XCTAssertEqual(messages(option.valid, at: "finetune"), [], option.valid)
            XCTAssertEqual(try DatasetSpec.checked(option.valid).kind?.name, String(option.valid.prefix { $0 != "?" && $0 != ":" }))
        }
    }

    func testAMisspeltOptionGetsASuggestion() throws {
        for option in documentedOptions {
            let found = messages(option.misspelt)
            let spec = try DatasetSpec.parse(option.misspelt)
            let key = try XCTUnwrap(spec.options.keys.first { $0 != option.suggestion })
            XCTAssertEqual(found.count, 1, "\(option.misspelt): \(found)")
            XCTAssertTrue(found.first?.hasPrefix("quick.json: data.dataset: unknown option \"\(key)\" for \"\(spec.name)\"; did you mean \"\(option.suggestion)\"?") ?? false,
                          "\(option.misspelt): \(found)")
        }
        let finetune = messages("scenes?captoins=2", at: "finetune")
        XCTAssertTrue(finetune.first?.hasPrefix(#"quick.json: finetune.data.dataset: unknown option "captoins" for "scenes"; did you mean "captions"?"#) ?? false,
                      "\(finetune)")
    }

    func testAnUnlikeOptionNameListsTheKnownOnes() {
        XCTAssertEqual(DatasetSpec.problems(in: "digits?colour=red"),
                       [#"unknown option "colour" for "digits"; expected one of: path, strict, fit, bpe"#])
    }

    func testABadValueIsNamed() {
        for option in documentedOptions {
            let found = messages(option.bad)
            XCTAssertEqual(found.count, 1, "\(option.bad): \(found)")
            let key = String(option.bad.split(separator: "?").last!.prefix { $0 != "=" })
            let name = String(option.bad.prefix { $0 != "?" && $0 != ":" })
            XCTAssertTrue(found.first?.hasPrefix("quick.json: data.dataset: option \"\(key)\" of \"\(name)\": ") ?? false, "\(option.bad): \(found)")
            XCTAssertTrue(found.first?.contains(option.expected) ?? false, "\(option.bad): \(found)")
        }
    }

    func testMissingDataFilesAndFoldersAreNamed() {
        let missing = folder.appendingPathComponent("no/such/file.tsv").path
        XCTAssertEqual(messages("csv:\(missing)").first?.hasPrefix("quick.json: data.dataset: csv:PATH: no such file \"\(missing)\""), true)
        XCTAssertEqual(messages("csv:\(folder.path)").first?.hasPrefix("quick.json: data.dataset: csv:PATH: \"\(folder.path)\" is a folder, expected a file"), true)
        XCTAssertEqual(messages("csv:\(missing)", at: "finetune").first?.hasPrefix("quick.json: finetune.data.dataset: csv:PATH: no such file"), true)
        XCTAssertEqual(DatasetSpec.problems(in: "fashion-mnist?path=\(folder.path)/none"), [#"option "path" of "fashion-mnist": no such folder "\#(folder.path)/none""#])
        // Every problem of one string is reported, not only the first.
        XCTAssertEqual(DatasetSpec.problems(in: "csv:\(missing)?bpe=\(missing)&sepp=,").count, 3)
    }

    func testOpenCLIPVocabularyNeedsItsSizeInTheModel() {
        let found = messages("scenes?bpe=\(vocabulary!)", vocabularySize: nil)
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertTrue(found.first?.hasPrefix("quick.json: model.text_cfg.vocab_size: expected 49408 for open_clip's vocabulary (bpe= in data.dataset), got \(RunConfig().model.text.vocabSize)") ?? false,
                      "\(found)")
        var config = RunConfig()
        config.model.text.vocabSize = 49408
        config.data.dataset = "scenes?bpe=\(vocabulary!)"
        XCTAssertEqual(config.issues(), [])
        config.model.text.vocabSize = 1024
        config.data.dataset = "scenes"
        config.finetune.data.dataset = "scenes?bpe=\(vocabulary!)"
        XCTAssertEqual(config.issues(), [], "no fine-tuning stage, no vocabulary to check")
        config.finetune.epochs = 1
        XCTAssertEqual(config.issues().map(\.message), ["expected 49408 for open_clip's vocabulary (bpe= in finetune.data.dataset), got 1024"])
    }

    func testGrammarProblems() {
        XCTAssertEqual(DatasetSpec.problems(in: "scenes?captions"), [#"option "captions" should be key=value"#])
        XCTAssertEqual(DatasetSpec.problems(in: "scenes?captions=2&captions=3"), [#"option "captions" is given twice"#])
        XCTAssertEqual(DatasetSpec.problems(in: "?captions=2"), ["empty dataset name"])
        XCTAssertEqual(DatasetSpec.problems(in: "scenes:big"), [#""scenes" takes nothing after ":", got "scenes:big""#])
        XCTAssertEqual(DatasetSpec.problems(in: "csv"), [#""csv:" needs a path after the colon, e.g. "csv:data/pairs.csv""#])
        XCTAssertEqual(DatasetSpec.problems(in: "csv: "), [#""csv:" needs a path after the colon, e.g. "csv:data/pairs.csv""#])
        XCTAssertEqual(DatasetSpec.problems(in: "scens?captions=2"),
                       [#"unknown dataset "scens"; expected one of "scenes", "fashion-mnist", "emoji", "digits" or "csv:PATH"; did you mean "scenes"?"#])
        XCTAssertEqual(DatasetSpec.problems(in: "cifar"), [#"unknown dataset "cifar"; expected one of "scenes", "fashion-mnist", "emoji", "digits" or "csv:PATH""#])
    }

    func testValuesAndDefaultsComeFromTheCatalog() throws {
        let scenes = try DatasetSpec.checked("scenes?captions=6")
        XCTAssertEqual(try scenes.int("captions"), 6)
        XCTAssertEqual(try scenes.int("held_out_pairs"), 8)
        XCTAssertEqual(try scenes.bool("strict"), false)
        XCTAssertEqual(scenes.string("fit"), "centre_crop")
        XCTAssertNil(scenes.url("bpe"))
        let emoji = try DatasetSpec.checked("emoji?style=twemoji&strict=yes")
        XCTAssertEqual(emoji.string("style"), "twemoji")
        XCTAssertNil(emoji.string("train_style"), "train_style follows style when not given")
        XCTAssertEqual(try emoji.bool("strict"), true)
        // Percent-escapes in values are decoded; the last "?" starts the options.
        let csv = try DatasetSpec.checked("csv:\(table!)?sep=%7C&caption_key=caption,%20quoted")
        XCTAssertEqual(csv.argument, table)
        XCTAssertEqual(csv.string("sep"), "|")
        XCTAssertEqual(csv.string("caption_key"), "caption, quoted")
        XCTAssertEqual(csv.string("sep").flatMap(DatasetOption.Value.separator), "|")
        XCTAssertEqual(DatasetOption.Value.separator("\\t"), "\t")
        XCTAssertEqual(DatasetOption.Value.separator("semicolon"), ";")
        XCTAssertNil(DatasetOption.Value.separator("::"))
        XCTAssertThrowsError(try DatasetSpec.checked("scenes?captions=40")) { error in
            XCTAssertEqual("\(error)", #"data.dataset "scenes?captions=40": option "captions" of "scenes": expected an integer from 1 to 20, got "40""#)
        }
    }
}
