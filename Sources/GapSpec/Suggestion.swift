/// "Did you mean" for unknown keys.
public enum Suggestion {
    /// Damerau–Levenshtein distance (optimal string alignment): insertions, deletions, substitutions and
    /// swaps of adjacent characters each cost 1, so `lr_sheduler` and `ebmed_dim` are one edit away.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let s = Array(a.lowercased()), t = Array(b.lowercased())
        if s.isEmpty { return t.count }
        if t.isEmpty { return s.count }
        var previous2 = [Int](repeating: 0, count: t.count + 1)
        var previous = Array(0...t.count)
        var row = [Int](repeating: 0, count: t.count + 1)
        for i in 1...s.count {
            row[0] = i
            for j in 1...t.count {
                let cost = s[i - 1] == t[j - 1] ? 0 : 1
                row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
                if i > 1 && j > 1 && s[i - 1] == t[j - 2] && s[i - 2] == t[j - 1] {
                    row[j] = min(row[j], previous2[j - 2] + 1)
                }
            }
            (previous2, previous, row) = (previous, row, previous2)
        }
        return previous[t.count]
    }

    /// The closest candidate, if it is close enough to be a plausible typo.
    public static func closest(to word: String, among candidates: [String]) -> String? {
        let limit = max(2, word.count / 3)
        var best: (String, Int)?
        for c in candidates {
            let d = editDistance(word, c)
            // d < word.count: a suggestion must keep something of the word ("c" is not a typo of "a").
            if d <= limit && d < word.count && d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        // A word that is a prefix or extension of a key ("batch" for "batch_size") is a likely slip as well.
        if best == nil, word.count >= 3 {
            best = candidates.first { $0.hasPrefix(word) || word.hasPrefix($0) }.map { ($0, 0) }
        }
        return best?.0
    }

    /// The message for an unknown key among `siblings`, with a suggestion from the siblings or, failing that,
    /// the full path of a key of that name elsewhere in `schema`.
    static func unknownKeyMessage(_ key: String, siblings: [String], schema: ConfigSchema?) -> String {
        var quotedKey = ""
        JSONValue.writeString(key, to: &quotedKey)
        if let near = closest(to: key, among: siblings) {
            return "unknown key \(quotedKey); did you mean \"\(near)\"?"
        }
        if let schema {
            let elsewhere = schema.allPaths().filter { $0.last == key }.map(DottedPath.join)
            if !elsewhere.isEmpty {
                return "unknown key \(quotedKey) here; did you mean \(elsewhere.map { "\"\($0)\"" }.joined(separator: " or "))?"
            }
        }
        let listed = siblings.isEmpty ? "none" : siblings.joined(separator: ", ")
        return "unknown key \(quotedKey); expected one of: \(listed)"
    }
}
