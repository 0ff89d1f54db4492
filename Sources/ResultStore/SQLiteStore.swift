import Foundation
import GRDB

/// Results in SQLite (default `results/slmbench.sqlite`), through GRDB. The schema is versioned
/// with migrations; docs/results.md describes its tables.
public final class SQLiteStore: ResultsStore, @unchecked Sendable {
    public let path: String
    public var location: String { path }
    private let db: DatabaseQueue

    /// Schema migrations, applied in order; a database written by a newer slmbench is refused.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "sweeps") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("spec_file", .text).notNull()
                t.column("spec_digest", .text).notNull()
                t.column("spec_text", .text).notNull()
                t.column("shard", .text)
                t.column("started_at", .text).notNull()
                t.column("hostname", .text).notNull()
                t.column("fingerprint", .text).notNull()
                t.column("planned", .integer).notNull()
            }
            try db.create(table: "hardware_profiles") { t in
                t.primaryKey("fingerprint", .text)
                t.column("name", .text).notNull()
                t.column("profile", .text).notNull()
            }
            try db.create(table: "models") { t in
                t.primaryKey("sha256", .text)
                t.column("name", .text).notNull()
                t.column("model_type", .text).notNull()
                t.column("model_size", .integer)
                t.column("model_n_params", .integer)
                t.column("synthetic", .boolean).notNull()
            }
            try db.create(table: "runs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("sweep_id", .text).notNull().references("sweeps", onDelete: .cascade)
                t.column("key", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("seq", .integer).notNull()
                t.column("status", .text).notNull()
                t.column("reason", .text)
                t.column("model", .text).notNull()
                t.column("model_type", .text).notNull()
                t.column("backend", .text).notNull()
                t.column("n_threads", .integer).notNull()
                t.column("n_seq", .integer).notNull()
                t.column("n_prompt", .integer).notNull()
                t.column("n_gen", .integer).notNull()
                t.column("n_depth", .integer).notNull()
                t.column("kv_type", .text).notNull()
                t.column("placement", .text).notNull()
                t.column("model_size", .integer)
                t.column("model_n_params", .integer)
                t.column("synthetic", .boolean).notNull()
                t.column("avg_ts", .double)
                t.column("stddev_ts", .double)
                t.column("pp_avg_ts", .double)
                t.column("tg_avg_ts", .double)
                t.column("peak_rss_bytes", .integer)
                t.column("predicted_bytes", .integer)
                t.column("flags", .text).notNull()
                t.column("finished_at", .text).notNull()
                t.column("entry", .text).notNull() // the journal line, byte for byte
                t.uniqueKey(["sweep_id", "key"])
            }
            try db.create(index: "runs_config", on: "runs", columns: ["model", "model_type", "backend", "n_threads", "n_seq"])
            try db.create(table: "samples") { t in
                t.column("run_id", .integer).notNull().references("runs", onDelete: .cascade)
                t.column("metric", .text).notNull()
                t.column("idx", .integer).notNull()
                t.column("value", .double).notNull()
                t.primaryKey(["run_id", "metric", "idx"])
            }
        }
        // Shards of one sweep share its id: each stores its part (planned entries, host) here.
        m.registerMigration("v2") { db in
            try db.create(table: "sweep_parts") { t in
                t.column("sweep_id", .text).notNull().references("sweeps", onDelete: .cascade)
                t.column("part", .text).notNull()
                t.column("planned", .integer).notNull()
                t.column("hostname", .text).notNull()
                t.column("fingerprint", .text).notNull()
                t.column("started_at", .text).notNull()
                t.primaryKey(["sweep_id", "part"])
            }
            try db.execute(sql: StoreQuery.sweepPartsFromSweeps)
        }
        return m
    }

    public init(path: String) throws(StoreError) {
        self.path = path
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            var config = Configuration()
            config.busyMode = .timeout(30)
            db = try DatabaseQueue(path: path, configuration: config)
            let migrator = Self.migrator
            let known = Set(migrator.migrations)
            let applied = try db.read { try migrator.appliedIdentifiers($0) }
            if let unknown = applied.first(where: { !known.contains($0) }) {
                throw StoreError("\(path): written by a newer slmbench (schema migration '\(unknown)' is unknown here); nothing was changed")
            }
            try migrator.migrate(db)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError("\(path): cannot open the results database: \(error)")
        }
    }

    public func saveSweep(_ h: SweepHeader) throws(StoreError) {
        try write("sweep \(h.id)") { db in
            try db.execute(sql: """
                INSERT INTO sweeps (id, name, spec_file, spec_digest, spec_text, shard, started_at, hostname, fingerprint, planned)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO NOTHING
                """, arguments: [h.id, h.name, h.specFile, h.specDigest, h.specText, h.shard, h.startedAt, h.hostname, h.fingerprint, h.planned])
            try db.execute(sql: """
                INSERT INTO sweep_parts (sweep_id, part, planned, hostname, fingerprint, started_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(sweep_id, part) DO UPDATE SET planned = excluded.planned
                """, arguments: [h.id, StoreQuery.part(h), h.planned, h.hostname, h.fingerprint, h.startedAt])
        }
    }

    public func saveProfile(fingerprint: String, name: String, json: String) throws(StoreError) {
        try write("hardware profile \(fingerprint)") { db in
            try db.execute(sql: "INSERT OR IGNORE INTO hardware_profiles (fingerprint, name, profile) VALUES (?, ?, ?)",
                           arguments: [fingerprint, name, json])
        }
    }

    public func saveModel(sha256: String, name: String, type: String, size: Int?, params: Int?, synthetic: Bool) throws(StoreError) {
        try write("model \(name)") { db in
            try db.execute(sql: "INSERT OR IGNORE INTO models (sha256, name, model_type, model_size, model_n_params, synthetic) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [sha256, name, type, size, params, synthetic])
        }
    }

    @discardableResult
    public func save(_ runs: [StoredRun]) throws(StoreError) -> Int {
        var added = 0
        try write("\(runs.count) runs") { db in
            for r in runs {
                let entry = String(decoding: try StoreJSON.encoder().encode(r), as: UTF8.self)
                let flags = r.flags.joined(separator: ",")
                if let row = try Row.fetchOne(db, sql: "SELECT id, entry FROM runs WHERE sweep_id = ? AND key = ?", arguments: [r.sweepId, r.key]) {
                    let kept = try StoreQuery.withFlags(r.flags, storedEntry: row["entry"])
                    try db.execute(sql: "UPDATE runs SET flags = ?, entry = ? WHERE id = ?", arguments: [flags, kept, row["id"] as Int64])
                    continue
                }
                let c = r.config
                try db.execute(sql: """
                    INSERT INTO runs (sweep_id, key, kind, seq, status, reason, model, model_type, backend, n_threads, n_seq, n_prompt,
                      n_gen, n_depth, kv_type, placement, model_size, model_n_params, synthetic, avg_ts, stddev_ts, pp_avg_ts, tg_avg_ts,
                      peak_rss_bytes, predicted_bytes, flags, finished_at, entry)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [r.sweepId, r.key, r.kind, r.seq, r.status, r.reason, c.model, c.modelType, c.backend, c.nThreads,
                                     c.nSeq, c.nPrompt, c.nGen, c.nDepth, c.kvType, c.placement, c.modelSize, c.modelNParams,
                                     c.synthetic, r.avgTs, r.stddevTs, r.ppAvgTs, r.tgAvgTs, r.peakRssBytes, r.predictedBytes,
                                     flags, r.finishedAt, entry])
                let id = db.lastInsertedRowID
                for (i, v) in r.samplesTs.enumerated() {
                    try db.execute(sql: "INSERT INTO samples (run_id, metric, idx, value) VALUES (?, 'ts', ?, ?)", arguments: [id, i, v])
                }
                added += 1
            }
        }
        return added
    }

    public func fetchRuns(sweep: String?, filters: [String: [String]], kinds: [String]) throws(StoreError) -> [StoredRun] {
        try StoreQuery.checkFilters(filters)
        var clauses: [String] = []
        var arguments: [String] = []
        if let sweep { clauses.append("sweep_id = ?"); arguments.append(sweep) }
        if !kinds.isEmpty {
            clauses.append("kind IN (\(kinds.map { _ in "?" }.joined(separator: ", ")))")
            arguments += kinds
        }
        for (column, values) in filters.sorted(by: { $0.key < $1.key }) {
            clauses.append("\(column) IN (\(values.map { _ in "?" }.joined(separator: ", ")))")
            arguments += values
        }
        let sql = "SELECT entry FROM runs" + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")) + " ORDER BY sweep_id, seq"
        do {
            let entries = try db.read { try String.fetchAll($0, sql: sql, arguments: StatementArguments(arguments)) }
            let decoder = StoreJSON.decoder()
            return try entries.map { try decoder.decode(StoredRun.self, from: Data($0.utf8)) }
        } catch {
            throw StoreError("\(path): cannot read runs: \(error)")
        }
    }

    public func sweeps() throws(StoreError) -> [SweepHeader] {
        do {
            return try db.read { db in
                var parts: [String: [(part: String, planned: Int, hostname: String)]] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT sweep_id, part, planned, hostname FROM sweep_parts") {
                    parts[row["sweep_id"], default: []].append((row["part"], row["planned"], row["hostname"]))
                }
                return try Row.fetchAll(db, sql: "SELECT * FROM sweeps ORDER BY started_at, id").map { row in
                    let header = SweepHeader(id: row["id"], name: row["name"], specFile: row["spec_file"], specDigest: row["spec_digest"],
                                             specText: row["spec_text"], shard: row["shard"], startedAt: row["started_at"],
                                             hostname: row["hostname"], fingerprint: row["fingerprint"], planned: row["planned"])
                    return StoreQuery.combine(header, parts: parts[header.id] ?? [])
                }
            }
        } catch { throw StoreError("\(path): cannot read sweeps: \(error)") }
    }

    public func profileJSON(fingerprint: String) throws(StoreError) -> String? {
        do { return try db.read { try String.fetchOne($0, sql: "SELECT profile FROM hardware_profiles WHERE fingerprint = ?", arguments: [fingerprint]) } }
        catch { throw StoreError("\(path): \(error)") }
    }

    public func sampleCount(sweep: String) throws(StoreError) -> Int {
        do {
            return try db.read {
                try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM samples JOIN runs ON runs.id = samples.run_id WHERE runs.sweep_id = ?", arguments: [sweep]) ?? 0
            }
        } catch { throw StoreError("\(path): \(error)") }
    }

    private func write(_ what: String, _ body: (Database) throws -> Void) throws(StoreError) {
        do { try db.write(body) } catch {
            throw StoreError("\(path): cannot store \(what): \(error); the sweep's journal still holds every completed run")
        }
    }
}
