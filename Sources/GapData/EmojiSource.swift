import Foundation
import GapRandom
import GapSpec

/// `emoji[?style=emojione|twemoji][&train_style=…&test_style=…]`: emoji drawings captioned by their Unicode names
/// (emoji-test.txt from Debian unicode-data), classes by group and subgroup. Concepts, not images, are split, so
/// val and test hold concepts never trained on; "flag: …" entries stay in training (a country name never seen
/// cannot be inferred). With a test style unlike the training style, an extra split "test_train_style" holds the
/// same test concepts drawn in the training style, for the style-shift comparison.
struct EmojiSource: DatasetSource {
    let trainStyle: String
    let testStyle: String
    let namesFile: URL

    init(spec: DatasetSpec) throws {
        // The styles are checked against `DatasetCatalog.emojiStyles`; `style` has a default there.
        let style = spec.string("style")!
        trainStyle = spec.string("train_style") ?? style
        testStyle = spec.string("test_style") ?? style
        namesFile = spec.url("names") ?? DataPaths.emojiTest
        guard DataPaths.exists(namesFile) else { throw DataError.missing(namesFile.path, "emoji names are not installed; run `make data` (Debian unicode-data)") }
        for s in Set([trainStyle, testStyle]) where !DataPaths.exists(EmojiSource.directory(s)) {
            throw DataError.missing(EmojiSource.directory(s).path, "the \(s) emoji images are not installed; run `make data`")
        }
    }

    static func directory(_ style: String) -> URL { style == "twemoji" ? DataPaths.twemojiDirectory : DataPaths.emojiOneDirectory }

    struct Concept {
        var key: String
        var name: String
        var group: String
        var subgroup: String
    }

    /// Fully-qualified entries of emoji-test.txt, keyed by upper-case code points joined by "-" without FE0F.
    static func readNames(_ url: URL) throws -> [Concept] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch { throw DataError.unreadable(url.path, error.localizedDescription) }
        var group = "", subgroup = ""
        var concepts: [Concept] = [], seen = Set<String>()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# group:") { group = line.dropFirst(8).trimmingCharacters(in: .whitespaces).lowercased(); continue }
            if line.hasPrefix("# subgroup:") { subgroup = line.dropFirst(11).trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "-", with: " "); continue }
            guard !line.hasPrefix("#"), let semi = line.firstIndex(of: ";"), let hash = line.firstIndex(of: "#") else { continue }
            guard line[semi..<hash].contains("fully-qualified") else { continue }
            let points = line[..<semi].split(separator: " ").map { $0.uppercased() }.filter { $0 != "FE0F" }
            let key = points.joined(separator: "-")
            // "# 😀 E1.0 grinning face": the name follows the version field.
            let comment = line[line.index(after: hash)...].split(separator: " ", omittingEmptySubsequences: true)
            guard let versionAt = comment.firstIndex(where: { $0.hasPrefix("E") && $0.dropFirst().allSatisfy { "0123456789.".contains($0) } }) else { continue }
            let name = comment[(versionAt + 1)...].joined(separator: " ")
            guard !name.isEmpty, !seen.contains(key) else { continue }
            seen.insert(key)
            concepts.append(Concept(key: key, name: name, group: group, subgroup: subgroup))
        }
        return concepts
    }

    /// Image file per concept key in a style directory.
    static func files(style: String) -> [String: URL] {
        let dir = directory(style)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        var map: [String: URL] = [:]
        for file in names.sorted() where file.hasSuffix(".png") {
            let key = file.dropLast(4).uppercased().split(separator: "-").filter { $0 != "FE0F" }.joined(separator: "-")
            if map[key] == nil { map[key] = dir.appendingPathComponent(file) }
        }
        return map
    }

    func contentDigest() throws -> String {
        var files = [namesFile]
        for s in Set([trainStyle, testStyle]).sorted() { files += EmojiSource.files(style: s).values.sorted { $0.path < $1.path } }
        return try ContentHash.sha256(files: files)
    }

    func load(config: DataConfig, imageSize: Int, options: LoadOptions) throws -> SourceSplits {
        let concepts = try EmojiSource.readNames(namesFile)
        let trainFiles = EmojiSource.files(style: trainStyle), testFiles = EmojiSource.files(style: testStyle)
        let usable = concepts.filter { trainFiles[$0.key] != nil && testFiles[$0.key] != nil }
        var report = LoadReport(dataset: config.dataset)
        report.source = "\(namesFile.path); train style \(trainStyle), test style \(testStyle)"
        report.notes.append("\(usable.count) of \(concepts.count) named emoji have images in \(Set([trainStyle, testStyle]).sorted().joined(separator: " and "))")
        let flags = usable.indices.filter { usable[$0].name.hasPrefix("flag:") }
        let others = usable.indices.filter { !usable[$0].name.hasPrefix("flag:") }
        let plan = SplitPlan.make(count: others.count, trainSize: 0, valSize: config.valSize, testSize: config.testSize, seed: config.splitSeed)
        report.notes += plan.notes
        var train = plan.train.map { others[$0] } + flags
        train.sort()
        if config.trainSize > 0 && train.count > config.trainSize {
            var rng = SeededRandom(seed: config.splitSeed, stream: 10, index: 0)
            rng.shuffle(&train)
            train = Array(train.prefix(config.trainSize)).sorted()
        }
        let groups = Array(Set(usable.map { $0.group })).sorted()
        let subgroups = Array(Set(usable.map { $0.subgroup })).sorted()

        func split(_ name: String, _ indices: [Int], style files: [String: URL]) throws -> ImageTextDataset {
            let chosen = indices.map { usable[$0] }
            let decoded = ImageFiles.load(chosen.map { files[$0.key]! }, size: imageSize, fit: options.fit)
            if options.strict, let first = decoded.failures.first { throw DataError.invalid(first.1) }
            for (_, reason) in decoded.failures { report.skip(name, reason: reason) }
            let kept = decoded.decoded.map { chosen[$0] }
            return ImageTextDataset(name: name, imageWidth: imageSize, imageHeight: imageSize, pixels: decoded.pixels,
                                    captionsPerImage: kept.map { c in [c.name, "an emoji of \(c.name)", "\(c.name), \(c.subgroup)"] },
                                    labelAxes: [
                                        LabelAxis(name: "group", classNames: groups, labels: kept.map { groups.firstIndex(of: $0.group)! },
                                                  templates: ["an emoji of {}.", "a {} emoji.", "an icon from the {} group."]),
                                        LabelAxis(name: "subgroup", classNames: subgroups, labels: kept.map { subgroups.firstIndex(of: $0.subgroup)! },
                                                  templates: ["an emoji of {}.", "a {} emoji.", "an icon showing {}."]),
                                    ],
                                    sourceIDs: kept.map { files[$0.key]!.path })
        }
        var splits = [try split("train", train, style: trainFiles),
                      try split("val", plan.val.map { others[$0] }, style: trainFiles),
                      try split("test", plan.test.map { others[$0] }, style: testFiles)]
        if testStyle != trainStyle {
            splits.append(try split("test_train_style", plan.test.map { others[$0] }, style: trainFiles))
        }
        return SourceSplits(splits: splits, report: report)
    }
}
