import Foundation

/// Where a value of an experiment came from: a place in a file, or a command-line override.
public struct ValueOrigin: Sendable {
    public var source: SourceRef
    public var path: JSONPath
    /// Set for command-line overrides: the override as typed.
    public var overrideText: String?

    public init(source: SourceRef, path: JSONPath, overrideText: String? = nil) {
        self.source = source
        self.path = path
        self.overrideText = overrideText
    }

    public var label: String {
        guard let overrideText else { return path.description }
        return "override \"\(overrideText)\"" + path.description
    }

    public func appending(_ sub: JSONPath) -> ValueOrigin {
        ValueOrigin(source: source, path: path.appending(sub), overrideText: overrideText)
    }

    public func issue(_ message: String) -> ConfigIssue {
        if overrideText != nil { return ConfigIssue(path: label, message: message, file: source.file) }
        let suffix = source.position(of: path).map { " (\($0))" } ?? ""
        return ConfigIssue(path: label, message: message + suffix, file: source.file)
    }
}

/// One value set at a configuration path.
public struct Setting: Sendable {
    public var keys: [String]
    public var value: JSONValue
    public var origin: ValueOrigin

    public var dottedPath: String { DottedPath.join(keys) }
}

/// A named row of an experiment: overrides of the base.
public struct ExperimentVariant: Sendable {
    public var name: String
    public var settings: [Setting]
}

/// A swept key: the values it takes (a grid axis, or one key of the zip group).
public struct SweepAxis: Sendable {
    public var keys: [String]
    public var values: [Setting]
    public var dottedPath: String { DottedPath.join(keys) }
}

/// A partial assignment; a run matching every entry is dropped. The key `variant` matches the variant name.
public struct ExcludeRule: Sendable {
    public var entries: [(keys: [String], value: JSONValue)]
    public var variant: String?
    public var origin: ValueOrigin
}

/// An experiment file read and checked, with `extends` already applied.
public struct ExperimentSpec: Sendable {
    public var name: String
    public var description: String
    public var file: String
    /// The base as leaf settings, in order (parents first), so applying them is a deep merge.
    public var base: [Setting]
    public var variants: [ExperimentVariant]
    public var grid: [SweepAxis]
    public var zip: [SweepAxis]
    public var seeds: [Int]?
    public var seedsOrigin: ValueOrigin?
    public var excludes: [ExcludeRule]

    public static let topLevelKeys = ["name", "description", "extends", "base", "variants", "grid", "zip", "seeds", "exclude"]

    /// Read an experiment file (or a plain run configuration file, which becomes an experiment with that
    /// configuration as its base). Throws `JSONSyntaxError` or `ConfigIssues` listing every problem found.
    public static func load(contentsOfFile path: String) throws -> ExperimentSpec {
        var issues: [ConfigIssue] = []
        let spec = try load(path: path, chain: [], issues: &issues)
        if !issues.isEmpty { throw ConfigIssues(issues) }
        return spec
    }

    /// Parse experiment text; `file` names it in messages and anchors relative `extends` paths.
    public static func parse(_ text: String, file: String) throws -> ExperimentSpec {
        var issues: [ConfigIssue] = []
        let document = try JSONParser.parse(text, file: file)
        let spec = try build(document, path: file, chain: [standardized(file)], issues: &issues)
        if !issues.isEmpty { throw ConfigIssues(issues) }
        return spec
    }

    static func standardized(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    private static func load(path: String, chain: [String], issues: inout [ConfigIssue]) throws -> ExperimentSpec {
        let document = try JSONParser.parse(contentsOfFile: path)
        return try build(document, path: path, chain: chain + [standardized(path)], issues: &issues)
    }

    private static func build(_ document: JSONDocument, path: String, chain: [String], issues: inout [ConfigIssue]) throws -> ExperimentSpec {
        let source = SourceRef(document)
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        guard let members = document.value.members else {
            throw ConfigIssues([source.issue(at: .root, "an experiment file must be a JSON object, found \(document.value.foundDescription)")])
        }
        let root = document.value
        let isExperiment = members.contains { topLevelKeys.contains($0.key) }
        if !isExperiment {
            return plainRunConfiguration(root, members: members, stem: stem, path: path, source: source, issues: &issues)
        }
        for (key, _) in members where !topLevelKeys.contains(key) {
            let message = ConfigSchema.runConfig.child(key) != nil
                ? "unknown key \"\(key)\" in an experiment file; run configuration keys go inside \"base\""
                : Suggestion.unknownKeyMessage(key, siblings: topLevelKeys, schema: nil)
            issues.append(source.issue(at: [.key(key)], message))
        }

        var spec = ExperimentSpec(name: stem, description: "", file: path, base: [],
                                  variants: [ExperimentVariant(name: "base", settings: [])], grid: [], zip: [],
                                  seeds: nil, seedsOrigin: nil, excludes: [])
        if let extends = root["extends"] {
            if let parent = try loadParent(extends, source: source, path: path, chain: chain, issues: &issues) {
                spec = parent
                spec.name = stem
                spec.file = path
            }
        }
        readNameAndDescription(root, into: &spec, source: source, issues: &issues)
        if let base = root["base"] {
            let location: JSONPath = [.key("base")]
            let baseIssues = SchemaCheck.issues(in: base, schema: .runConfig, at: location, source: source)
            issues += baseIssues
            if baseIssues.isEmpty {
                spec.base += leafSettings(base, origin: ValueOrigin(source: source, path: location), keys: [])
            }
        }
        if let variants = root["variants"] {
            if let parsed = parseVariants(variants, source: source, issues: &issues) { spec.variants = parsed }
        }
        readSweeps(root, into: &spec, source: source, issues: &issues)
        readSeeds(root, into: &spec, source: source, issues: &issues)
        if let exclude = root["exclude"] {
            spec.excludes += parseExcludes(exclude, variants: spec.variants.map(\.name), source: source, issues: &issues)
        }
        return spec
    }

    /// A plain run configuration: one run, its keys checked at the top level. A misspelt experiment
    /// key ("gird") is what made the file look like one, so it is suggested first.
    private static func plainRunConfiguration(_ root: JSONValue, members: [(key: String, value: JSONValue)], stem: String,
                                              path: String, source: SourceRef, issues: inout [ConfigIssue]) -> ExperimentSpec {
        let configKeys = ConfigSchema.runConfig.objectKeys
        var checked: [(key: String, value: JSONValue)] = []
        for member in members {
            if !configKeys.contains(member.key), Suggestion.closest(to: member.key, among: configKeys) == nil,
               let near = Suggestion.closest(to: member.key, among: topLevelKeys) {
                issues.append(source.issue(at: [.key(member.key)], "unknown key \"\(member.key)\"; did you mean \"\(near)\"?"))
            } else {
                checked.append(member)
            }
        }
        issues += SchemaCheck.issues(in: .object(checked), schema: .runConfig, at: .root, source: source)
        let base = leafSettings(root, origin: ValueOrigin(source: source, path: .root), keys: [])
        return ExperimentSpec(name: stem, description: "", file: path, base: base,
                              variants: [ExperimentVariant(name: "base", settings: [])], grid: [], zip: [],
                              seeds: nil, seedsOrigin: nil, excludes: [])
    }

    private static func readNameAndDescription(_ root: JSONValue, into spec: inout ExperimentSpec, source: SourceRef,
                                               issues: inout [ConfigIssue]) {
        if let name = root["name"] {
            if let s = name.stringValue, !s.trimmingWhitespace().isEmpty { spec.name = s } else {
                issues.append(source.issue(at: [.key("name")], "expected a non-empty string, found \(name.foundDescription)"))
            }
        }
        if let description = root["description"] {
            if let s = description.stringValue { spec.description = s } else {
                issues.append(source.issue(at: [.key("description")], "expected a string, found \(description.foundDescription)"))
            }
        }
    }

    /// The file's grid axes and zip keys merged over the parent's, then checked as a whole: the zip lists
    /// must line up, and a key is swept in one section only.
    private static func readSweeps(_ root: JSONValue, into spec: inout ExperimentSpec, source: SourceRef,
                                   issues: inout [ConfigIssue]) {
        if let grid = root["grid"] {
            merge(parseAxes(grid, section: "grid", source: source, issues: &issues), into: &spec.grid)
        }
        if let zip = root["zip"] {
            merge(parseAxes(zip, section: "zip", source: source, issues: &issues), into: &spec.zip)
        }
        let zipLengths = Set(spec.zip.map(\.values.count))
        if zipLengths.count > 1 {
            let lengths = spec.zip.map { "\($0.dottedPath): \($0.values.count)" }.joined(separator: ", ")
            issues.append(source.issue(at: [.key("zip")], "zip lists must have equal lengths, found \(lengths)"))
        }
        for axis in spec.zip where spec.grid.contains(where: { $0.keys == axis.keys }) {
            issues.append(source.issue(at: [.key("zip"), .key(axis.dottedPath)], "\(axis.dottedPath) is both a grid axis and a zip key; give it in one of them"))
        }
    }

    /// The file's seeds (replacing the parent's), which may not be swept a second time as an axis.
    private static func readSeeds(_ root: JSONValue, into spec: inout ExperimentSpec, source: SourceRef,
                                  issues: inout [ConfigIssue]) {
        if let seeds = root["seeds"] {
            let origin = ValueOrigin(source: source, path: [.key("seeds")])
            if let parsed = parseSeeds(seeds, origin: origin, issues: &issues) {
                spec.seeds = parsed
                spec.seedsOrigin = origin
            }
        }
        if spec.seeds != nil, let axis = (spec.grid + spec.zip).first(where: { $0.keys == ["seed"] }) {
            issues.append(axis.values.first.map { $0.origin.issue("seed is swept by \"seeds\"; remove it from here") }
                          ?? source.issue(at: [.key("seeds")], "seed is swept twice"))
        }
    }

    private static func loadParent(_ extends: JSONValue, source: SourceRef, path: String, chain: [String],
                                   issues: inout [ConfigIssue]) throws -> ExperimentSpec? {
        let location: JSONPath = [.key("extends")]
        guard let relative = extends.stringValue, !relative.isEmpty else {
            issues.append(source.issue(at: location, "expected the path of another experiment file, found \(extends.foundDescription)"))
            return nil
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        let parentPath = relative.hasPrefix("/") ? relative : directory.appendingPathComponent(relative).path
        let key = standardized(parentPath)
        if let start = chain.firstIndex(of: key) {
            let cycle = (chain[start...] + [key]).map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: " → ")
            issues.append(source.issue(at: location, "extends cycle: \(cycle)"))
            return nil
        }
        guard FileManager.default.fileExists(atPath: parentPath) else {
            issues.append(source.issue(at: location, "no such file: \(parentPath)"))
            return nil
        }
        return try load(path: parentPath, chain: chain, issues: &issues)
    }

    /// Axes from a later file replace same-keyed axes in place and append new ones.
    private static func merge(_ axes: [SweepAxis], into existing: inout [SweepAxis]) {
        for axis in axes {
            if let i = existing.firstIndex(where: { $0.keys == axis.keys }) { existing[i] = axis } else { existing.append(axis) }
        }
    }

    /// The leaves of an object as settings: objects are descended, everything else is a leaf.
    static func leafSettings(_ value: JSONValue, origin: ValueOrigin, keys: [String]) -> [Setting] {
        guard let members = value.members else {
            return keys.isEmpty ? [] : [Setting(keys: keys, value: value, origin: origin)]
        }
        return members.flatMap { leafSettings($0.value, origin: origin.appending([.key($0.key)]), keys: keys + [$0.key]) }
    }

    /// Check a dotted-path assignment and make it a setting; nil (with issues recorded) when invalid.
    static func setting(path: String, value: JSONValue, origin: ValueOrigin, issues: inout [ConfigIssue]) -> Setting? {
        switch SchemaCheck.resolve(dotted: path, at: origin.path, source: origin.source) {
        case .failure(let failure):
            issues += failure.issues.map { issue in
                origin.overrideText == nil ? issue : ConfigIssue(path: origin.label, message: issue.message, file: origin.source.file)
            }
            return nil
        case .success(let (keys, schema)):
            var found = SchemaCheck.issues(in: value, schema: schema, at: origin.path, schemaPath: keys, source: origin.source)
            if origin.overrideText != nil {
                found = found.map { ConfigIssue(path: origin.label, message: "\(path): \($0.message)", file: origin.source.file) }
            }
            issues += found
            return found.isEmpty ? Setting(keys: keys, value: value, origin: origin) : nil
        }
    }

    private static func parseVariants(_ value: JSONValue, source: SourceRef, issues: inout [ConfigIssue]) -> [ExperimentVariant]? {
        let location: JSONPath = [.key("variants")]
        guard let rows = value.arrayValue else {
            issues.append(source.issue(at: location, "expected an array of {\"name\": ..., \"overrides\": {...}}, found \(value.foundDescription)"))
            return nil
        }
        if rows.isEmpty {
            issues.append(source.issue(at: location, "expected at least one variant (leave \"variants\" out for a single run of the base)"))
            return nil
        }
        var variants: [ExperimentVariant] = []
        var seen: Set<String> = []
        for (i, row) in rows.enumerated() {
            let rowPath = location.appending(i)
            guard let members = row.members else {
                issues.append(source.issue(at: rowPath, "expected {\"name\": ..., \"overrides\": {...}}, found \(row.foundDescription)"))
                continue
            }
            for (key, _) in members where key != "name" && key != "overrides" {
                issues.append(source.issue(at: rowPath.appending(key), Suggestion.unknownKeyMessage(key, siblings: ["name", "overrides"], schema: nil)))
            }
            guard let name = row["name"]?.stringValue, !name.trimmingWhitespace().isEmpty else {
                issues.append(source.issue(at: rowPath.appending("name"), "every variant needs a non-empty \"name\" string, found \(row["name"]?.foundDescription ?? "none")"))
                continue
            }
            if !seen.insert(name).inserted {
                issues.append(source.issue(at: rowPath.appending("name"), "variant name \"\(name)\" is used twice"))
            }
            var settings: [Setting] = []
            if let overrides = row["overrides"] {
                let overridesPath = rowPath.appending("overrides")
                if let pairs = overrides.members {
                    for (path, v) in pairs {
                        let origin = ValueOrigin(source: source, path: overridesPath.appending(path))
                        if let s = setting(path: path, value: v, origin: origin, issues: &issues) { settings.append(s) }
                    }
                } else {
                    issues.append(source.issue(at: overridesPath, "expected an object of {\"dotted.path\": value}, found \(overrides.foundDescription)"))
                }
            }
            variants.append(ExperimentVariant(name: name, settings: settings))
        }
        return variants
    }

    private static func parseAxes(_ value: JSONValue, section: String, source: SourceRef, issues: inout [ConfigIssue]) -> [SweepAxis] {
        let location: JSONPath = [.key(section)]
        guard let pairs = value.members else {
            issues.append(source.issue(at: location, "expected an object of {\"dotted.path\": [values...]}, found \(value.foundDescription)"))
            return []
        }
        var axes: [SweepAxis] = []
        for (path, list) in pairs {
            let axisPath = location.appending(path)
            guard let items = list.arrayValue else {
                issues.append(source.issue(at: axisPath, "expected an array of values to sweep, found \(list.foundDescription)"))
                continue
            }
            if items.isEmpty {
                issues.append(source.issue(at: axisPath, "an empty list leaves nothing to run; give at least one value"))
                continue
            }
            var settings: [Setting] = []
            var valid = true
            for (i, item) in items.enumerated() {
                if let s = setting(path: path, value: item, origin: ValueOrigin(source: source, path: axisPath.appending(i)), issues: &issues) {
                    settings.append(s)
                } else {
                    valid = false
                    if SchemaCheck.resolve(dotted: path, at: axisPath, source: source).isFailure { break }  // one unknown-key issue per axis
                }
            }
            // A zip list may repeat a value (its tuples with the other lists still differ); a grid axis may not.
            if section == "grid", let duplicate = firstDuplicate(items) {
                issues.append(source.issue(at: axisPath, "value \(duplicate.compactString) appears twice"))
                valid = false
            }
            if valid { axes.append(SweepAxis(keys: settings[0].keys, values: settings)) }
        }
        return axes
    }

    private static func firstDuplicate(_ items: [JSONValue]) -> JSONValue? {
        var seen: Set<String> = []
        for item in items where !seen.insert(item.canonicalString).inserted { return item }
        return nil
    }

    private static func parseSeeds(_ value: JSONValue, origin: ValueOrigin, issues: inout [ConfigIssue]) -> [Int]? {
        if case .number = value {
            guard let n = value.intValue, n >= 1, n <= 100_000 else {
                issues.append(origin.issue("expected a count of seeds (an integer from 1 to 100000) or a list of seeds, found \(value.foundDescription)"))
                return nil
            }
            return Array(0..<n)
        }
        guard let items = value.arrayValue, !items.isEmpty else {
            issues.append(origin.issue("expected a count of seeds or a non-empty list of integer seeds, found \(value.foundDescription)"))
            return nil
        }
        var seeds: [Int] = []
        for (i, item) in items.enumerated() {
            guard let s = item.intValue, s >= 0 else {
                issues.append(origin.appending([.index(i)]).issue("expected an integer seed >= 0, found \(item.foundDescription)"))
                return nil
            }
            if seeds.contains(s) {
                issues.append(origin.appending([.index(i)]).issue("seed \(s) appears twice"))
                return nil
            }
            seeds.append(s)
        }
        return seeds
    }

    private static func parseExcludes(_ value: JSONValue, variants: [String], source: SourceRef, issues: inout [ConfigIssue]) -> [ExcludeRule] {
        let location: JSONPath = [.key("exclude")]
        guard let rows = value.arrayValue else {
            issues.append(source.issue(at: location, "expected an array of {\"dotted.path\": value} objects, found \(value.foundDescription)"))
            return []
        }
        var rules: [ExcludeRule] = []
        for (i, row) in rows.enumerated() {
            let rowPath = location.appending(i)
            guard let pairs = row.members, !pairs.isEmpty else {
                issues.append(source.issue(at: rowPath, "expected a non-empty object of {\"dotted.path\": value}, found \(row.foundDescription)"))
                continue
            }
            var rule = ExcludeRule(entries: [], variant: nil, origin: ValueOrigin(source: source, path: rowPath))
            var valid = true
            for (path, v) in pairs {
                let origin = ValueOrigin(source: source, path: rowPath.appending(path))
                if path == "variant" {
                    if let name = v.stringValue, variants.contains(name) {
                        rule.variant = name
                    } else {
                        let near = v.stringValue.flatMap { Suggestion.closest(to: $0, among: variants) }.map { "; did you mean \"\($0)\"?" } ?? ""
                        issues.append(origin.issue("expected the name of a variant (\(variants.joined(separator: ", "))), found \(v.foundDescription)\(near)"))
                        valid = false
                    }
                } else if let s = setting(path: path, value: v, origin: origin, issues: &issues) {
                    rule.entries.append((keys: s.keys, value: v))
                } else {
                    valid = false
                }
            }
            if valid { rules.append(rule) }
        }
        return rules
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { return true } else { return false } }
}
