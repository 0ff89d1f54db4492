import Foundation
import Measures
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
        for migration in StoreSchema.migrations {
            m.registerMigration(migration.id) { db in
                for statement in StoreSchema.statements(migration.steps, .sqlite) { try db.execute(sql: statement) }
            }
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
                    """, arguments: [r.sweepId, r.key, r.kind.rawValue, r.seq, r.status.rawValue, r.reason, c.model, c.modelType, c.backend, c.nThreads,
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

    public func fetchRuns(sweep: String?, filters: [String: [String]], kinds: [EntryKind]) throws(StoreError) -> [StoredRun] {
        try StoreQuery.checkFilters(filters)
        var clauses: [String] = []
        var arguments: [String] = []
        if let sweep { clauses.append("sweep_id = ?"); arguments.append(sweep) }
        if !kinds.isEmpty {
            clauses.append("kind IN (\(kinds.map { _ in "?" }.joined(separator: ", ")))")
            arguments += kinds.map(\.rawValue)
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

    public func models() throws(StoreError) -> [String: (name: String, type: String)] {
        do {
            let rows = try db.read { try Row.fetchAll($0, sql: "SELECT sha256, name, model_type FROM models") }
            var out: [String: (name: String, type: String)] = [:]
            for row in rows { out[row["sha256"]] = (row["name"], row["model_type"]) }
            return out
        } catch { throw StoreError("\(path): \(error)") }
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
