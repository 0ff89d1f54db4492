import Foundation
import Measures
import Reporter
import ResultStore
import Testing

/// One type quantized by two methods is two files: the results table, the recommendation and the
/// HTML table must give each run its own method's quality, not whichever entry came last.
@Suite("quality by method")
struct QualityByMethodTests {
    static func run(_ type: String, method: String?, tg: Double) -> StoredRun {
        StoredRun(sweepId: "s", key: "\(type)|\(method ?? "rtn")", kind: .run, seq: 0, status: .ok, reason: nil,
                  config: RunConfig(model: "m", modelType: type, backend: "native", nThreads: 2, nSeq: 1, nPrompt: 32, nGen: 16, nDepth: 0,
                                    kvType: "f16", placement: "none", cpus: [], modelSize: nil, modelNParams: nil, synthetic: false,
                                    quantMethod: method, calibration: method == nil ? nil : "calibration.txt"),
                  avgTs: tg, stddevTs: 1, samplesTs: [tg], ppAvgTs: nil, tgAvgTs: tg, peakRssBytes: 100 << 20, predictedBytes: nil,
                  summary: MetricValues(raw: ["ttft_ms": 100]), flags: [], finishedAt: "t", record: "{}", context: "{}")
    }

    static func quality(method: String?, kld: Double) -> StoredRun {
        var q = run("q4_0", method: method, tg: 0)
        q.kind = .quality
        q.key = "quality|m" + (method.map { "|m-\($0)" } ?? "")
        q.summary = MetricValues(raw: ["q4_0.ppl": 10 + kld, "q4_0.kld": kld, "f32.ppl": 10])
        return q
    }

    // rtn's quality entry last, so a key without the method would show rtn's KLD on every row.
    static let entries = [run("q4_0", method: nil, tg: 100), run("q4_0", method: "gptq", tg: 101), run("q4_0", method: "imatrix", tg: 99),
                          quality(method: "gptq", kld: 0.0421), quality(method: "imatrix", kld: 0.0733), quality(method: nil, kld: 0.1234)]

    @Test func theMarkdownTableShowsEachMethodsOwnKLDInAMethodColumn() throws {
        let table = ResultsTable.markdown(Self.entries)
        let rows = table.split(separator: "\n").filter { $0.hasPrefix("| ") }
        let header = try #require(rows.first).split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        let method = try #require(header.firstIndex(of: "method")), kld = try #require(header.firstIndex(of: "KLD"))
        var byMethod: [String: String] = [:]
        for row in rows.dropFirst() {
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            byMethod[cells[method + 1]] = cells[kld + 1]
        }
        #expect(byMethod == ["rtn": "0.1234", "gptq": "0.0421", "imatrix": "0.0733"])
    }

    @Test func oneMethodAddsNoColumn() {
        let rtnOnly = [Self.run("q4_0", method: nil, tg: 100), Self.run("q8_0", method: nil, tg: 80), Self.quality(method: nil, kld: 0.1234)]
        let table = ResultsTable.markdown(rtnOnly)
        #expect(!table.contains("method"))
        #expect(table.contains("0.1234"))
    }

    @Test func recommendationsAndTheHTMLTableUseTheRunsMethod() {
        let r = Recommendation(entries: Self.entries, constraints: .init(minDecodeTps: 1, maxMemoryBytes: nil, maxKLD: 1))
        let kld = Dictionary(uniqueKeysWithValues: r.feasible.map { ($0.run.config.method, $0.kld) })
        #expect(kld == ["rtn": 0.1234, "gptq": 0.0421, "imatrix": 0.0733])
        let html = HTMLReport(title: "t", entries: Self.entries, profile: nil, generatedBy: "test", sourceWeights: [:]).render()
        for value in ["0.1234", "0.0421", "0.0733"] { #expect(html.contains(value), "the HTML table lacks \(value)") }
    }
}
