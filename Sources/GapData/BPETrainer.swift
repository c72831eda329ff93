/// Byte-level BPE training with incremental pair counts: after each merge only the words that contained the merged
/// pair are recounted, so large caption sets with many distinct words train in seconds rather than minutes.
/// Deterministic: the most frequent pair wins; ties go to the pair whose symbols sort first (as strings).
struct BPETrainer {
    /// Merges (as symbol strings) learnt from `words` (each a list of initial symbols) with their counts.
    static func learn(words initial: [[String]], counts: [Int], mergeBudget: Int) -> [(String, String)] {
        var symbolText: [String] = []
        var symbolID: [String: Int32] = [:]
        func id(_ s: String) -> Int32 {
            if let i = symbolID[s] { return i }
            let i = Int32(symbolText.count)
            symbolText.append(s)
            symbolID[s] = i
            return i
        }
        var words: [[Int32]] = initial.map { $0.map(id) }
        @inline(__always) func key(_ a: Int32, _ b: Int32) -> Int64 { Int64(a) << 32 | Int64(UInt32(bitPattern: b)) }

        var pairCounts: [Int64: Int] = [:]
        var pairWords: [Int64: Set<Int>] = [:]
        for (w, symbols) in words.enumerated() where symbols.count > 1 {
            for i in 0..<(symbols.count - 1) {
                let k = key(symbols[i], symbols[i + 1])
                pairCounts[k, default: 0] += counts[w]
                pairWords[k, default: []].insert(w)
            }
        }

        var merges: [(String, String)] = []
        while merges.count < mergeBudget {
            var bestKey: Int64 = 0, bestCount = 0
            for (k, c) in pairCounts {
                if c > bestCount || (c == bestCount && c > 0 && precedes(k, bestKey, symbolText)) { bestKey = k; bestCount = c }
            }
            guard bestCount >= 2 else { break }
            let a = Int32(truncatingIfNeeded: bestKey >> 32), b = Int32(truncatingIfNeeded: bestKey & 0xFFFF_FFFF)
            let merged = id(symbolText[Int(a)] + symbolText[Int(b)])
            merges.append((symbolText[Int(a)], symbolText[Int(b)]))
            for w in (pairWords[bestKey] ?? []).sorted() {
                let old = words[w]
                guard old.count > 1 else { continue }
                var new: [Int32] = []
                new.reserveCapacity(old.count)
                var i = 0
                var changed = false
                while i < old.count {
                    if i < old.count - 1, old[i] == a, old[i + 1] == b { new.append(merged); i += 2; changed = true } else { new.append(old[i]); i += 1 }
                }
                guard changed else { continue }
                for j in 0..<(old.count - 1) {
                    let k = key(old[j], old[j + 1])
                    let c = pairCounts[k, default: 0] - counts[w]
                    if c <= 0 { pairCounts[k] = nil } else { pairCounts[k] = c }
                }
                if new.count > 1 {
                    for j in 0..<(new.count - 1) {
                        let k = key(new[j], new[j + 1])
                        pairCounts[k, default: 0] += counts[w]
                        pairWords[k, default: []].insert(w)
                    }
                }
                words[w] = new
            }
            pairWords[bestKey] = nil
        }
        return merges
    }

    /// Whether pair `x` sorts before pair `y` by (first symbol, second symbol) as strings.
    static func precedes(_ x: Int64, _ y: Int64, _ text: [String]) -> Bool {
        let xa = text[Int(x >> 32)], ya = text[Int(y >> 32)]
        if xa != ya { return xa < ya }
        return text[Int(x & 0xFFFF_FFFF)] < text[Int(y & 0xFFFF_FFFF)]
    }
}
