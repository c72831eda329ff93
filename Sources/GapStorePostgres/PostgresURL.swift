import Foundation
import GapStore

/// A PostgreSQL store's address, `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=MODE]`, as libpq reads
/// it. The password comes from the URL, else `PGPASSWORD`, else the password file (`PGPASSFILE` or
/// `~/.pgpass`); it is never part of `locator` or `description`, so it is never printed or recorded.
public struct PostgresURL: Equatable, Sendable, CustomStringConvertible {
    public enum TLSMode: String, CaseIterable, Sendable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca", verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tls: TLSMode
    /// Root certificates for `verify-ca` / `verify-full` (`sslrootcert`); the system's when nil.
    public var rootCertificate: String?
    var urlPassword: String?

    public static func isPostgres(_ locator: String) -> Bool {
        locator.hasPrefix("postgresql://") || locator.hasPrefix("postgres://")
    }

    public init(parsing text: String) throws {
        guard Self.isPostgres(text), let components = URLComponents(string: text) else {
            throw StoreError.invalid("'\(StoreLocation.redactingPasswords(text))' is not a PostgreSQL URL; expected postgresql://USER@HOST:PORT/DB")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError.invalid("PostgreSQL URL '\(StoreLocation.redactingPasswords(text))' has no host; expected postgresql://USER@HOST:PORT/DB")
        }
        self.host = host
        port = components.port ?? 5432
        user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? ProcessInfo.processInfo.environment["PGUSER"] ?? "postgres"
        urlPassword = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        let path = String(components.path.drop(while: { $0 == "/" }))
        database = path.isEmpty ? user : (path.removingPercentEncoding ?? path)
        tls = .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw StoreError.invalid("PostgreSQL URL '\(StoreLocation.redactingPasswords(text))': sslmode '\(item.value ?? "")' is not one of "
                                             + TLSMode.allCases.map(\.rawValue).joined(separator: ", "))
                }
                tls = mode
            case "sslrootcert": rootCertificate = item.value
            case "application_name", "connect_timeout": break
            default:
                throw StoreError.invalid("PostgreSQL URL '\(StoreLocation.redactingPasswords(text))': unknown parameter '\(item.name)'; "
                                         + "expected sslmode, sslrootcert, application_name or connect_timeout")
            }
        }
    }

    /// The URL without its password: what child processes receive and what is printed.
    public var locator: String {
        var components = URLComponents()
        components.scheme = "postgresql"
        components.user = user
        components.host = host
        components.port = port
        components.path = "/" + database
        var items: [URLQueryItem] = []
        if tls != .prefer { items.append(URLQueryItem(name: "sslmode", value: tls.rawValue)) }
        if let rootCertificate { items.append(URLQueryItem(name: "sslrootcert", value: rootCertificate)) }
        if !items.isEmpty { components.queryItems = items }
        return components.string ?? "postgresql://\(user)@\(host):\(port)/\(database)"
    }

    public var description: String { locator }

    /// The password to authenticate with: the URL's, else `PGPASSWORD`, else the first matching password-file line.
    public func password(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let urlPassword { return urlPassword }
        if let password = environment["PGPASSWORD"] { return password }
        let file = environment["PGPASSFILE"] ?? (environment["HOME"].map { $0 + "/.pgpass" } ?? "")
        guard !file.isEmpty, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        return Self.passwordFileMatch(text, host: host, port: port, database: database, user: user)
    }

    /// libpq's password file: `hostname:port:database:username:password` lines, `*` matching anything, `\:` and
    /// `\\` escaping, `#` comments.
    static func passwordFileMatch(_ text: String, host: String, port: Int, database: String, user: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            var fields: [String] = [], field = "", escaped = false
            for character in line {
                if escaped { field.append(character); escaped = false }
                else if character == "\\" { escaped = true }
                else if character == ":" && fields.count < 4 { fields.append(field); field = "" }
                else { field.append(character) }
            }
            fields.append(field)
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }
}
