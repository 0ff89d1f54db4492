import Foundation
import Reporter
import ResultStore
import Testing

@Suite("HTML report")
struct HTMLReportTests {
    func run(model: String, threads: Int, tg: Double, reason: String? = nil) -> StoredRun {
        StoredRun(sweepId: "s<1>", key: "\(model)|\(threads)", kind: "run", seq: threads, status: "ok", reason: reason,
                  config: RunConfig(model: model, modelType: "q4_0", backend: "native", nThreads: threads, nSeq: 1, nPrompt: 32, nGen: 16,
                                    nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: 80_000_000, modelNParams: 134_000_000,
                                    synthetic: false),
                  avgTs: tg, stddevTs: 1, samplesTs: [tg], ppAvgTs: tg * 3, tgAvgTs: tg, peakRssBytes: 100_000_000, predictedBytes: nil,
                  summary: ["ttft_ms": 12], flags: [], finishedAt: "t", record: "{}", context: "{}")
    }

    @Test func everyStringFromResultsIsEscapedAndNothingIsFetchedOrRun() {
        let hostile = "<script>alert(1)</script>\"'&<img src=x onerror=alert(2)>"
        let html = HTMLReport(title: "report \(hostile)", entries: [run(model: hostile, threads: 1, tg: 50), run(model: hostile, threads: 2, tg: 90)],
                              profile: nil, generatedBy: "test").render()
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"))
        // Self-contained: no external resource of any kind (the SVG namespace is an identifier, not a fetch).
        let withoutNamespace = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!withoutNamespace.contains("http://") && !withoutNamespace.contains("https://"))
        #expect(withoutNamespace.range(of: "<[^>]*\\b(src|href)=", options: .regularExpression) == nil, "an element loads something")
        #expect(html.contains("default-src 'none'"))
        // The charts are drawn: thread scaling has both points of the series.
        #expect(html.components(separatedBy: "<svg").count - 1 >= 4)
        #expect(html.contains("Thread scaling") && html.contains("Roofline"))
    }

    @Test func theParetoFrontMarksOnlyUndominatedBitWidths() {
        func point(_ type: String, _ tg: Double) -> StoredRun {
            var r = run(model: "m", threads: 2, tg: tg)
            r.key = type
            r.config.modelType = type
            return r
        }
        // KLD per type from a quality entry: q8_0 best quality, q4_0 fastest, q5_1 dominated by q4_1.
        var quality = run(model: "m", threads: 1, tg: 0)
        quality.kind = "quality"
        quality.summary = ["q8_0.ppl": 10, "q8_0.kld": 0.001, "q4_1.ppl": 10.4, "q4_1.kld": 0.05,
                           "q5_1.ppl": 11, "q5_1.kld": 0.08, "q4_0.ppl": 12, "q4_0.kld": 0.3]
        let html = HTMLReport(title: "t", entries: [point("q8_0", 60), point("q4_1", 80), point("q5_1", 70), point("q4_0", 95), quality],
                              profile: nil, generatedBy: "test").render()
        // Marked points are drawn larger (r="6"); q5_1 is slower and worse than q4_1.
        let marked = html.components(separatedBy: "r=\"6\"").count - 1
        #expect(marked == 3, "\(marked) points marked")
        #expect(html.contains("Pareto front"))
    }
}
