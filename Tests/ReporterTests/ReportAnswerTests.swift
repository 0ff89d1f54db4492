import DeviceProbe
import Foundation
import Measures
@testable import Reporter
import ResultStore
import Testing

/// The parts of the reports a stakeholder reads first: the answer, the caveat on quality, the
/// roofline's ceilings, and several sides at once.
@Suite("report answer, caveat, roofline, comparison")
struct ReportAnswerTests {
    typealias F = PredictionFixtures

    static func quality(_ model: String = "m", kld: [String: Double]) -> StoredRun {
        var q = F.run("quality", fingerprint: "box", threads: 1, tg: 0, pp: 0)
        q.kind = .quality
        q.config.model = model
        var raw: [String: Double] = ["F32.ppl": 10]
        for (type, k) in kld { raw["\(type).ppl"] = 10 + k * 10; raw["\(type).kld"] = k; raw["\(type).dppl_pct"] = k * 100 }
        q.summary = MetricValues(raw: raw)
        return q
    }

    static func run(_ type: String, backend: String = "llama.cpp", threads: Int = 1, tg: Double, pp: Double = 300, flags: [String] = []) -> StoredRun {
        var r = F.run("m|\(type)|\(backend)|t\(threads)", fingerprint: "box", type: type, backend: backend, threads: threads, tg: tg, pp: pp)
        r.flags = flags
        r.summary = MetricValues(raw: ["ttft_ms": 40, "repetitions": 5, "ci95_rel": 0.03])
        return r
    }

    func decision(_ entries: [StoredRun], weights: [String: String] = [:]) -> Decision {
        let (c, defaulted) = Decision.resolve(.init())
        return Decision(device: "box", basis: "measured on the target", stated: Decision.statement(c, defaulted: defaulted, memoryFromFlag: false),
                        recommendation: Recommendation(entries: entries, constraints: c), cost: nil, sourceWeights: weights, errorLabel: nil)
    }

    @Test func theAnswerIsTheRecommendationsFirstRowWithEveryFigureSayingHowItWasObtained() throws {
        let entries = [Self.run("q8_0", tg: 40), Self.run("q4_0", tg: 60), Self.run("q4_1", tg: 55, flags: ["high-cv"]), Self.run("f16", tg: 15),
                       Self.quality(kld: ["q8_0": 0.01, "q4_0": 0.3, "q4_1": 0.05, "f16": 0.0001])]
        let d = decision(entries)
        // Defaults: ≥ 20 t/s (f16 out), KLD ≤ 0.1 (q4_0 out); q4_1 is fastest of the rest.
        let rec = Recommendation(entries: entries, constraints: Decision.defaultConstraints)
        #expect(d.recommended?.run.key == rec.feasible.first?.run.key && d.recommended?.run.config.modelType == "q4_1")
        #expect(d.runnerUp?.run.config.modelType == "q8_0")
        let figures = try #require(d.recommended.map(d.figures))
        #expect(figures.map(\.name) == ["decode speed", "time to first token", "peak memory", "quality loss", "cost"])
        #expect(figures[0].basis.hasPrefix("measured, mean of 5 repetitions (95% CI ±3.0%)") && figures[0].basis.contains("⚑ high-cv"))
        #expect(figures[4].basis.contains("no device price"))
        let html = d.html()
        #expect(html.contains("(default: faster than people read)") && html.contains("Runner-up: m Q8_0 on llama.cpp"))
        #expect(html.contains("27% slower decode (40.0 against 55.0 t/s)"), "\(html)")
        #expect(d.weaknesses().contains { $0.contains("flagged high-cv") })
        // Nothing feasible: said, with the fastest configuration's reasons.
        let none = decision([Self.run("f16", tg: 5), Self.quality(kld: ["f16": 0.0001])])
        #expect(none.recommended == nil && none.html().contains("Nothing meets every constraint") && none.html().contains("decode 5.0 t/s per sequence &lt; 20.0"))
    }

    @Test func aPredictedFigureSaysPredictedWithItsValidatedError() throws {
        var p = Self.run("q4_0", tg: 30)
        p.kind = .prediction
        p.summary = MetricValues(raw: ["ttft_ms": 90, "tg_error_p90": 0.25, "pp_error_p90": 0.4])
        var d = decision([p, Self.quality(kld: ["q4_0": 0.05])])
        d.errorLabel = "p90 |error| of leave-one-device-out validation over 12 devices"
        let figures = try #require(d.recommended.map(d.figures))
        #expect(figures[0].basis == "predicted ±25% (p90 |error| of leave-one-device-out validation over 12 devices)")
        #expect(figures[1].basis.hasPrefix("predicted ±40%"))
        #expect(figures[2].basis.contains("another machine"))
        #expect(d.weaknesses().contains { $0.hasPrefix("Every speed here is predicted") })
    }

    @Test func theCaveatSitsNextToEveryQualityNumberWhenTheSourceIsQuantized() throws {
        let entries = [Self.run("q8_0", tg: 40), Self.run("q4_0", tg: 60), Self.quality(kld: ["q8_0": 0.01, "q4_0": 0.05])]
        let plain = HTMLReport(title: "t", entries: entries, profile: nil, generatedBy: "test", decision: decision(entries)).render()
        let weights = ["m": "Q4_1"]
        let caveated = HTMLReport(title: "t", entries: entries, profile: nil, generatedBy: "test", decision: decision(entries, weights: weights),
                                  sourceWeights: weights).render()
        #expect(!plain.contains("source weights are already Q4_1") && !plain.contains(" †"))
        // The table's ΔPPL and KLD cells (2 runs × 2), the footnote, the chart's axis, the summary.
        #expect(caveated.components(separatedBy: " †</td>").count - 1 == 4)
        #expect(caveated.contains("† m&#39;s source weights are already Q4_1"))
        #expect(caveated.contains("KL divergence vs F32 of the Q4_1 source ⚠"))
        #expect(caveated.contains("⚠ measured against the F32 conversion of the Q4_1 source weights"))
        #expect(caveated.contains("Quality: m&#39;s source weights are already Q4_1"))
        // A synthetic model never gets quality figures, so no caveat either.
        #expect(Decision.caveat(model: "other", sourceWeights: weights) == nil)
    }

    @Test func eachThreadCountHasItsOwnRooflineAndInt8KernelsMeetTheInt8Ceiling() throws {
        var profile = try F.profile("box", fingerprint: "box", points: [(1, 10, 50), (2, 15, 100)])
        profile.bandwidth!.points[0].int8GOPS = .init(best: 100, median: 100)
        profile.bandwidth!.points[1].int8GOPS = .init(best: 200, median: 200)
        // q4_0 on llama.cpp: int8; f16: f32 FMAs. 150M params, 100 MB: decode at 50 t/s reads 5 GB/s.
        let runs = [Self.run("q4_0", threads: 1, tg: 50), Self.run("f16", threads: 1, tg: 20), Self.run("q4_0", threads: 2, tg: 70)]
        let report = HTMLReport(title: "t", entries: runs, profile: profile, generatedBy: "test")
        let charts = report.rooflines()
        #expect(charts.map { String($0.chart.title.prefix(17)) } == ["Roofline at 1 thr", "Roofline at 2 thr"])
        let one = charts[0].chart, two = charts[1].chart
        #expect(one.ceilings.map(\.name) == ["read bandwidth 10.0 GB/s", "f32 FMA peak 50 GFLOP/s", "int8 peak 100 GOP/s"])
        #expect(two.ceilings.map(\.name) == ["read bandwidth 15.0 GB/s", "f32 FMA peak 100 GFLOP/s", "int8 peak 200 GOP/s"])
        #expect(Set(one.series.map(\.name)) == ["decode, int8 kernels", "decode, f32 kernels", "prefill, int8 kernels", "prefill, f32 kernels"])
        #expect(two.series.flatMap(\.points).count == 2, "a 2-thread chart holds the 2-thread run only")
        // Prefill at 300 t/s × 0.3 GFLOP = 90 GFLOP/s: under the int8 peak (100), over the f32 one (50).
        #expect(charts[0].overBound.count == 1 && charts[0].overBound[0].contains("f16") && charts[0].overBound[0].contains("prefill"))
        let html = report.render()
        #expect(html.contains("Above their ceiling — a measurement problem, not a result"))
        #expect(html.contains("over its ceiling (180%): a measurement problem</title>"))
        #expect(Roofline.int8Kernel(runs[0].config) && !Roofline.int8Kernel(runs[1].config))
        var lab = runs[0].config
        lab.backend = "native"; lab.modelType = "q4_k"
        #expect(!Roofline.int8Kernel(lab), "the native engine dequantizes K-quants to f32")
    }

    @Test func aComparisonPutsSidesSideBySideAndMarksPredictedAndFlaggedRows() throws {
        let a = [Self.run("q4_0", tg: 50), Self.run("q8_0", tg: 40, flags: ["drift"]), Self.quality(kld: ["q4_0": 0.05, "q8_0": 0.01])]
        var predicted = Self.run("q4_0", tg: 20)
        predicted.kind = .prediction
        predicted.summary = MetricValues(raw: ["tg_error_p90": 0.25, "pp_error_p90": 0.3, "ttft_ms": 100])
        let sides = [ReportSide(letter: "A", name: "s1", kind: .local, device: "box", entries: a, profile: nil, decision: decision(a)),
                     ReportSide(letter: "B", name: "pi", kind: .predicted, device: "pi", entries: [predicted], profile: nil,
                                decision: decision([predicted] + a.filter { $0.kind == .quality }), errorLabel: "p90")]
        let report = ComparisonReport(sides: sides, generatedBy: "test", sourceWeights: ["m": "Q4_1"])
        #expect(report.title == "slmbench comparison — box s1 vs pi (predicted)")
        let html = report.html()
        #expect(html.contains("20.0 ±25%") && html.contains("×0.40 (predicted: no test)"))
        #expect(html.contains("(predicted, not measured)") && html.contains("(measured here)"))
        // The flagged run's bar is hollow with its flag in the title; the predicted bar is hatched.
        #expect(html.contains("fill=\"#fff\" stroke=\"#0072B2\" stroke-width=\"1.5\" class=\"flagged\"><title>A m q8_0 llama.cpp t1 b1: 40.0 t/s ⚑ drift</title>"))
        #expect(html.contains("fill=\"url(#hatch1)\""))
        #expect(html.contains("<title id=\"cbt\">") && html.contains("<desc id=\"cbd\">"))
        #expect(html.contains("m&#39;s source weights are already Q4_1"))
        let md = report.markdown()
        #expect(md.contains("| m q4_0 llama.cpp t1 b1 | 50.0 | 20.0 ±25% | ×0.40 (predicted: no test) |"), "\(md)")
    }
}
