import Foundation
import GapStore
import PostgresNIO

/// A value bound to a `$n` parameter.
enum Bind: Sendable {
    case text(String?), int(Int?), double(Double?)
    case texts([String]), ints([Int]), doubles([Double])

    func append(to bindings: inout PostgresBindings) {
        switch self {
        case .text(let value): bindings.append(value)
        case .int(let value): bindings.append(value)
        case .double(let value): bindings.append(value)
        case .texts(let values): bindings.append(values)
        case .ints(let values): bindings.append(values)
        case .doubles(let values): bindings.append(values)
        }
    }
}

/// The statements of one transaction on one connection.
struct Transaction: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    private func query(_ sql: String, _ binds: [Bind]) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds { bind.append(to: &bindings) }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    func rows(_ sql: String, _ binds: [Bind] = []) async throws -> [Row] {
        try await connection.query(query(sql, binds), logger: logger).collect().map { Row(cells: $0.makeRandomAccess()) }
    }

    func execute(_ sql: String, _ binds: [Bind] = []) async throws {
        _ = try await connection.query(query(sql, binds), logger: logger).collect()
    }
}

/// One result row, read by column name; a missing or mistyped column is an error naming it.
struct Row {
    let cells: PostgresRandomAccessRow

    private func decode<T: PostgresDecodable>(_ column: String, _ type: T.Type) throws -> T {
        guard cells.contains(column) else { throw StoreError.invalid("PostgreSQL store: no column '\(column)' in the result") }
        do {
            return try cells[column].decode(T.self)
        } catch {
            throw StoreError.invalid("PostgreSQL store: column '\(column)' is not a \(T.self): \(error)")
        }
    }

    func string(_ column: String) throws -> String { try decode(column, String.self) }
    func int(_ column: String) throws -> Int { try decode(column, Int.self) }
    func double(_ column: String) throws -> Double { try decode(column, Double.self) }
    func optionalString(_ column: String) throws -> String? { try decode(column, String?.self) }
    func optionalInt(_ column: String) throws -> Int? { try decode(column, Int?.self) }
    func optionalDouble(_ column: String) throws -> Double? { try decode(column, Double?.self) }
    func optionalDate(_ column: String) throws -> Date? { try optionalDouble(column).map(Date.init(timeIntervalSince1970:)) }
}
