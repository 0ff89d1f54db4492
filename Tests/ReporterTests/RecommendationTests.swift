import Foundation
import Measures
import Reporter
import ResultStore
import Testing

@Suite("recommend")
struct RecommendationTests {
    func run(_ type: String, tg: Double, rss: Int, synthetic: Bool = false, batch: Int = 1) -> StoredRun {
        StoredRun(sweepId: "s", key: "\(type)-\(batch)-\(synthetic)", kind: .run, seq: 0, status: .ok, reason: nil,
                  config: RunConfig(model: synthetic ? "big" : "m", modelType: type, backend: "native", nThreads: 2, nSeq: batch, nPrompt: 32,
                                    nGen: 16, nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: nil, modelNParams: nil,
                                    synthetic: synthetic),
                  avgTs: tg, stddevTs: 1, samplesTs: [tg], ppAvgTs: nil, tgAvgTs: tg, peakRssBytes: rss, predictedBytes: nil,
                  summary: MetricValues(raw: ["ttft_ms": 100]), flags: [], finishedAt: "t", record: "{}", context: "{}")
    }

    @Test func constraintsRejectWithReasonsAndTheFrontKeepsTheUndominated() throws {
        var quality = run("q8_0", tg: 0, rss: 0)
        quality.kind = .quality
        quality.summary = MetricValues(raw: ["q8_0.ppl": 10, "q8_0.kld": 0.005, "q4_1.ppl": 10.4, "q4_1.kld": 0.06, "q4_0.ppl": 13, "q4_0.kld": 0.35,
                           "f16.ppl": 10, "f16.kld": 0.000002])
        let entries = [run("f16", tg: 45, rss: 300 << 20), run("q8_0", tg: 80, rss: 175 << 20), run("q4_1", tg: 90, rss: 116 << 20),
                       run("q4_0", tg: 100, rss: 107 << 20), run("q4_0", tg: 30, rss: 200 << 20, synthetic: true),
                       run("q4_1", tg: 160, rss: 120 << 20, batch: 4), quality]
        let r = Recommendation(entries: entries, constraints: .init(minDecodeTps: 40, maxMemoryBytes: 250 << 20, maxKLD: 0.1))
        // f16 is too big, q4_0 too lossy, the synthetic model has no quality numbers; batch 4 is 40 t/s per sequence.
        #expect(Set(r.feasible.map(\.run.key)) == ["q8_0-1-false", "q4_1-1-false", "q4_1-4-false"])
        let reasons = Dictionary(uniqueKeysWithValues: r.rejected.map { ($0.run.key, $0.rejections.joined(separator: "; ")) })
        #expect(reasons["f16-1-false"]?.contains("peak RSS 300 MiB > 250 MiB") == true)
        #expect(reasons["q4_0-1-false"]?.contains("KLD 0.3500 > 0.1000") == true)
        #expect(reasons["q4_0-1-true"]?.contains("synthetic") == true && reasons["q4_0-1-true"]?.contains("decode 30.0") == true)
        // q4_1 at batch 1 is faster and smaller than at batch 4 with the same quality, so batch 4 is dominated.
        let front = Set(r.feasible.filter(\.pareto).map(\.run.key))
        #expect(front == ["q8_0-1-false", "q4_1-1-false"])
        #expect(r.feasible.first?.run.key == "q4_1-1-false")
    }

    @Test func sustainedRanksByTheSteadyStateRateAndRejectsRunsWithoutOne() throws {
        // A is the faster burst but throttles to 40 t/s; B holds 70 t/s; C was never sustained.
        var a = run("q4_0", tg: 100, rss: 100 << 20), b = run("q8_0", tg: 80, rss: 100 << 20), c = run("q4_1", tg: 120, rss: 100 << 20)
        a.summary[.steadyTs] = 40
        a.summary[.burstTs] = 110
        b.summary[.steadyTs] = 70
        b.summary[.burstTs] = 82
        let burst = Recommendation(entries: [a, b, c], constraints: .init())
        #expect(burst.feasible.map(\.run.config.modelType) == ["q4_1", "q4_0", "q8_0"])
        let sustained = Recommendation(entries: [a, b, c], constraints: .init(minDecodeTps: 50, sustained: true))
        #expect(sustained.feasible.map(\.run.config.modelType) == ["q8_0"])
        #expect(sustained.feasible.first?.decodeTps == 70)
        let reasons = Dictionary(uniqueKeysWithValues: sustained.rejected.map { ($0.run.config.modelType, $0.rejections.joined(separator: "; ")) })
        #expect(reasons["q4_0"] == "decode 40.0 t/s per sequence < 50.0")
        #expect(reasons["q4_1"]?.contains("no sustained measurement") == true)
        #expect(sustained.markdown().contains("steady-state decode t/s per seq"))
    }
}
