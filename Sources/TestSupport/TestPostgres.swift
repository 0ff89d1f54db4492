import Foundation

/// The real PostgreSQL server the tests use: scripts/test.sh starts one (scripts/tools/postgres.sh)
/// and exports its URL (no password) and PGPASSWORD. Each test takes a database of its own.
public enum TestPostgres {
    public static let variable = "SLMBENCH_TEST_POSTGRES"

    public static let missingMessage = """
        \(variable) is not set, and the PostgreSQL tests need a real server. scripts/test.sh starts one; \
        by hand: scripts/tools/postgres.sh start /tmp/slmbench-pg && set -a && . /tmp/slmbench-pg/env && set +a
        """

    /// The server's URL, or nil when the test environment has none (the test then fails with `missingMessage`).
    public static var serverURL: String? {
        ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A new, empty database on the test server; its URL (without a password).
    public static func freshDatabase(_ label: String = "t") throws -> String {
        guard let server = serverURL, var components = URLComponents(string: server), let host = components.host else {
            throw TestPostgresError(missingMessage)
        }
        let name = "\(label)_\(UUID().uuidString.prefix(8).lowercased())"
        let made = try runCommand(URL(fileURLWithPath: "/usr/bin/createdb"),
                                  ["-h", host, "-p", "\(components.port ?? 5432)", "-U", components.user ?? "slmbench", name])
        guard made.status == 0 else { throw TestPostgresError("createdb \(name): \(made.stderr)") }
        components.path = "/" + name
        return components.string!
    }

    /// Runs SQL with psql against a database URL; returns its unaligned, tuples-only output.
    public static func psql(_ url: String, _ sql: String) throws -> String {
        var components = URLComponents(string: url)!
        components.queryItems = nil // psql takes libpq's URL, but keep it plain
        let result = try runCommand(URL(fileURLWithPath: "/usr/bin/psql"), [components.string!, "-v", "ON_ERROR_STOP=1", "-tAc", sql])
        guard result.status == 0 else { throw TestPostgresError("psql: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
