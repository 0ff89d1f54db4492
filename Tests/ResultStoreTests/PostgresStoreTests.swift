#if Postgres
import Foundation
import Measures
import ResultStore
import TestSupport
import Testing

/// The PostgreSQL store against the real server scripts/test.sh starts.
@Suite("PostgreSQL store")
struct PostgresStoreTests {
    func requireServer() throws -> String {
        try #require(TestPostgres.serverURL != nil, Comment(rawValue: TestPostgres.missingMessage))
        return try TestPostgres.freshDatabase()
    }

    func run(_ key: String, sweep: String = "s", seq: Int) -> StoredRun {
        StoredRun(sweepId: sweep, key: key, kind: .run, seq: seq, status: .ok, reason: nil,
                  config: RunConfig(model: "m", modelType: "q8_0", backend: "native", nThreads: 1 + seq % 2, nSeq: 1, nPrompt: 8, nGen: 8,
                                    nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: 100, modelNParams: 10, synthetic: true),
                  avgTs: Double(seq), stddevTs: 0, samplesTs: [1, 2, 3], ppAvgTs: nil, tgAvgTs: Double(seq), peakRssBytes: 1 << 40,
                  predictedBytes: nil, flags: [], finishedAt: "2026-11-27T00:00:00Z", record: "{}", context: "{}")
    }

    @Test func concurrentWritersOfOverlappingRunsLoseNothingAndDuplicateNothing() throws {
        let url = try requireServer()
        let location = try StoreLocation.parse(url)
        let header = SweepHeader(id: "s", name: "n", specFile: "s.yaml", specDigest: "d", specText: "", shard: nil,
                                 startedAt: "2026-11-27T00:00:00Z", hostname: "h", fingerprint: "f", planned: 60)
        // Six writers, each its own connection, all starting together on a fresh database (so the
        // migrations race too); writer w stores keys 10w ..< 10w + 20, so every key is written twice.
        let writers = 6
        let added = Locked<[Int]>([])
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: writers) { w in
            do {
                let store = try location.open()
                try store.saveSweep(header)
                for k in stride(from: 10 * w, to: 10 * w + 20, by: 5) {
                    let n = try store.save((k ..< k + 5).map { run("k\($0 % (10 * writers))", seq: $0 % (10 * writers)) })
                    added.withLock { $0.append(n) }
                }
            } catch { failures.withLock { $0.append("\(error)") } }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        let store = try location.open()
        let keys = try store.runs(sweep: "s").map(\.key)
        #expect(keys.count == 10 * writers && Set(keys).count == 10 * writers)
        #expect(added.withLock { $0.reduce(0, +) } == 10 * writers, "each key inserted exactly once across the writers")
        #expect(try store.sampleCount(sweep: "s") == 3 * 10 * writers)
        #expect(try TestPostgres.psql(url, "SELECT count(*) FROM slmbench_migrations") == "2")
        // Large values survive (BIGINT columns), and the entry is kept byte for byte.
        #expect(try store.runs(sweep: "s").first?.peakRssBytes == 1 << 40)
    }

    @Test func bothStoresHaveTheSameTablesAndColumns() throws {
        // One migration list (StoreSchema) makes both; compare what each database really holds.
        let url = try requireServer()
        _ = try StoreLocation.parse(url).open()
        let pg = try TestPostgres.psql(url, """
            SELECT string_agg(table_name || '.' || column_name, ' ') FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name <> 'slmbench_migrations'
            """)
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("s.sqlite").path
        _ = try SQLiteStore(path: path)
        let sqlite = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'")]
            print(' '.join(sorted(t + '.' + c[1] for t in tables for c in db.execute('PRAGMA table_info(' + t + ')'))))
            """, path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let (a, b) = (Set(sqlite.split(separator: " ")), Set(pg.split(separator: " ")))
        #expect(a.count > 40 && a == b, "only in SQLite: \(a.subtracting(b).sorted()); only in PostgreSQL: \(b.subtracting(a).sorted())")
    }

    @Test func aDatabaseWrittenByANewerSlmbenchIsRefusedUnchanged() throws {
        let url = try requireServer()
        _ = try StoreLocation.parse(url).open()
        _ = try TestPostgres.psql(url, "INSERT INTO slmbench_migrations (identifier) VALUES ('v99')")
        #expect {
            _ = try StoreLocation.parse(url).open()
        } throws: { error in
            "\(error)".contains("newer slmbench") && "\(error)".contains("v99")
        }
    }

    @Test func anUnreachableServerIsNamedWithoutThePasswordAfterItsRetryWindow() throws {
        let closedPort = try freePort()
        let location = try PostgresLocation(url: "postgres://slmbench:hunter2secret@127.0.0.1:\(closedPort)/x?sslmode=disable", environment: [:])
        let started = Date()
        do {
            _ = try PostgresStore(location, retrySeconds: 1)
            Issue.record("a closed port was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("postgres://slmbench@127.0.0.1:\(closedPort)/x") && text.contains("cannot connect") && text.contains("attempts"), "\(text)")
            #expect(!text.contains("hunter2secret"))
        }
        #expect(Date().timeIntervalSince(started) >= 1, "it retried for its window")
    }

    @Test func aWrongPasswordFailsAtOnceWithTheServersReason() throws {
        let url = try requireServer()
        var location = try PostgresLocation(url: url, environment: [:])
        location.password = "not-the-password"
        let started = Date()
        do {
            _ = try PostgresStore(location, retrySeconds: 60)
            Issue.record("a wrong password was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("28P01") && text.contains("password authentication failed"), "\(text)")
            #expect(!text.contains("not-the-password"))
        }
        #expect(Date().timeIntervalSince(started) < 30, "authentication errors are not retried")
    }

    @Test func urlsParseLikeLibpqAndPrintWithoutThePassword() throws {
        let env = ["PGPASSWORD": "from-env", "PGUSER": "envuser"]
        let full = try PostgresLocation(url: "postgresql://alice:p%40ss@db.example:6543/results?sslmode=require", environment: env)
        #expect(full.user == "alice" && full.password == "p@ss" && full.host == "db.example" && full.port == 6543)
        #expect(full.database == "results" && full.tls == .require)
        #expect(full.redacted == "postgres://alice@db.example:6543/results")
        let bare = try PostgresLocation(url: "postgres://db.example", environment: env)
        #expect(bare.user == "envuser" && bare.password == "from-env" && bare.port == 5432 && bare.database == "envuser" && bare.tls == .prefer)
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgres://db.example/x", environment: [:]) }
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgres://u@h/x?sslmode=maybe", environment: [:]) }
        #expect(throws: StoreError.self) { try PostgresLocation(url: "postgres://u@h/x?timeout=3", environment: [:]) }
        // The store flag takes a path or a postgres URL, and says which when it is neither.
        #expect(try StoreLocation.parse("results/x.sqlite") == .sqlite(path: "results/x.sqlite"))
        do {
            _ = try StoreLocation.parse("mysql://u:secret@h/x")
            Issue.record("mysql:// was accepted")
        } catch { #expect(!"\(error)".contains("secret") && "\(error)".contains("postgres://")) }
        // $SLMBENCH_STORE when --store is absent; the flag wins.
        #expect(try StoreLocation.resolve(nil, environment: ["SLMBENCH_STORE": "postgres://u@h/x"]).description == "postgres://u@h:5432/x")
        #expect(try StoreLocation.resolve("a.sqlite", environment: ["SLMBENCH_STORE": "postgres://u@h/x"]) == .sqlite(path: "a.sqlite"))
        #expect(try StoreLocation.resolve(nil, environment: [:]) == .sqlite(path: "results/slmbench.sqlite"))
    }

    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                guard bind(fd, p, length) == 0, getsockname(fd, p, &length) == 0 else { throw PortError() }
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct PortError: Error {}

/// A value shared by threads.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
#else
import Testing

@Test func thePostgresStoreIsBuilt() {
    Issue.record("built without the Postgres trait: the PostgreSQL store tests did not run; build the tests with default traits (scripts/test.sh)")
}
#endif
