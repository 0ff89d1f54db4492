import Foundation
import Measures
import ResultStore
import TestSupport
import Testing

@Suite("journal and SQLite store")
struct ResultStoreTests {
    func run(_ key: String, seq: Int, model: String = "m", threads: Int = 1, avg: Double = 10) -> StoredRun {
        StoredRunFixtures.run(key, seq: seq, model: model, threads: threads, avg: avg)
    }

    @Test func journalRoundTripsAndSurvivesATornLastLine() throws {
        let dir = try TestPaths.temporaryDirectory()
        let path = dir.appendingPathComponent("journal.jsonl").path
        do {
            let journal = try Journal(path: path)
            try journal.append(run("a", seq: 0))
            try journal.append(run("b", seq: 1))
        }
        // A kill in the middle of a write leaves a line without its newline.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"sweep_id\":\"s1\",\"key\":\"c\",\"ki".utf8))
        try handle.close()
        let (read, torn) = try Journal.read(path: path)
        #expect(read.map(\.key) == ["a", "b"])
        #expect(read[0] == run("a", seq: 0))
        #expect(torn != nil)
        // Reopening cuts the torn tail, so the next entry starts on a clean line.
        try Journal(path: path).append(run("c", seq: 2))
        let (again, tornAgain) = try Journal.read(path: path)
        #expect(again.map(\.key) == ["a", "b", "c"] && tornAgain == nil)
    }

    @Test func aMalformedLineInTheMiddleIsAnErrorNamingFileAndLine() throws {
        let dir = try TestPaths.temporaryDirectory()
        let path = dir.appendingPathComponent("journal.jsonl").path
        let good = String(decoding: try StoreJSON.encoder().encode(run("a", seq: 0)), as: UTF8.self)
        try (good + "\n{\"key\": 3}\n" + good + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try Journal.read(path: path)
            Issue.record("a malformed line was accepted")
        } catch {
            #expect(error.description.contains("\(path):2:"), "\(error)")
        }
    }

    /// A new, empty store of each kind: a SQLite file, or a database of its own on the test PostgreSQL server.
    static func freshStore(_ kind: String) throws -> StoreLocation {
        switch kind {
        case "sqlite": return .sqlite(path: try TestPaths.temporaryDirectory().appendingPathComponent("r.sqlite").path)
        default:
            try #require(TestPostgres.serverURL != nil, Comment(rawValue: TestPostgres.missingMessage))
            return try StoreLocation.parse(try TestPostgres.freshDatabase())
        }
    }

    @Test(arguments: ["sqlite", "postgres"])
    func storingIsIdempotentAndQueriesFilterByConfig(_ kind: String) throws {
        let location = try Self.freshStore(kind)
        let store = try location.open()
        try store.saveSweep(SweepHeader(id: "s1", name: "t", specFile: "t.yaml", specDigest: "d", specText: "", shard: nil,
                                        startedAt: "2026-11-27T00:00:00Z", hostname: "h", fingerprint: "f", planned: 3))
        let runs = [run("a", seq: 0), run("b", seq: 1, model: "other", threads: 2), run("c", seq: 2, threads: 2)]
        #expect(try store.save(runs) == 3)
        #expect(try store.save(runs) == 0)
        #expect(try store.runs(sweep: "s1").map(\.key) == ["a", "b", "c"])
        #expect(try store.runs(where: ["n_threads": ["2"]]).map(\.key) == ["b", "c"])
        #expect(try store.runs(where: ["model": ["m"], "n_threads": ["2"]]).map(\.key) == ["c"])
        #expect(try store.runs(sweep: "s1")[0] == runs[0])
        #expect(try store.sampleCount(sweep: "s1") == 9)
        #expect(throws: StoreError.self) { try store.runs(where: ["1; DROP TABLE runs": ["x"]]) }
        // A stored run keeps its measurements; a later entry for the same key changes only its flags.
        var flagged = run("a", seq: 0, avg: 99)
        flagged.flags = ["drift"]
        #expect(try store.save([flagged]) == 0)
        let a = try #require(try store.runs(sweep: "s1").first)
        #expect(a.flags == ["drift"] && a.avgTs == 10 && a.samplesTs == [9, 10, 11])
        #expect(try store.runs(where: ["status": ["ok"]]).count == 3)
        #expect(try store.sampleCount(sweep: "s1") == 9)
        // Values are parameters, never SQL.
        #expect(try store.runs(where: ["model": ["m' OR '1'='1"]]).isEmpty)
        // Profiles and models: the first write wins, a second is no error.
        try store.saveProfile(fingerprint: "f", name: "here", json: "{\"a\":1}")
        try store.saveProfile(fingerprint: "f", name: "here", json: "{\"a\":2}")
        #expect(try store.profileJSON(fingerprint: "f") == "{\"a\":1}" && store.profileJSON(fingerprint: "nope") == nil)
        try store.saveModel(sha256: "abc", name: "m", type: "q4_0", size: nil, params: 10, synthetic: true)
        try store.saveModel(sha256: "abc", name: "m", type: "q4_0", size: nil, params: 10, synthetic: true)
        // Reopening applies no migration twice and keeps the rows.
        let reopened = try location.open()
        #expect(try reopened.runs().count == 3)
        #expect(try reopened.sweeps().map(\.id) == ["s1"])
    }

    @Test(arguments: ["sqlite", "postgres"])
    func shardsOfOneSweepReadAsOneSweep(_ kind: String) throws {
        let store = try Self.freshStore(kind).open()
        func header(_ shard: String?, planned: Int, host: String) -> SweepHeader {
            SweepHeader(id: "fleet", name: "n", specFile: "s.yaml", specDigest: "d", specText: "", shard: shard,
                        startedAt: "2026-11-27T00:00:0\(planned)Z", hostname: host, fingerprint: "f", planned: planned)
        }
        try store.saveSweep(header("2/3", planned: 4, host: "b"))
        try store.saveSweep(header("1/3", planned: 5, host: "a"))
        try store.saveSweep(header("3/3", planned: 4, host: "a"))
        try store.saveSweep(header("3/3", planned: 4, host: "a")) // a shard rerun
        let sweeps = try store.sweeps()
        #expect(sweeps.count == 1)
        #expect(sweeps.first?.planned == 13 && sweeps.first?.shard == "1/3,2/3,3/3" && sweeps.first?.hostname == "a,b", "\(sweeps)")
    }
}
