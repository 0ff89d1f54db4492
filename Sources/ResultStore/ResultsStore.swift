import Foundation
import Measures

/// Where results are kept: a SQLite file (one machine) or a PostgreSQL database (a fleet). Both
/// have the same tables and migrations (docs/results.md); everything that reads or writes
/// results goes through this protocol, so `sweep`, `report`, `compare`, `history`, `recommend`
/// and the rest work on either.
public protocol ResultsStore: AnyObject, Sendable {
    /// The store as it may be printed: a path, or the PostgreSQL URL without its password.
    var location: String { get }
    func saveSweep(_ header: SweepHeader) throws(StoreError)
    func saveProfile(fingerprint: String, name: String, json: String) throws(StoreError)
    func saveModel(sha256: String, name: String, type: String, size: Int?, params: Int?, synthetic: Bool) throws(StoreError)
    /// Inserts runs not stored yet (by sweep and key); rows already present keep their
    /// measurements and take the given entries' flags. Returns how many were new.
    @discardableResult
    func save(_ runs: [StoredRun]) throws(StoreError) -> Int
    /// Runs matching every column filter (column → accepted values), in sweep and plan order.
    func fetchRuns(sweep: String?, filters: [String: [String]], kinds: [EntryKind]) throws(StoreError) -> [StoredRun]
    /// The stored sweeps; a sweep stored by several shards is one header whose `shard` lists them
    /// and whose `planned` is their sum.
    func sweeps() throws(StoreError) -> [SweepHeader]
    /// The stored hardware profile (JSON) with this fingerprint.
    func profileJSON(fingerprint: String) throws(StoreError) -> String?
    func sampleCount(sweep: String) throws(StoreError) -> Int
    /// The models stored by `saveModel`: SHA-256 → (name, type).
    func models() throws(StoreError) -> [String: (name: String, type: String)]
}

extension ResultsStore {
    public func runs(sweep: String? = nil, where filters: [String: [String]] = [:], kinds: [EntryKind] = [.run]) throws(StoreError) -> [StoredRun] {
        try fetchRuns(sweep: sweep, filters: filters, kinds: kinds)
    }
}

/// What both stores share: the columns a query may filter on, and how several shards' headers
/// read as one sweep.
enum StoreQuery {
    static let filterColumns: Set<String> = ["model", "model_type", "backend", "n_threads", "n_seq", "n_prompt", "n_gen", "n_depth",
                                             "kv_type", "placement", "status", "kind"]

    static func checkFilters(_ filters: [String: [String]]) throws(StoreError) {
        for column in filters.keys where !filterColumns.contains(column) {
            throw StoreError("cannot filter on '\(column)'; columns: \(filterColumns.sorted().joined(separator: ", "))")
        }
    }

    /// A stored entry with new flags and nothing else changed: a run stored once keeps its measurements.
    static func withFlags(_ flags: [String], storedEntry: String) throws -> String {
        var stored = try StoreJSON.decoder().decode(StoredRun.self, from: Data(storedEntry.utf8))
        stored.flags = flags
        return String(decoding: try StoreJSON.encoder().encode(stored), as: UTF8.self)
    }

    /// Migration v2's backfill, the same SQL in both stores: each sweep stored before v2 becomes its own part.
    static let sweepPartsFromSweeps = """
        INSERT INTO sweep_parts (sweep_id, part, planned, hostname, fingerprint, started_at)
        SELECT id, COALESCE(shard, 'all'), planned, hostname, fingerprint, started_at FROM sweeps
        """

    /// The key under which a part of a sweep (one shard, or the whole plan) is stored.
    static func part(_ header: SweepHeader) -> String { header.shard ?? "all" }

    /// One header for a sweep stored in parts: planned entries summed, shards and hosts listed.
    static func combine(_ header: SweepHeader, parts: [(part: String, planned: Int, hostname: String)]) -> SweepHeader {
        guard !parts.isEmpty else { return header }
        var combined = header
        let sorted = parts.sorted { $0.part.localizedStandardCompare($1.part) == .orderedAscending }
        combined.planned = sorted.reduce(0) { $0 + $1.planned }
        let shards = sorted.map(\.part).filter { $0 != "all" }
        combined.shard = shards.isEmpty ? nil : shards.joined(separator: ",")
        var hosts: [String] = []
        for p in sorted where !hosts.contains(p.hostname) { hosts.append(p.hostname) }
        combined.hostname = hosts.joined(separator: ",")
        return combined
    }
}

/// A `--store` value: a file path (SQLite) or a `postgres://` / `postgresql://` URL.
public enum StoreLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// The environment variable that names the store when `--store` is not given.
    public static let environmentVariable = "SLMBENCH_STORE"
    public static let defaultPath = "results/slmbench.sqlite"

    /// `--store` if given, else `$SLMBENCH_STORE`, else the default SQLite file.
    public static func resolve(_ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) -> StoreLocation {
        if let option { return try parse(option, environment: environment, source: "--store") }
        if let value = environment[environmentVariable], !value.isEmpty {
            return try parse(value, environment: environment, source: "$\(environmentVariable)")
        }
        return .sqlite(path: defaultPath)
    }

    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                             source: String = "--store") throws(StoreError) -> StoreLocation {
        let lower = text.lowercased()
        if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://") {
            return .postgres(try PostgresLocation(url: text, environment: environment, source: source))
        }
        if lower.contains("://") {
            throw StoreError("\(source): '\(text.prefix(while: { $0 != ":" }))://…' is not a store; give a SQLite file path or a postgres:// URL")
        }
        guard !text.isEmpty else { throw StoreError("\(source): empty; give a SQLite file path or a postgres:// URL") }
        return .sqlite(path: text)
    }

    /// The store as it may be printed (never with a password).
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let p): p.redacted
        }
    }

    /// Whether the store can hold results already: the SQLite file exists, or it is a server.
    public var mayHoldResults: Bool {
        switch self {
        case .sqlite(let path): FileManager.default.fileExists(atPath: path)
        case .postgres: true
        }
    }

    public func open() throws(StoreError) -> any ResultsStore {
        switch self {
        case .sqlite(let path): try SQLiteStore(path: path)
        case .postgres(let p):
            #if Postgres
            try PostgresStore(p)
            #else
            throw StoreError("--store \(p.redacted): this slmbench was built without the PostgreSQL store; build it with `swift build -c release --product slmbench --traits Postgres`")
            #endif
        }
    }
}

/// A PostgreSQL store's address, parsed from `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…]`.
/// A password missing from the URL comes from `$PGPASSWORD`; the user from `$PGUSER`. Neither is
/// ever printed or written to results.
public struct PostgresLocation: Sendable, Equatable {
    /// libpq's sslmode values: `prefer` and `require` encrypt without checking the certificate;
    /// `verify-ca` checks it against the system's roots, `verify-full` the host name too.
    public enum TLSMode: String, Sendable, Equatable { case disable, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full" }
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment, source: String = "--store") throws(StoreError) {
        // Scheme-only parsing would print the URL back on error; every message below names the part instead.
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw StoreError("\(source): not a postgres:// URL (expected postgres://USER@HOST:PORT/DATABASE)")
        }
        self.host = host
        self.port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw StoreError("\(source): port \(port) is out of range") }
        guard let user = components.user.flatMap({ $0.removingPercentEncoding }) ?? environment["PGUSER"], !user.isEmpty else {
            throw StoreError("\(source): no user; give postgres://USER@HOST/DATABASE or set PGUSER")
        }
        self.user = user
        password = components.password.flatMap { $0.removingPercentEncoding } ?? environment["PGPASSWORD"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? user : (path.removingPercentEncoding ?? path)
        guard !database.contains("/") else { throw StoreError("\(source): database name '\(database)' contains '/'") }
        tls = .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                let value = item.value ?? ""
                guard let mode = value == "allow" ? .prefer : TLSMode(rawValue: value) else {
                    throw StoreError("\(source): sslmode '\(value)' is not disable, prefer, require, verify-ca or verify-full")
                }
                tls = mode
            default:
                throw StoreError("\(source): unknown URL parameter '\(item.name)'; slmbench understands sslmode")
            }
        }
    }

    /// The URL without the password.
    public var redacted: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(h):\(port)/\(database)"
    }
}
