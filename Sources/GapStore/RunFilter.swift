import Foundation

/// A `--where` expression over a run's fields, parameters and metric summaries, e.g.
/// `params.loss.imsep_weight >= 0.5 and metrics.alignment > 0.5 or variant in ('clip', 'shared')`.
///
/// Grammar: `or` of `and` of [`not`] terms; a term is `( expr )`, `operand OP operand` with OP one of
/// `= == != < <= > >=`, or `operand [not] in (literal, ...)`. Operands are `params.<dotted.key>`,
/// `metrics.<key>` (final value; `.final`, `.best` or `.best_step` may follow), a run field
/// (`run_id status experiment variant short_name seed attempts config_hash code_version`), a number,
/// a quoted string or `true`/`false`.
///
/// A comparison that involves a missing value (or values of different kinds) is unknown rather than an
/// error; `and`, `or` and `not` follow SQL's three-valued logic, and a run matches only when the whole
/// expression is true.
public struct RunFilter: Equatable, Sendable {
    public let source: String
    let root: Node

    public init(_ source: String) throws {
        self.source = source
        var parser = Parser(tokens: try Lexer.tokens(source), source: source)
        root = try parser.parseExpression()
        if let token = parser.peek {
            throw RunFilterError(source: source, position: token.position, message: "unexpected \(token.text)")
        }
    }

    /// The facts a filter sees about one run.
    public struct Subject {
        public var run: RunRecord
        public var params: [String: ParamValue]
        public var summaries: [MetricSummary]

        public init(run: RunRecord, params: [String: ParamValue], summaries: [MetricSummary]) {
            self.run = run
            self.params = params
            self.summaries = summaries
        }
    }

    public func matches(_ subject: Subject) -> Bool {
        Self.evaluate(root, subject) == true
    }

    // MARK: Syntax tree

    indirect enum Node: Equatable, Sendable {
        case or(Node, Node)
        case and(Node, Node)
        case not(Node)
        case compare(Operand, ComparisonOperator, Operand)
        case member(Operand, [Literal], negated: Bool)
    }

    enum Operand: Equatable, Sendable {
        case field(String)
        case param(String)
        case metric(String)
        case literal(Literal)
    }

    enum Literal: Equatable, Sendable {
        case number(Double)
        case string(String)
        case bool(Bool)
    }

    enum ComparisonOperator: String, Sendable {
        case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    }

    static let runFields: Set<String> = ["run_id", "status", "experiment", "variant", "short_name", "seed",
                                         "attempts", "config_hash", "code_version", "worker"]

    // MARK: Evaluation (nil = unknown)

    static func evaluate(_ node: Node, _ subject: Subject) -> Bool? {
        switch node {
        case .or(let left, let right):
            let (l, r) = (evaluate(left, subject), evaluate(right, subject))
            if l == true || r == true { return true }
            if l == nil || r == nil { return nil }
            return false
        case .and(let left, let right):
            let (l, r) = (evaluate(left, subject), evaluate(right, subject))
            if l == false || r == false { return false }
            if l == nil || r == nil { return nil }
            return true
        case .not(let inner):
            return evaluate(inner, subject).map { !$0 }
        case .compare(let left, let op, let right):
            guard let l = value(left, subject), let r = value(right, subject) else { return nil }
            return compare(l, op, r)
        case .member(let operand, let list, let negated):
            guard let v = value(operand, subject) else { return nil }
            var anyUnknown = false
            for literal in list {
                switch compare(v, .equal, literal) {
                case true?: return !negated
                case nil: anyUnknown = true
                case false?: break
                }
            }
            return anyUnknown ? nil : negated
        }
    }

    static func compare(_ left: Literal, _ op: ComparisonOperator, _ right: Literal) -> Bool? {
        let ordering: ComparisonResult
        switch (left, right) {
        case (.number(let a), .number(let b)):
            if a.isNaN || b.isNaN { return nil }
            ordering = a < b ? .orderedAscending : (a > b ? .orderedDescending : .orderedSame)
        case (.string(let a), .string(let b)):
            ordering = a < b ? .orderedAscending : (a > b ? .orderedDescending : .orderedSame)
        case (.bool(let a), .bool(let b)):
            guard op == .equal || op == .notEqual else { return nil }
            ordering = a == b ? .orderedSame : .orderedAscending
        default:
            return nil
        }
        switch op {
        case .equal: return ordering == .orderedSame
        case .notEqual: return ordering != .orderedSame
        case .less: return ordering == .orderedAscending
        case .lessOrEqual: return ordering != .orderedDescending
        case .greater: return ordering == .orderedDescending
        case .greaterOrEqual: return ordering != .orderedAscending
        }
    }

    static func value(_ operand: Operand, _ subject: Subject) -> Literal? {
        switch operand {
        case .literal(let literal):
            return literal
        case .param(let key):
            switch subject.params[key] {
            case .int(let v)?: return .number(Double(v))
            case .double(let v)?: return .number(v)
            case .string(let v)?: return .string(v)
            case .bool(let v)?: return .bool(v)
            case nil: return nil
            }
        case .metric(let path):
            if let summary = subject.summaries.first(where: { $0.key == path }) { return .number(summary.finalValue) }
            for (suffix, pick) in [(".final", { (s: MetricSummary) in s.finalValue }),
                                   (".best", { (s: MetricSummary) in s.bestValue }),
                                   (".best_step", { (s: MetricSummary) in Double(s.bestStep) })] where path.hasSuffix(suffix) {
                let key = String(path.dropLast(suffix.count))
                if let summary = subject.summaries.first(where: { $0.key == key }) { return .number(pick(summary)) }
            }
            return nil
        case .field(let name):
            let run = subject.run
            switch name {
            case "run_id": return .string(run.runID)
            case "status": return .string(run.status.rawValue)
            case "experiment": return .string(run.experiment)
            case "variant": return .string(run.variant)
            case "short_name": return .string(run.shortName)
            case "seed": return .number(Double(run.seed))
            case "attempts": return .number(Double(run.attempts))
            case "config_hash": return .string(run.configHash)
            case "code_version": return run.codeVersion.map(Literal.string)
            case "worker": return run.worker.map(Literal.string)
            default: return nil
            }
        }
    }

    // MARK: Lexer

    struct Token: Equatable {
        enum Kind: Equatable { case identifier, number, string, symbol, end }
        var kind: Kind
        var text: String
        var position: Int
    }

    enum Lexer {
        static func tokens(_ source: String) throws -> [Token] {
            let chars = Array(source)
            var tokens: [Token] = []
            var index = 0
            func error(_ message: String, at position: Int) -> RunFilterError {
                RunFilterError(source: source, position: position, message: message)
            }
            while index < chars.count {
                let c = chars[index]
                if c.isWhitespace { index += 1; continue }
                let start = index
                if c.isLetter || c == "_" {
                    while index < chars.count, chars[index].isLetter || chars[index].isNumber || "_.-/".contains(chars[index]) {
                        index += 1
                    }
                    tokens.append(Token(kind: .identifier, text: String(chars[start..<index]), position: start))
                } else if c.isNumber || ((c == "-" || c == "." || c == "+") && index + 1 < chars.count
                                            && (chars[index + 1].isNumber || chars[index + 1] == ".")) {
                    index += 1
                    while index < chars.count, chars[index].isNumber || chars[index] == "." || chars[index] == "e"
                            || chars[index] == "E" || ((chars[index] == "-" || chars[index] == "+")
                                                       && (chars[index - 1] == "e" || chars[index - 1] == "E")) {
                        index += 1
                    }
                    let text = String(chars[start..<index])
                    guard Double(text) != nil else { throw error("'\(text)' is not a number", at: start) }
                    tokens.append(Token(kind: .number, text: text, position: start))
                } else if c == "'" || c == "\"" {
                    index += 1
                    var text = ""
                    while index < chars.count, chars[index] != c {
                        if chars[index] == "\\", index + 1 < chars.count { index += 1 }
                        text.append(chars[index])
                        index += 1
                    }
                    guard index < chars.count else { throw error("unterminated string", at: start) }
                    index += 1
                    tokens.append(Token(kind: .string, text: text, position: start))
                } else {
                    let two = index + 1 < chars.count ? String(chars[index...index + 1]) : ""
                    if ["<=", ">=", "!=", "==", "<>"].contains(two) {
                        tokens.append(Token(kind: .symbol, text: two == "<>" ? "!=" : (two == "==" ? "=" : two), position: start))
                        index += 2
                    } else if "()<>=,".contains(c) {
                        tokens.append(Token(kind: .symbol, text: String(c), position: start))
                        index += 1
                    } else {
                        throw error("unexpected character '\(c)'", at: start)
                    }
                }
            }
            return tokens
        }
    }

    // MARK: Parser

    struct Parser {
        var tokens: [Token]
        var source: String
        var index = 0

        var peek: Token? { index < tokens.count ? tokens[index] : nil }

        func error(_ message: String) -> RunFilterError {
            RunFilterError(source: source, position: peek?.position ?? source.count, message: message)
        }

        func isKeyword(_ word: String) -> Bool {
            peek?.kind == .identifier && peek?.text.lowercased() == word
        }

        mutating func advance() -> Token {
            defer { index += 1 }
            return tokens[index]
        }

        mutating func expectSymbol(_ symbol: String) throws {
            guard peek?.kind == .symbol, peek?.text == symbol else {
                throw error("expected '\(symbol)'\(peek.map { " but found '\($0.text)'" } ?? " at the end")")
            }
            index += 1
        }

        mutating func parseExpression() throws -> Node {
            guard peek != nil else { throw error("empty expression") }
            var node = try parseAnd()
            while isKeyword("or") {
                index += 1
                node = .or(node, try parseAnd())
            }
            return node
        }

        mutating func parseAnd() throws -> Node {
            var node = try parseNot()
            while isKeyword("and") {
                index += 1
                node = .and(node, try parseNot())
            }
            return node
        }

        mutating func parseNot() throws -> Node {
            if isKeyword("not") {
                index += 1
                return .not(try parseNot())
            }
            if peek?.kind == .symbol, peek?.text == "(" {
                index += 1
                let inner = try parseExpression()
                try expectSymbol(")")
                return inner
            }
            return try parseComparison()
        }

        mutating func parseComparison() throws -> Node {
            let left = try parseOperand()
            if isKeyword("in") || isKeyword("not") {
                let negated = isKeyword("not")
                index += 1
                if negated {
                    guard isKeyword("in") else { throw error("expected 'in' after 'not'") }
                    index += 1
                }
                try expectSymbol("(")
                var list: [Literal] = []
                repeat {
                    if !list.isEmpty { index += 1 }
                    guard case .literal(let literal) = try parseOperand() else {
                        throw error("a list after 'in' holds numbers, strings or true/false")
                    }
                    list.append(literal)
                } while peek?.kind == .symbol && peek?.text == ","
                try expectSymbol(")")
                return .member(left, list, negated: negated)
            }
            guard let token = peek, token.kind == .symbol, let op = ComparisonOperator(rawValue: token.text) else {
                throw error("expected a comparison (=, !=, <, <=, >, >=, in) after the operand")
            }
            index += 1
            return .compare(left, op, try parseOperand())
        }

        mutating func parseOperand() throws -> Operand {
            guard let token = peek else { throw error("expected a value at the end") }
            switch token.kind {
            case .number:
                index += 1
                return .literal(.number(Double(token.text)!))
            case .string:
                index += 1
                return .literal(.string(token.text))
            case .identifier:
                index += 1
                let lower = token.text.lowercased()
                if lower == "true" || lower == "false" { return .literal(.bool(lower == "true")) }
                if token.text.hasPrefix("params."), token.text.count > 7 { return .param(String(token.text.dropFirst(7))) }
                if token.text.hasPrefix("metrics."), token.text.count > 8 { return .metric(String(token.text.dropFirst(8))) }
                if RunFilter.runFields.contains(token.text) { return .field(token.text) }
                index -= 1
                throw error("unknown name '\(token.text)': use params.<key>, metrics.<key> or one of "
                            + RunFilter.runFields.sorted().joined(separator: ", "))
            default:
                throw error("expected a value but found '\(token.text)'")
            }
        }
    }
}

public struct RunFilterError: Error, CustomStringConvertible, Equatable {
    public var source: String
    /// Character offset of the problem in `source`.
    public var position: Int
    public var message: String

    public var description: String {
        "invalid --where expression at character \(position + 1): \(message)\n  \(source)\n  \(String(repeating: " ", count: position))^"
    }
}
