/// Expands an experiment into runs: base, then each variant's overrides, then one combination of the
/// sweep dimensions (grid axes as a Cartesian product, the zip group as one dimension, command-line sweeps),
/// then command-line settings, then the seed. Every run's configuration is validated and every issue is
/// reported against the place in the file (or the override) the offending value came from.
public enum ExperimentPlanner {
    /// More runs than this is a mistake in the file, not a sweep anyone means to run.
    public static let maxRuns = 100_000

    public static func plan(file: String, overrides: [String] = []) throws -> ExperimentPlan {
        var issues: [ConfigIssue] = []
        var spec: ExperimentSpec?
        do {
            spec = try ExperimentSpec.load(contentsOfFile: file)
        } catch let error as ConfigIssues {
            issues += error.issues
        }
        let parsed = parseOverrides(overrides, issues: &issues)
        guard let spec, issues.isEmpty else { throw ConfigIssues(issues) }
        return try expand(spec, overrides: parsed, overrideTexts: overrides)
    }

    /// Plan from text; `file` names it in messages and anchors `extends`.
    public static func plan(text: String, file: String, overrides: [String] = []) throws -> ExperimentPlan {
        var issues: [ConfigIssue] = []
        var spec: ExperimentSpec?
        do {
            spec = try ExperimentSpec.parse(text, file: file)
        } catch let error as ConfigIssues {
            issues += error.issues
        }
        let parsed = parseOverrides(overrides, issues: &issues)
        guard let spec, issues.isEmpty else { throw ConfigIssues(issues) }
        return try expand(spec, overrides: parsed, overrideTexts: overrides)
    }

    /// Command-line overrides checked against the schema.
    struct ParsedOverrides {
        var fixed: [Setting] = []
        var sweeps: [SweepAxis] = []
        var seeds: [Int]?
    }

    static func parseOverrides(_ texts: [String], issues: inout [ConfigIssue]) -> ParsedOverrides {
        var out = ParsedOverrides()
        let source = SourceRef(file: Override.sourceName)
        for text in texts {
            let override: Override
            do {
                override = try Override.parse(text)
            } catch let error as ConfigIssues {
                issues += error.issues
                continue
            } catch {
                issues.append(ConfigIssue(path: text, message: "\(error)", file: Override.sourceName))
                continue
            }
            var settings: [Setting] = []
            for (i, value) in override.values.enumerated() {
                let origin = ValueOrigin(source: source, path: override.isSweep ? [.index(i)] : .root, overrideText: text)
                if let s = ExperimentSpec.setting(path: override.path, value: value, origin: origin, issues: &issues) {
                    settings.append(s)
                }
            }
            guard settings.count == override.values.count else { continue }
            if settings[0].keys == ["seed"] {
                let seeds = settings.compactMap { $0.value.intValue }
                if seeds.contains(where: { $0 < 0 }) {
                    issues.append(ConfigIssue(path: "override \"\(text)\"", message: "seeds must be >= 0", file: Override.sourceName))
                }
                out.seeds = seeds
            } else if override.isSweep {
                out.sweeps.removeAll { $0.keys == settings[0].keys }
                out.sweeps.append(SweepAxis(keys: settings[0].keys, values: settings))
            } else {
                out.fixed.append(settings[0])
            }
        }
        return out
    }

    /// One sweep dimension: each choice is the settings it applies (several for the zip group).
    struct Dimension {
        var keys: [[String]]
        var choices: [[Setting]]
    }

    static func expand(_ spec: ExperimentSpec, overrides: ParsedOverrides, overrideTexts: [String]) throws -> ExperimentPlan {
        var warnings: [String] = []
        var issues: [ConfigIssue] = []
        let dimensions = sweepDimensions(spec, overrides: overrides, warnings: &warnings)
        let seeds = overrides.seeds ?? spec.seeds
        try checkRunCount(spec, dimensions: dimensions, seedCount: seeds?.count ?? 1)

        // The baseline is the first run of the expansion: the first variant with the first value of every
        // dimension. Every other run of a variant then differs from it in a swept value or the variant name.
        let firstChoices = dimensions.flatMap { $0.choices[0] }
        let baseline = resolveTree(spec.base + spec.variants[0].settings + firstChoices + overrides.fixed)
        let sweptKeys = dimensions.flatMap(\.keys)
        let labels = shortLabels(for: sweptKeys)

        var runs: [PlannedRun] = []
        var seenRunIDs: [String: String] = [:]
        var excludeHits = Array(repeating: 0, count: spec.excludes.count)
        var reportedIssues: Set<String> = []

        for variant in spec.variants {
            for combination in cartesian(dimensions.map(\.choices.count)) {
                let chosen = zip2(dimensions, combination).flatMap { $0.choices[$1] }
                let tree = resolveTree(spec.base + variant.settings + chosen + overrides.fixed)
                guard let config = try validatedConfig(tree, file: spec.file, issues: &issues, reported: &reportedIssues) else {
                    continue
                }
                var axes: [String: JSONValue] = [:]
                for setting in chosen { axes[setting.dottedPath] = setting.value }
                let shortName = self.shortName(variant: variant.name, tree: tree, baseline: baseline,
                                               sweptKeys: sweptKeys, labels: labels)

                for seed in seeds ?? [config.seed] {
                    var seeded = config
                    seeded.seed = seed
                    let json = try RunConfigResolver.json(of: seeded)
                    let identity = try RunIdentity(resolvedJSON: json, seed: seed)
                    let excludedBy = matchingExcludes(spec, variant: variant.name, json: json)
                    if !excludedBy.isEmpty {
                        for i in excludedBy { excludeHits[i] += 1 }
                        continue
                    }
                    if let first = seenRunIDs[identity.runID] {
                        warnings.append("\(shortName) seed \(seed) is the same run as \(first); planned once")
                        continue
                    }
                    seenRunIDs[identity.runID] = "\(shortName) seed \(seed)"
                    runs.append(PlannedRun(variant: variant.name, shortName: shortName, seed: seed, config: seeded,
                                           configJSON: json, configHash: identity.configHash, runID: identity.runID, axes: axes))
                }
            }
        }
        if !issues.isEmpty { throw ConfigIssues(issues) }
        for (i, hits) in excludeHits.enumerated() where hits == 0 {
            warnings.append("\(spec.excludes[i].origin.label) matches no run")
        }
        if runs.isEmpty {
            throw ConfigIssues([ConfigIssue(path: "exclude", message: "every combination is excluded; nothing to run", file: spec.file)])
        }
        return ExperimentPlan(name: spec.name, description: spec.description, sourceFile: spec.file,
                              overrides: overrideTexts, runs: runs, warnings: warnings)
    }

    /// The sweep dimensions in expansion order: grid axes, the zip group as one dimension, command-line
    /// sweeps. A command-line setting or sweep takes the place of the file's axes on the same keys.
    private static func sweepDimensions(_ spec: ExperimentSpec, overrides: ParsedOverrides, warnings: inout [String]) -> [Dimension] {
        let commandLineKeys = overrides.fixed.map(\.keys) + overrides.sweeps.map(\.keys)
        func overridden(_ keys: [String]) -> [String]? {
            commandLineKeys.first { DottedPath.isPrefix($0, of: keys) }
        }
        var dimensions: [Dimension] = []
        for axis in spec.grid {
            if let by = overridden(axis.keys) {
                warnings.append("grid axis \(axis.dottedPath) is replaced by the command-line override of \(DottedPath.join(by))")
                continue
            }
            dimensions.append(Dimension(keys: [axis.keys], choices: axis.values.map { [$0] }))
        }
        let zip = spec.zip.filter { axis in
            guard let by = overridden(axis.keys) else { return true }
            warnings.append("zip key \(axis.dottedPath) is replaced by the command-line override of \(DottedPath.join(by))")
            return false
        }
        if let length = zip.first?.values.count {
            dimensions.append(Dimension(keys: zip.map(\.keys), choices: (0..<length).map { i in zip.map { $0.values[i] } }))
        }
        for axis in overrides.sweeps {
            dimensions.append(Dimension(keys: [axis.keys], choices: axis.values.map { [$0] }))
        }
        return dimensions
    }

    /// Refuses an expansion larger than `maxRuns` before any run is resolved; the count saturates
    /// instead of overflowing, so an absurd file is reported rather than crashing.
    private static func checkRunCount(_ spec: ExperimentSpec, dimensions: [Dimension], seedCount: Int) throws {
        var total = spec.variants.count
        for factor in dimensions.map(\.choices.count) + [seedCount] {
            let (product, overflow) = total.multipliedReportingOverflow(by: factor)
            total = overflow ? Int.max : product
        }
        if total > maxRuns {
            throw ConfigIssues([ConfigIssue(path: "", message: "the experiment expands to \(total == Int.max ? "too many" : String(total)) runs, more than the limit of \(maxRuns)", file: spec.file)])
        }
    }

    /// The run configuration a resolved tree decodes to, or nil with its issues recorded. Each issue is
    /// recorded once: a mistake in the base would otherwise be repeated for every run of the expansion.
    private static func validatedConfig(_ tree: ResolvedTree, file: String, issues: inout [ConfigIssue],
                                        reported: inout Set<String>) throws -> RunConfig? {
        let config: RunConfig
        do {
            config = try RunConfigResolver.decode(merged: tree.merged, source: SourceRef(file: file))
        } catch let error as ConfigIssues {
            for issue in error.issues where reported.insert(issue.description).inserted { issues.append(issue) }
            return nil
        }
        let rangeIssues = config.issues().map { locate($0, applied: tree.applied, file: file) }
        if !rangeIssues.isEmpty {
            for issue in rangeIssues where reported.insert(issue.description).inserted { issues.append(issue) }
            return nil
        }
        return config
    }

    /// A run's short name: the variant, then `label=value` for each swept key whose value differs from
    /// the baseline's.
    private static func shortName(variant: String, tree: ResolvedTree, baseline: ResolvedTree,
                                  sweptKeys: [[String]], labels: [[String]: String]) -> String {
        var nameParts = [variant]
        for keys in sweptKeys {
            let mine = tree.merged.value(at: JSONPath(keys: keys))
            if mine != baseline.merged.value(at: JSONPath(keys: keys)), let mine {
                nameParts.append("\(labels[keys]!)=\(display(mine))")
            }
        }
        return nameParts.joined(separator: " ")
    }

    /// The indices of the exclude rules that drop a run of `variant` with this resolved configuration.
    private static func matchingExcludes(_ spec: ExperimentSpec, variant: String, json: JSONValue) -> [Int] {
        spec.excludes.indices.filter { i in
            let rule = spec.excludes[i]
            return (rule.variant == nil || rule.variant == variant)
                && rule.entries.allSatisfy { json.value(at: JSONPath(keys: $0.keys)) == $0.value }
        }
    }

    /// The user's settings applied in order (a setting replaces whatever earlier ones put under its path),
    /// merged over the defaults, with the origin of every leaf that was set.
    struct ResolvedTree {
        var merged: JSONValue
        var applied: [(keys: [String], origin: ValueOrigin)]
    }

    static func resolveTree(_ settings: [Setting]) -> ResolvedTree {
        var user = JSONValue.object([])
        var applied: [(keys: [String], origin: ValueOrigin)] = []
        for setting in settings {
            user = user.setting(keys: setting.keys, to: setting.value)
            applied.removeAll { DottedPath.isPrefix(setting.keys, of: $0.keys) }
            let leaves = ExperimentSpec.leafSettings(setting.value, origin: setting.origin, keys: setting.keys)
            if leaves.isEmpty {
                applied.append((setting.keys, setting.origin))
            } else {
                applied += leaves.map { ($0.keys, $0.origin) }
            }
        }
        return ResolvedTree(merged: RunConfigResolver.defaults.merging(user), applied: applied)
    }

    /// Attribute a range issue (located by configuration path) to the setting that put the value there:
    /// the last setting at that path or above it, else the last one below it. Values left at their
    /// defaults are named by configuration path.
    static func locate(_ issue: ConfigIssue, applied: [(keys: [String], origin: ValueOrigin)], file: String) -> ConfigIssue {
        let keyPart = String(issue.path.prefix { $0 != "[" })
        let indexPart = issue.path.dropFirst(keyPart.count)
        let keys = DottedPath.split(keyPart) ?? []
        let match = applied.last { DottedPath.isPrefix($0.keys, of: keys) } ?? applied.last { DottedPath.isPrefix(keys, of: $0.keys) }
        guard let match else {
            return ConfigIssue(path: issue.path, message: issue.message, file: file)
        }
        var origin = match.origin
        if match.keys == keys, let index = Int(indexPart.dropFirst().dropLast()), indexPart.hasPrefix("["), indexPart.hasSuffix("]") {
            origin = origin.appending([.index(index)])
        }
        let message = match.keys == keys ? issue.message : "\(issue.path): \(issue.message)"
        return origin.issue(message)
    }

    /// Every combination of indices, last dimension fastest; one empty combination when there are none.
    static func cartesian(_ counts: [Int]) -> [[Int]] {
        var result: [[Int]] = [[]]
        for count in counts {
            result = result.flatMap { prefix in (0..<count).map { prefix + [$0] } }
        }
        return result
    }

    private static func zip2<A, B>(_ a: [A], _ b: [B]) -> [(A, B)] { Array(zip(a, b)) }

    /// The shortest trailing part of each swept key that tells it apart from the others:
    /// `depth` for model.sharing.depth, but `train.lr` and `finetune.lr` when both are swept.
    static func shortLabels(for keys: [[String]]) -> [[String]: String] {
        var lengths = Array(repeating: 1, count: keys.count)
        func label(_ i: Int) -> String { DottedPath.join(Array(keys[i].suffix(lengths[i]))) }
        while true {
            var byLabel: [String: [Int]] = [:]
            for i in keys.indices { byLabel[label(i), default: []].append(i) }
            let clashing = byLabel.values.filter { $0.count > 1 }.flatMap { $0 }.filter { lengths[$0] < keys[$0].count }
            if clashing.isEmpty { break }
            for i in clashing { lengths[i] += 1 }
        }
        var out: [[String]: String] = [:]
        for i in keys.indices { out[keys[i]] = label(i) }
        return out
    }

    /// A value as it reads in a short name: bare strings and numbers, compact JSON otherwise.
    static func display(_ value: JSONValue) -> String {
        if let s = value.stringValue, !s.isEmpty, !s.contains(where: { $0.isWhitespace || $0 == "=" || $0 == "\"" }) { return s }
        return value.canonicalString
    }
}
