import Measures
import ResultStore

/// A stored run with every column filled, for store and export tests.
public enum StoredRunFixtures {
    public static func run(_ key: String, seq: Int, model: String = "m", threads: Int = 1, avg: Double = 10) -> StoredRun {
        StoredRun(sweepId: "s1", key: key, kind: .run, seq: seq, status: .ok, reason: nil,
                  config: RunConfig(model: model, modelType: "q4_0", backend: "native", nThreads: threads, nSeq: 1, nPrompt: 8, nGen: 8,
                                    nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: 100, modelNParams: 10, synthetic: false),
                  avgTs: avg, stddevTs: 1, samplesTs: [avg - 1, avg, avg + 1], ppAvgTs: 50, tgAvgTs: avg, peakRssBytes: 1000,
                  predictedBytes: 900, summary: MetricValues(raw: ["ttft_ms": 3.5, "TYPE.with.dots": 1]), flags: [], finishedAt: "2026-11-27T00:00:00Z",
                  record: "{\"x\":1}", context: "{\"environment\":{}}")
    }
}
