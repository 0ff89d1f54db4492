#if Postgres
import Foundation
import Measures
import PostgresNIO

/// Results in PostgreSQL, for a fleet of devices writing into one database: the same tables and
/// migrations as `SQLiteStore` (docs/results.md), through postgres-nio.
///
/// Many processes may write at once. Every write is one transaction and idempotent (runs are
/// unique by sweep and key; a run already stored keeps its measurements), so a shard run twice
/// stores nothing twice. When the server goes away — a restart, a failover, a dropped link — the
/// store reconnects and repeats the transaction, for up to `retrySeconds`
/// (`$SLMBENCH_STORE_RETRY_SECONDS`, default 120), and says so on standard error. Errors the
/// server reports about the statement itself (a constraint, a permission) are not retried.
///
/// The API is synchronous: the sweep runner and the commands are. Calls block the calling thread
/// on NIO futures (never a Swift concurrency thread), one call at a time.
public final class PostgresStore: ResultsStore, @unchecked Sendable {
    public var location: String { address.redacted }
    public let retrySeconds: Double
    private let address: PostgresLocation
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var nextConnectionID = 0
    private let logger: Logger

    /// The migrations (`StoreSchema`, the same as SQLite's). Each runs in a transaction under an
    /// advisory lock, so shards starting together migrate once.
    static var migrations: [(id: String, sql: [String])] {
        StoreSchema.migrations.map { ($0.id, StoreSchema.statements($0.steps, .postgres)) }
    }

    /// An arbitrary constant: the advisory lock slmbench's migrations hold.
    static let migrationLock: Int64 = 0x736c_6d62_656e_6368

    public init(_ address: PostgresLocation, retrySeconds: Double? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        self.address = address
        self.retrySeconds = retrySeconds ?? environment["SLMBENCH_STORE_RETRY_SECONDS"].flatMap(Double.init) ?? 120
        var logger = Logger(label: "slmbench.store.postgres")
        logger.logLevel = .critical // slmbench reports what matters itself, without the URL
        self.logger = logger
        try migrate()
    }

    deinit { _ = try? connection?.close().wait() }

    // MARK: Writes

    public func saveSweep(_ h: SweepHeader) throws(StoreError) {
        try transaction("store sweep \(h.id)") { c in
            try c.run("""
                INSERT INTO sweeps (id, name, spec_file, spec_digest, spec_text, shard, started_at, hostname, fingerprint, planned)
                VALUES (\(h.id), \(h.name), \(h.specFile), \(h.specDigest), \(h.specText), \(h.shard), \(h.startedAt), \(h.hostname),
                        \(h.fingerprint), \(h.planned))
                ON CONFLICT (id) DO NOTHING
                """)
            try c.run("""
                INSERT INTO sweep_parts (sweep_id, part, planned, hostname, fingerprint, started_at)
                VALUES (\(h.id), \(StoreQuery.part(h)), \(h.planned), \(h.hostname), \(h.fingerprint), \(h.startedAt))
                ON CONFLICT (sweep_id, part) DO UPDATE SET planned = EXCLUDED.planned
                """)
        }
    }

    public func saveProfile(fingerprint: String, name: String, json: String) throws(StoreError) {
        try transaction("store hardware profile \(fingerprint)") { c in
            try c.run("""
                INSERT INTO hardware_profiles (fingerprint, name, profile) VALUES (\(fingerprint), \(name), \(json))
                ON CONFLICT (fingerprint) DO NOTHING
                """)
        }
    }

    public func saveModel(sha256: String, name: String, type: String, size: Int?, params: Int?, synthetic: Bool) throws(StoreError) {
        try transaction("store model \(name)") { c in
            try c.run("""
                INSERT INTO models (sha256, name, model_type, model_size, model_n_params, synthetic)
                VALUES (\(sha256), \(name), \(type), \(size), \(params), \(synthetic))
                ON CONFLICT (sha256) DO NOTHING
                """)
        }
    }

    @discardableResult
    public func save(_ runs: [StoredRun]) throws(StoreError) -> Int {
        guard !runs.isEmpty else { return 0 }
        var encoded: [(run: StoredRun, entry: String)] = []
        for r in runs {
            do { encoded.append((r, String(decoding: try StoreJSON.encoder().encode(r), as: UTF8.self))) } catch {
                throw StoreError("cannot encode run \(r.key): \(error)")
            }
        }
        return try transaction("store \(runs.count) runs") { c in
            var added = 0
            for (r, entry) in encoded {
                let k = r.config
                let flags = r.flags.joined(separator: ",")
                // Insert, or learn that the row is there: concurrent writers of the same key
                // cannot both insert, and the loser updates the flags like a rerun would.
                let inserted = try c.rows("""
                    INSERT INTO runs (sweep_id, key, kind, seq, status, reason, model, model_type, backend, n_threads, n_seq, n_prompt,
                      n_gen, n_depth, kv_type, placement, model_size, model_n_params, synthetic, avg_ts, stddev_ts, pp_avg_ts, tg_avg_ts,
                      peak_rss_bytes, predicted_bytes, flags, finished_at, entry)
                    VALUES (\(r.sweepId), \(r.key), \(r.kind.rawValue), \(r.seq), \(r.status.rawValue), \(r.reason), \(k.model), \(k.modelType), \(k.backend),
                      \(k.nThreads), \(k.nSeq), \(k.nPrompt), \(k.nGen), \(k.nDepth), \(k.kvType), \(k.placement), \(k.modelSize),
                      \(k.modelNParams), \(k.synthetic), \(r.avgTs), \(r.stddevTs), \(r.ppAvgTs), \(r.tgAvgTs), \(r.peakRssBytes),
                      \(r.predictedBytes), \(flags), \(r.finishedAt), \(entry))
                    ON CONFLICT (sweep_id, key) DO NOTHING
                    RETURNING id
                    """)
                if let row = inserted.first {
                    let id = try Self.decode(Int64.self, row, "runs.id")
                    if !r.samplesTs.isEmpty {
                        try c.run("""
                            INSERT INTO samples (run_id, metric, idx, value)
                            SELECT \(id), 'ts', (t.n - 1)::integer, t.v FROM unnest(\(r.samplesTs)::double precision[]) WITH ORDINALITY AS t(v, n)
                            """)
                    }
                    added += 1
                } else {
                    // Lock the row: a concurrent writer's flags must not interleave with ours.
                    let rows = try c.rows("SELECT entry FROM runs WHERE sweep_id = \(r.sweepId) AND key = \(r.key) FOR UPDATE")
                    guard let row = rows.first else { continue }
                    let kept = try StoreQuery.withFlags(r.flags, storedEntry: try Self.decode(String.self, row, "runs.entry"))
                    try c.run("UPDATE runs SET flags = \(flags), entry = \(kept) WHERE sweep_id = \(r.sweepId) AND key = \(r.key)")
                }
            }
            return added
        }
    }

    // MARK: Reads

    public func fetchRuns(sweep: String?, filters: [String: [String]], kinds: [EntryKind]) throws(StoreError) -> [StoredRun] {
        try StoreQuery.checkFilters(filters)
        // Column names come from the fixed list above; every value is a bind parameter.
        var sql = "SELECT entry FROM runs"
        var binds = PostgresBindings()
        var clauses: [String] = []
        func placeholders(_ values: [String]) -> String {
            values.map { value in
                binds.append(value)
                return "$\(binds.count)"
            }.joined(separator: ", ")
        }
        if let sweep { clauses.append("sweep_id = \(placeholders([sweep]))") }
        if !kinds.isEmpty { clauses.append("kind IN (\(placeholders(kinds.map(\.rawValue))))") }
        let integers: Set<String> = ["n_threads", "n_seq", "n_prompt", "n_gen", "n_depth"]
        for (column, values) in filters.sorted(by: { $0.key < $1.key }) {
            // The filters arrive as text (as from the command line); integer columns compare as text.
            let lhs = integers.contains(column) ? "\(column)::text" : column
            clauses.append("\(lhs) IN (\(values.isEmpty ? "NULL" : placeholders(values)))")
        }
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY sweep_id, seq"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let rows = try transaction("read runs", readOnly: true) { c in try c.rows(query) }
        let decoder = StoreJSON.decoder()
        var out: [StoredRun] = []
        for row in rows {
            let entry = try Self.decode(String.self, row, "runs.entry")
            do { out.append(try decoder.decode(StoredRun.self, from: Data(entry.utf8))) } catch {
                throw StoreError("\(location): a stored run's entry does not decode: \(error)")
            }
        }
        return out
    }

    public func sweeps() throws(StoreError) -> [SweepHeader] {
        let (headers, partRows) = try transaction("read sweeps", readOnly: true) { c in
            (try c.rows("""
                SELECT id, name, spec_file, spec_digest, spec_text, shard, started_at, hostname, fingerprint, planned
                FROM sweeps ORDER BY started_at, id
                """),
             try c.rows("SELECT sweep_id, part, planned, hostname FROM sweep_parts"))
        }
        var parts: [String: [(part: String, planned: Int, hostname: String)]] = [:]
        for row in partRows {
            let (id, part, planned, host) = try Self.decode((String, String, Int, String).self, row, "sweep_parts")
            parts[id, default: []].append((part, planned, host))
        }
        return try headers.map { row throws(StoreError) in
            let v = try Self.decode((String, String, String, String, String, String?, String, String, String, Int).self, row, "sweeps")
            let header = SweepHeader(id: v.0, name: v.1, specFile: v.2, specDigest: v.3, specText: v.4, shard: v.5, startedAt: v.6,
                                     hostname: v.7, fingerprint: v.8, planned: v.9)
            return StoreQuery.combine(header, parts: parts[header.id] ?? [])
        }
    }

    public func profileJSON(fingerprint: String) throws(StoreError) -> String? {
        let rows = try transaction("read the hardware profile", readOnly: true) { c in
            try c.rows("SELECT profile FROM hardware_profiles WHERE fingerprint = \(fingerprint)")
        }
        return try rows.first.map { row throws(StoreError) in try Self.decode(String.self, row, "hardware_profiles.profile") }
    }

    public func models() throws(StoreError) -> [String: (name: String, type: String)] {
        let rows = try transaction("read the models", readOnly: true) { c in
            try c.rows("SELECT sha256, name, model_type FROM models")
        }
        var out: [String: (name: String, type: String)] = [:]
        for row in rows {
            let (sha, name, type) = try Self.decode((String, String, String).self, row, "models")
            out[sha] = (name, type)
        }
        return out
    }

    public func sampleCount(sweep: String) throws(StoreError) -> Int {
        let rows = try transaction("count samples", readOnly: true) { c in
            try c.rows("SELECT COUNT(*) FROM samples JOIN runs ON runs.id = samples.run_id WHERE runs.sweep_id = \(sweep)")
        }
        guard let row = rows.first else { return 0 }
        return Int(try Self.decode(Int64.self, row, "count"))
    }

    // MARK: Migrations

    private func migrate() throws(StoreError) {
        let known = Set(Self.migrations.map(\.id))
        try transaction("migrate the schema") { c in
            try c.run("SELECT pg_advisory_xact_lock(\(Self.migrationLock))")
            try c.run("CREATE TABLE IF NOT EXISTS slmbench_migrations (identifier TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            let applied = try c.rows("SELECT identifier FROM slmbench_migrations").map { row throws(StoreError) in
                try Self.decode(String.self, row, "slmbench_migrations.identifier")
            }
            if let unknown = applied.first(where: { !known.contains($0) }) {
                throw StoreError("\(location): written by a newer slmbench (schema migration '\(unknown)' is unknown here); nothing was changed")
            }
            for migration in Self.migrations where !applied.contains(migration.id) {
                for statement in migration.sql { try c.run(PostgresQuery(unsafeSQL: statement)) }
                try c.run("INSERT INTO slmbench_migrations (identifier) VALUES (\(migration.id))")
            }
        }
    }

    // MARK: Connection, transactions, retries

    /// One statement runner inside a transaction.
    struct Session {
        let connection: PostgresConnection
        let logger: Logger

        func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
            Array(try connection.query(query, logger: logger).wait().rows)
        }

        func run(_ query: PostgresQuery) throws { _ = try rows(query) }
    }

    /// Runs `body` in one transaction, reconnecting and repeating it while the server is away.
    /// `what` completes "cannot …" in messages.
    private func transaction<T>(_ what: String, readOnly: Bool = false, _ body: (Session) throws -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        let started = Date()
        var attempt = 0
        var announced = false
        while true {
            attempt += 1
            do {
                let connection = try connect()
                let session = Session(connection: connection, logger: logger)
                try session.run(readOnly ? "BEGIN READ ONLY" : "BEGIN")
                do {
                    let value = try body(session)
                    try session.run("COMMIT")
                    if announced { Self.say("store \(location): reconnected after \(attempt) attempts; done: \(what)") }
                    return value
                } catch {
                    _ = try? session.run("ROLLBACK")
                    throw error
                }
            } catch {
                if let storeError = error as? StoreError { throw storeError }
                let elapsed = Date().timeIntervalSince(started)
                guard Self.isTransient(error), elapsed < retrySeconds else {
                    let waited = attempt > 1 ? " (after \(attempt) attempts over \(Int(elapsed)) s)" : ""
                    throw StoreError("\(location): cannot \(what): \(Self.describe(error))\(waited)")
                }
                dropConnection()
                if !announced {
                    Self.say("store \(location): \(Self.describe(error)); retrying for up to \(Int(retrySeconds)) s")
                    announced = true
                }
                Thread.sleep(forTimeInterval: min(0.25 * Double(1 << min(attempt - 1, 4)), max(0, retrySeconds - elapsed)))
            }
        }
    }

    private func connect() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        let tls: PostgresConnection.Configuration.TLS
        switch address.tls {
        case .disable: tls = .disable
        case .prefer, .require, .verifyCA, .verifyFull:
            var config = TLSConfiguration.makeClientConfiguration()
            config.certificateVerification = switch address.tls {
            case .verifyFull: .fullVerification
            case .verifyCA: .noHostnameVerification
            default: .none
            }
            let context = try NIOSSLContext(configuration: config)
            tls = address.tls == .prefer ? .prefer(context) : .require(context)
        }
        var configuration = PostgresConnection.Configuration(host: address.host, port: address.port, username: address.user,
                                                             password: address.password, database: address.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        nextConnectionID += 1
        let fresh = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration,
                                                   id: nextConnectionID, logger: logger).wait()
        connection = fresh
        return fresh
    }

    private func dropConnection() {
        if let connection { _ = try? connection.close().wait() }
        connection = nil
    }

    /// Whether waiting and repeating the transaction can help: the connection failed or the server
    /// is shutting down, starting up, or chose this transaction as a deadlock or serialization victim.
    static func isTransient(_ error: any Error) -> Bool {
        guard let psql = error as? PSQLError else { return !(error is DecodingError) && !(error is StoreError) }
        switch psql.code {
        case .server:
            let state = psql.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "40001", "40P01", "53300"].contains(state)
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            return true
        default:
            return false
        }
    }

    /// What went wrong, from the server's own message where there is one. postgres-nio's own
    /// description of an error deliberately says nothing; the URL and password are never included.
    static func describe(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        if psql.code == .server, let info = psql.serverInfo {
            var text = "\(info[.severity] ?? "ERROR") \(info[.sqlState] ?? "?"): \(info[.message] ?? "no message")"
            if let detail = info[.detail] { text += " (\(detail))" }
            return text
        }
        let underlying = psql.underlying.map { ": \($0)" } ?? ""
        switch psql.code {
        case .connectionError: return "cannot connect\(underlying)"
        case .serverClosedConnection, .uncleanShutdown: return "the server closed the connection\(underlying)"
        case .sslUnsupported: return "the server does not offer TLS (sslmode=require); use sslmode=disable or prefer"
        case .authMechanismRequiresPassword: return "the server asks for a password; put it in the URL or $PGPASSWORD"
        default: return "\(psql.code)\(underlying)"
        }
    }

    static func decode<C: PostgresDecodable>(_ type: C.Type, _ row: PostgresRow, _ what: String) throws(StoreError) -> C {
        do { return try row.decode(C.self) } catch { throw StoreError("unexpected \(what) value in the database: \(error)") }
    }

    static func decode<each C: PostgresDecodable>(_ type: (repeat each C).Type, _ row: PostgresRow, _ what: String) throws(StoreError) -> (repeat each C) {
        do { return try row.decode(type, context: .default) } catch { throw StoreError("unexpected \(what) values in the database: \(error)") }
    }

    static func say(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
#endif
