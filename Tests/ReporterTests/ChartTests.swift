import Foundation
import Measures
@testable import Reporter
import ResultStore
import Testing

/// Charts a stakeholder reads without the numbers: series that cannot be confused, labels that do
/// not sit on each other, and a text alternative for screen readers.
@Suite("charts")
struct ChartTests {
    static func run(_ model: String, _ type: String, _ backend: String, threads: Int, tg: Double, flags: [String] = []) -> StoredRun {
        StoredRun(sweepId: "s", key: "\(model)|\(type)|\(backend)|\(threads)", kind: .run, seq: 0, status: .ok, reason: nil,
                  config: RunConfig(model: model, modelType: type, backend: backend, nThreads: threads, nSeq: 1, nPrompt: 32, nGen: 16,
                                    nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: 80_000_000, modelNParams: 134_000_000,
                                    synthetic: false),
                  avgTs: tg, stddevTs: 1, samplesTs: [tg], ppAvgTs: tg * 3, tgAvgTs: tg, peakRssBytes: 100_000_000, predictedBytes: nil,
                  summary: MetricValues(raw: ["ttft_ms": 12]), flags: flags, finishedAt: "t", record: "{}", context: "{}")
    }

    /// 3 models × 6 types × 2 backends: 36 series, more than the palette has colours (7) and more
    /// than the 13 the issue counted in the demo's report.
    static let many: [StoredRun] = ["a", "b", "c"].flatMap { model in
        ["f16", "q8_0", "q4_0", "q4_1", "q6_k", "q4_k_m"].flatMap { type in
            ["native", "llama.cpp"].flatMap { backend in
                [1, 2].map { run(model, type, backend, threads: $0, tg: Double(10 * $0) + Double(type.count)) }
            }
        }
    }

    @Test func noTwoSeriesShareAColourAndAMarker() throws {
        let report = HTMLReport(title: "t", entries: Self.many, profile: nil, generatedBy: "test")
        for chart in [report.threadScaling(), report.batchScaling(), report.qualityTradeoff()] + report.rooflines().map(\.chart) {
            let styles = chart.styles()
            #expect(styles.count == chart.series.count)
            let pairs = styles.map { [$0.color, $0.marker.rawValue] }
            #expect(Set(pairs).count == pairs.count, "\(chart.title): \(pairs)")
        }
        // Colour by type, marker by backend, line style by model while they are free.
        let scaling = report.threadScaling()
        let styles = Dictionary(uniqueKeysWithValues: zip(scaling.series.map(\.name), scaling.styles()))
        let nativeA = try #require(styles["a q8_0 native"]), llamaA = try #require(styles["a q8_0 llama.cpp"])
        #expect(nativeA.color == llamaA.color && nativeA.marker != llamaA.marker && nativeA.dash == llamaA.dash)
        #expect(styles["b q8_0 native"]?.dash != nativeA.dash)
    }

    @Test func labelsDoNotOverlapAndTheLeftOutOnesAreListed() throws {
        // Twelve labelled points on one spot and one far away: not all twelve labels fit around the spot.
        let points = (0..<12).map { SVGChart.Point(x: 1 + Double($0) * 0.001, y: 100 + Double($0) * 0.01, label: "label-\($0)") }
            + [SVGChart.Point(x: 5, y: 50, label: "alone")]
        let chart = SVGChart(title: "crowd", xLabel: "x", yLabel: "y", series: [.init(name: "s", points: points, lines: false)])
        let (svg, dropped) = chart.renderSVG()
        let drawn = try #require(svg).components(separatedBy: "class=\"label\"").count - 1
        #expect(drawn + dropped.count == 13 && !dropped.isEmpty && drawn >= 2 && !dropped.contains("s: alone"), "\(drawn) drawn, \(dropped)")
        let figure = chart.render()
        let first = try #require(dropped.first)
        #expect(figure.contains("Labels left out where they would overlap") && figure.contains(first))
        // The drawn labels' boxes (from their x, y and length) do not intersect.
        let pattern = try NSRegularExpression(pattern: "<text x=\"([0-9.]+)\" y=\"([0-9.]+)\" class=\"label\">([^<]*)</text>")
        let s = try #require(svg)
        let boxes = pattern.matches(in: s, range: NSRange(s.startIndex..., in: s)).map { m -> SVGChart.Box in
            let g = { (i: Int) in String(s[Range(m.range(at: i), in: s)!]) }
            return SVGChart.Box(x: Double(g(1))!, y: Double(g(2))! - 9, w: Double(g(3).count) * 5.6 + 2, h: 11)
        }
        #expect(boxes.count == drawn)
        for i in boxes.indices { for j in boxes.indices where j > i { #expect(!boxes[i].overlaps(boxes[j]), "labels \(i) and \(j) overlap") } }
    }

    @Test func everyChartHasATitleAndADescriptionAndFlaggedPointsNameTheirFlags() throws {
        var entries = Self.many
        entries[0].flags = ["drift", "high-cv"]
        let html = HTMLReport(title: "t", entries: entries, profile: nil, generatedBy: "test").render()
        let svgs = html.components(separatedBy: "<svg").dropFirst()
        #expect(svgs.count >= 4)
        for svg in svgs where svg.contains("role=\"img\"") && svg.contains("aria-labelledby") {
            #expect(svg.contains("<title id=") && svg.contains("<desc id="), "\(svg.prefix(200))")
        }
        #expect(html.contains("⚑ drift,high-cv</title>"))
        #expect(html.contains("Hollow points are runs flagged as noisy or drifting."))
    }
}

@Suite("roofline figures")
struct RooflineFigureTests {
    @Test func aFigureOverTheBoundIsAMeasurementProblemNotAResult() throws {
        #expect(Roofline.label(nil) == "—" && Roofline.label(64.4) == "64%" && Roofline.label(100) == "100%")
        #expect(Roofline.label(102).hasPrefix("⚠ 102%") && Roofline.label(102).contains("measurement problem"))
        // 100 MB of weights a step at 20 steps/s is 2 GB/s, against a probed 1 GB/s: 200%.
        let profile = try PredictionFixtures.profile("box", fingerprint: "box", points: [(1, 1, 10)])
        let over = PredictionFixtures.run("over", fingerprint: "box", threads: 1, tg: 20, pp: 100)
        var under = over
        under.key = "under"
        under.tgAvgTs = 5
        under.avgTs = 5
        #expect(abs(try #require(Roofline.percent(over, on: profile)) - 200) < 1e-9)
        let table = ResultsTable.markdown([over, under], profile: profile)
        #expect(table.contains("⚠ 200% (over the bound: a measurement problem)") && table.contains("| 50% |"), "\(table)")
        let html = HTMLReport(title: "t", entries: [over], profile: profile, generatedBy: "test").render()
        #expect(html.contains("⚠ 200%"))
    }
}
