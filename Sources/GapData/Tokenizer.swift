import Foundation

/// Byte-level BPE. Two schemes share the code:
/// - `.gaplab`: trained here on the training captions; a word carries its leading space as a byte (GPT-2 style),
///   ids are 0 = pad, 1…256 = bytes, then merges, then sot = vocabSize-2 and eot = vocabSize-1;
/// - `.openCLIP`: open_clip's `bpe_simple_vocab_16e6.txt.gz` (256 bytes, 256 bytes + "</w>", 48,894 merges,
///   sot 49406, eot 49407; padding is 0 as in open_clip).
/// Text is lower-cased and its whitespace collapsed before encoding; eot always has the largest id, so
/// end-of-text (argmax) pooling finds it.
public final class Tokenizer: @unchecked Sendable {
    public enum Scheme: String, Codable, Sendable {
        case gaplab
        case openCLIP = "openclip"
    }

    public let scheme: Scheme
    public let vocabSize: Int
    /// Merges in rank order, each a pair of token strings.
    public let merges: [(String, String)]
    public let padToken: Int32 = 0
    public var sotToken: Int32 { Int32(vocabSize - 2) }
    public var eotToken: Int32 { Int32(vocabSize - 1) }

    let tokenStrings: [String]
    let encoder: [String: Int32]
    let mergeRank: [String: Int]
    private var cache: [String: [Int32]] = [:]
    private let lock = NSLock()

    static let endOfWord = "</w>"

    init(scheme: Scheme, vocabSize: Int, merges: [(String, String)]) throws {
        self.scheme = scheme
        self.merges = merges
        var strings: [String] = []
        switch scheme {
        case .gaplab:
            strings.append("<pad>")
            strings += ByteAlphabet.symbols
            strings += merges.map { $0.0 + $0.1 }
            guard strings.count <= vocabSize - 2 else {
                throw DataError.invalid("tokenizer has \(merges.count) merges, more than vocabulary size \(vocabSize) allows")
            }
            // Unused ids (when training ran out of pairs) stay reserved so that sot/eot keep the top ids.
            while strings.count < vocabSize - 2 { strings.append("<unused\(strings.count)>") }
        case .openCLIP:
            strings += ByteAlphabet.openCLIPOrder
            strings += ByteAlphabet.openCLIPOrder.map { $0 + Tokenizer.endOfWord }
            strings += merges.map { $0.0 + $0.1 }
            guard strings.count + 2 == vocabSize else {
                throw DataError.invalid("open_clip vocabulary has \(strings.count + 2) entries, expected \(vocabSize)")
            }
        }
        strings += ["<start_of_text>", "<end_of_text>"]
        self.vocabSize = vocabSize
        tokenStrings = strings
        var encoder: [String: Int32] = [:]
        for (i, s) in strings.enumerated() where encoder[s] == nil { encoder[s] = Int32(i) }
        self.encoder = encoder
        var ranks: [String: Int] = [:]
        for (i, m) in merges.enumerated() { ranks[m.0 + "\u{0}" + m.1] = i }
        mergeRank = ranks
    }

    // MARK: Text normalisation and pre-tokenisation

    /// Lower-case, whitespace runs to one space, trimmed.
    public static func clean(_ text: String) -> String {
        text.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Splits cleaned text into words: letter runs, single digits, runs of other symbols; open_clip also splits
    /// English contractions. In `.gaplab` a word keeps the single space before it.
    func words(_ cleaned: String) -> [String] {
        var result: [String] = []
        let scalars = Array(cleaned.unicodeScalars)
        var i = 0
        var pendingSpace = false
        func kind(_ s: Unicode.Scalar) -> Int {
            if s.properties.isAlphabetic { return 0 }
            if s.properties.numericType != nil { return 1 }
            return 2
        }
        while i < scalars.count {
            let s = scalars[i]
            if s == " " { pendingSpace = true; i += 1; continue }
            var j = i + 1
            if scheme == .openCLIP, s == "'" {
                let rest = String(String.UnicodeScalarView(scalars[i..<min(i + 3, scalars.count)]))
                if let c = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].first(where: { rest.hasPrefix($0) }) {
                    j = i + c.unicodeScalars.count
                    result.append(c)
                    i = j; pendingSpace = false
                    continue
                }
            }
            let k = kind(s)
            if k != 1 {
                while j < scalars.count, scalars[j] != " ", kind(scalars[j]) == k {
                    if scheme == .openCLIP, k == 2, scalars[j] == "'" { break }
                    j += 1
                }
            }
            var word = String(String.UnicodeScalarView(scalars[i..<j]))
            if scheme == .gaplab, pendingSpace, !result.isEmpty { word = " " + word }
            result.append(word)
            pendingSpace = false
            i = j
        }
        return result
    }

    /// The initial symbols of a word before merging.
    func symbols(of word: String) -> [String] {
        var symbols = word.utf8.map { ByteAlphabet.symbols[Int($0)] }
        if scheme == .openCLIP, !symbols.isEmpty { symbols[symbols.count - 1] += Tokenizer.endOfWord }
        return symbols
    }

    /// Applies merges lowest rank first, as the reference BPE.
    func bpe(_ word: String) -> [Int32] {
        var parts = symbols(of: word)
        while parts.count > 1 {
            var bestRank = Int.max, bestAt = -1
            for i in 0..<(parts.count - 1) {
                if let r = mergeRank[parts[i] + "\u{0}" + parts[i + 1]], r < bestRank { bestRank = r; bestAt = i }
            }
            if bestAt < 0 { break }
            let (a, b) = merges[bestRank]
            var merged: [String] = []
            var i = 0
            while i < parts.count {
                if i < parts.count - 1, parts[i] == a, parts[i + 1] == b { merged.append(a + b); i += 2 } else { merged.append(parts[i]); i += 1 }
            }
            parts = merged
        }
        return parts.map { encoder[$0]! }
    }

    // MARK: Encoding

    /// Token ids of `text` without sot/eot.
    public func tokens(_ text: String) -> [Int32] {
        var out: [Int32] = []
        for word in words(Tokenizer.clean(text)) {
            lock.lock()
            let cached = cache[word]
            lock.unlock()
            if let cached { out += cached; continue }
            let ids = bpe(word)
            lock.lock()
            if cache.count < 200_000 { cache[word] = ids }
            lock.unlock()
            out += ids
        }
        return out
    }

    /// [sot, tokens…, eot] padded with 0 to `contextLength`; a long text is cut and eot put in the last slot.
    public func encode(_ text: String, contextLength: Int) -> [Int32] {
        precondition(contextLength >= 2, "context length must hold sot and eot")
        var row = [sotToken] + tokens(text) + [eotToken]
        if row.count > contextLength {
            row = Array(row.prefix(contextLength))
            row[contextLength - 1] = eotToken
        }
        row += [Int32](repeating: padToken, count: contextLength - row.count)
        return row
    }

    /// Number of tokens with sot and eot, before truncation.
    public func tokenCount(_ text: String) -> Int { tokens(text).count + 2 }

    public func decode(_ ids: [Int32]) -> String {
        var text = ""
        for id in ids {
            if id == eotToken { break }
            if id == sotToken || (scheme == .gaplab && id == padToken) { continue }
            guard id >= 0, Int(id) < tokenStrings.count else { continue }
            text += tokenStrings[Int(id)]
        }
        if scheme == .openCLIP { text = text.replacingOccurrences(of: Tokenizer.endOfWord, with: ByteAlphabet.symbols[32]) }
        let bytes = text.unicodeScalars.compactMap { ByteAlphabet.byte(of: $0) }
        let decoded = String(decoding: bytes, as: UTF8.self)
        return scheme == .openCLIP ? decoded.trimmingCharacters(in: .whitespaces) : decoded
    }

    // MARK: Training

    /// Trains `.gaplab` BPE on `texts` until the vocabulary is full or no pair occurs twice. Deterministic: ties in
    /// pair frequency go to the pair whose symbols sort first.
    public static func train(on texts: [String], vocabSize: Int) throws -> Tokenizer {
        guard vocabSize >= 259 else { throw DataError.invalid("vocabulary size \(vocabSize) is too small for byte-level BPE (needs at least 259)") }
        let probe = try Tokenizer(scheme: .gaplab, vocabSize: vocabSize, merges: [])
        var wordCounts: [String: Int] = [:]
        for text in texts { for w in probe.words(clean(text)) { wordCounts[w, default: 0] += 1 } }
        let sortedWords = wordCounts.keys.sorted()
        let merges = BPETrainer.learn(words: sortedWords.map { probe.symbols(of: $0) }, counts: sortedWords.map { wordCounts[$0]! },
                                      mergeBudget: vocabSize - 2 - 257)
        return try Tokenizer(scheme: .gaplab, vocabSize: vocabSize, merges: merges)
    }

    // MARK: Persistence

    struct Stored: Codable {
        var scheme: Scheme
        var vocabSize: Int
        var merges: [String]
        enum CodingKeys: String, CodingKey { case scheme, vocabSize = "vocab_size", merges }
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(Stored(scheme: scheme, vocabSize: vocabSize, merges: merges.map { $0.0 + " " + $0.1 }))
    }

    public func save(to url: URL) throws { try jsonData().write(to: url, options: .atomic) }

    public static func load(from url: URL) throws -> Tokenizer {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw DataError.unreadable(url.path, "\(error.localizedDescription)") }
        return try load(json: data, source: url.path)
    }

    public static func load(json data: Data, source: String = "tokenizer JSON") throws -> Tokenizer {
        let stored: Stored
        do { stored = try JSONDecoder().decode(Stored.self, from: data) } catch {
            throw DataError.invalid("\(source): not a tokenizer file (expected keys scheme, vocab_size, merges): \(error)")
        }
        var merges: [(String, String)] = []
        for (i, m) in stored.merges.enumerated() {
            let parts = m.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw DataError.invalid("\(source): merges[\(i)] is \"\(m)\", expected two symbols separated by one space") }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return try Tokenizer(scheme: stored.scheme, vocabSize: stored.vocabSize, merges: merges)
    }

    /// open_clip's merges file (gzip or plain): the first line is a header, then "a b" merges; open_clip keeps the
    /// first 49152 − 256 − 2 of them.
    public static func loadOpenCLIPVocabulary(_ url: URL) throws -> Tokenizer {
        var data: Data
        do { data = try Data(contentsOf: url) } catch { throw DataError.unreadable(url.path, error.localizedDescription) }
        if data.starts(with: [0x1f, 0x8b]) { data = try Gzip.decompress(data, source: url.path) }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let wanted = 49152 - 256 - 2
        guard lines.count > wanted else {
            throw DataError.invalid("\(url.path): \(lines.count) lines, expected a header and at least \(wanted) merges")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(wanted)
        for (n, line) in lines[1...wanted].enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw DataError.invalid("\(url.path) line \(n + 2): expected two symbols, got \"\(line)\"") }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return try Tokenizer(scheme: .openCLIP, vocabSize: 256 * 2 + wanted + 2, merges: merges)
    }
}

/// GPT-2's reversible map from bytes to printable characters (the same table open_clip uses).
enum ByteAlphabet {
    static let codePoints: [UInt32] = {
        var printable = Array(UInt32(33)...126) + Array(UInt32(161)...172) + Array(UInt32(174)...255)
        var table = [UInt32](repeating: 0, count: 256)
        for b in printable { table[Int(b)] = b }
        var extra: UInt32 = 0
        for b in 0..<256 where !printable.contains(UInt32(b)) {
            table[b] = 256 + extra
            extra += 1
        }
        printable.removeAll()
        return table
    }()

    static let symbols: [String] = codePoints.map { String(Unicode.Scalar($0)!) }

    /// open_clip lists the byte symbols printable bytes first (33…126, 161…172, 174…255), then the rest: its ids
    /// follow that order.
    static let openCLIPOrder: [String] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        let rest = (0..<256).filter { !printable.contains($0) }
        return (printable + rest).map { symbols[$0] }
    }()

    static let reverse: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, c) in codePoints.enumerated() { map[c] = UInt8(b) }
        return map
    }()

    static func byte(of scalar: Unicode.Scalar) -> UInt8? { reverse[scalar.value] }
}
