/// The results schema, written once: each migration's tables, indexes and statements, rendered to
/// SQL for SQLite or PostgreSQL. Both stores apply the same list under the same identifiers, so a
/// table added here reaches both (docs/results.md describes the tables).
enum StoreSchema {
    enum Dialect { case sqlite, postgres }

    enum ColumnType {
        case text, integer, bigInteger, double, boolean
        /// An auto-numbered primary key.
        case identity
    }

    struct Column {
        var name: String
        var type: ColumnType
        var notNull = false
        var primaryKey = false
        /// `table(column)`, deleted with its row.
        var references: String?
    }

    enum Step {
        case table(String, [Column], primaryKey: [String] = [], unique: [String] = [])
        case index(String, on: String, columns: [String])
        case sql(String)
    }

    static func text(_ name: String, notNull: Bool = true) -> Column { Column(name: name, type: .text, notNull: notNull) }
    static func integer(_ name: String, notNull: Bool = true) -> Column { Column(name: name, type: .integer, notNull: notNull) }

    /// The migrations, in order. Never edit one that has shipped: add the next.
    static let migrations: [(id: String, steps: [Step])] = [
        ("v1", [
            .table("sweeps", [
                Column(name: "id", type: .text, primaryKey: true), text("name"), text("spec_file"), text("spec_digest"),
                text("spec_text"), text("shard", notNull: false), text("started_at"), text("hostname"), text("fingerprint"),
                integer("planned"),
            ]),
            .table("hardware_profiles", [Column(name: "fingerprint", type: .text, primaryKey: true), text("name"), text("profile")]),
            .table("models", [
                Column(name: "sha256", type: .text, primaryKey: true), text("name"), text("model_type"),
                Column(name: "model_size", type: .bigInteger), Column(name: "model_n_params", type: .bigInteger),
                Column(name: "synthetic", type: .boolean, notNull: true),
            ]),
            .table("runs", [
                Column(name: "id", type: .identity),
                Column(name: "sweep_id", type: .text, notNull: true, references: "sweeps(id)"),
                text("key"), text("kind"), integer("seq"), text("status"), text("reason", notNull: false), text("model"),
                text("model_type"), text("backend"), integer("n_threads"), integer("n_seq"), integer("n_prompt"), integer("n_gen"),
                integer("n_depth"), text("kv_type"), text("placement"),
                Column(name: "model_size", type: .bigInteger), Column(name: "model_n_params", type: .bigInteger),
                Column(name: "synthetic", type: .boolean, notNull: true),
                Column(name: "avg_ts", type: .double), Column(name: "stddev_ts", type: .double),
                Column(name: "pp_avg_ts", type: .double), Column(name: "tg_avg_ts", type: .double),
                Column(name: "peak_rss_bytes", type: .bigInteger), Column(name: "predicted_bytes", type: .bigInteger),
                text("flags"), text("finished_at"),
                text("entry"), // the journal line, byte for byte
            ], unique: ["sweep_id", "key"]),
            .index("runs_config", on: "runs", columns: ["model", "model_type", "backend", "n_threads", "n_seq"]),
            .table("samples", [
                Column(name: "run_id", type: .bigInteger, notNull: true, references: "runs(id)"), text("metric"), integer("idx"),
                Column(name: "value", type: .double, notNull: true),
            ], primaryKey: ["run_id", "metric", "idx"]),
        ]),
        // Shards of one sweep share its id: each stores its part (planned entries, host) here.
        ("v2", [
            .table("sweep_parts", [
                Column(name: "sweep_id", type: .text, notNull: true, references: "sweeps(id)"), text("part"), integer("planned"),
                text("hostname"), text("fingerprint"), text("started_at"),
            ], primaryKey: ["sweep_id", "part"]),
            .sql(StoreQuery.sweepPartsFromSweeps),
        ]),
    ]

    /// The statements of one migration in a dialect.
    static func statements(_ steps: [Step], _ dialect: Dialect) -> [String] {
        steps.map { step in
            switch step {
            case let .table(name, columns, primaryKey, unique):
                var parts = columns.map { column(ddl: $0, dialect) }
                if !primaryKey.isEmpty { parts.append("PRIMARY KEY (\(primaryKey.joined(separator: ", ")))") }
                if !unique.isEmpty { parts.append("UNIQUE (\(unique.joined(separator: ", ")))") }
                return "CREATE TABLE \(name) (\(parts.joined(separator: ", ")))"
            case let .index(name, table, columns):
                return "CREATE INDEX \(name) ON \(table) (\(columns.joined(separator: ", ")))"
            case let .sql(text):
                return text
            }
        }
    }

    private static func column(ddl c: Column, _ dialect: Dialect) -> String {
        let type: String
        switch (c.type, dialect) {
        case (.identity, .sqlite): return "\(c.name) INTEGER PRIMARY KEY AUTOINCREMENT"
        case (.identity, .postgres): return "\(c.name) BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        case (.text, _): type = "TEXT"
        case (.integer, _): type = "INTEGER"
        case (.bigInteger, .sqlite): type = "INTEGER"
        case (.bigInteger, .postgres): type = "BIGINT"
        case (.double, .sqlite): type = "DOUBLE"
        case (.double, .postgres): type = "DOUBLE PRECISION"
        case (.boolean, _): type = "BOOLEAN"
        }
        var text = "\(c.name) \(type)"
        if c.primaryKey { text += " PRIMARY KEY" }
        if c.notNull && !c.primaryKey { text += " NOT NULL" }
        if let r = c.references { text += " REFERENCES \(r) ON DELETE CASCADE" }
        return text
    }
}
