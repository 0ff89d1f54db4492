import Foundation
import Reporter
import ResultStore
import TestSupport
import Testing

@Suite("journal and SQLite store")
struct ResultStoreTests {
    func run(_ key: String, seq: Int, model: String = "m", threads: Int = 1, avg: Double = 10) -> StoredRun {
        StoredRun(sweepId: "s1", key: key, kind: "run", seq: seq, status: "ok", reason: nil,
                  config: RunConfig(model: model, modelType: "q4_0", backend: "native", nThreads: threads, nSeq: 1, nPrompt: 8, nGen: 8,
                                    nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: 100, modelNParams: 10, synthetic: false),
                  avgTs: avg, stddevTs: 1, samplesTs: [avg - 1, avg, avg + 1], ppAvgTs: 50, tgAvgTs: avg, peakRssBytes: 1000,
                  predictedBytes: 900, summary: ["ttft_ms": 3.5, "TYPE.with.dots": 1], flags: [], finishedAt: "2026-11-27T00:00:00Z",
                  record: "{\"x\":1}", context: "{\"environment\":{}}")
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

    @Test func storingIsIdempotentAndQueriesFilterByConfig() throws {
        let dir = try TestPaths.temporaryDirectory()
        let store = try SQLiteStore(path: dir.appendingPathComponent("r.sqlite").path)
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
        // Reopening applies no migration twice and keeps the rows.
        let reopened = try SQLiteStore(path: dir.appendingPathComponent("r.sqlite").path)
        #expect(try reopened.runs().count == 3)
    }

    @Test func csvAndJSONUseLlamaBenchNames() throws {
        let csv = ResultsExport.csv([run("a", seq: 0)])
        let header = csv.split(separator: "\n")[0].split(separator: ",").map(String.init)
        for name in ["model_type", "model_size", "model_n_params", "n_threads", "n_prompt", "n_gen", "avg_ts", "stddev_ts", "samples_ts"] {
            #expect(header.contains(name), "\(name) missing from \(header)")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: ResultsExport.json([run("a", seq: 0)], full: false)) as? [[String: Any]])
        #expect(json.first?["samples_ts"] as? [Double] == [9, 10, 11])
        #expect(json.first?["n_threads"] as? Int == 1)
    }
}
