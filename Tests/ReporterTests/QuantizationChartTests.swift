import DeviceProbe
import Foundation
import Measures
import Reporter
import ResultStore
import TestSupport
import Testing

/// The report's quantization section: size against KLD per method with each method's front, and
/// the sensitivity heat map. Checked as text here and in Chromium below.
@Suite("quantization charts")
struct QuantizationChartTests {
    /// A quality entry of one method: variants (type → bytes, KLD) against F32 of `f32` bytes.
    static func quality(method: String?, variants: [(String, Double, Double)], f32: Double = 540_000_000) -> StoredRun {
        var values = ["F32.weights_bytes": f32, "F32.ppl": 10]
        for (name, bytes, kld) in variants {
            values["\(name).weights_bytes"] = bytes
            values["\(name).kld"] = kld
            values["\(name).ppl"] = 10 + kld
        }
        return StoredRun(sweepId: "s", key: "quality|smollm2-135m" + (method.map { "|m-\($0)" } ?? ""), kind: .quality, seq: 2_000_000, status: .ok,
                         reason: nil,
                         config: RunConfig(model: "smollm2-135m", modelType: variants.map(\.0).joined(separator: ","), backend: "native", nThreads: 2,
                                           nSeq: 1, nPrompt: 256, nGen: 0, nDepth: 0, kvType: "f32", placement: "none", cpus: [], modelSize: nil,
                                           modelNParams: nil, synthetic: false, quantMethod: method,
                                           calibration: method == nil ? nil : "/usr/share/common-licenses/GFDL-1.3"),
                         avgTs: nil, stddevTs: nil, samplesTs: [], ppAvgTs: nil, tgAvgTs: nil, peakRssBytes: nil, predictedBytes: nil,
                         summary: MetricValues(raw: values), flags: [], finishedAt: "t", record: "{}", context: "{}")
    }

    static let entries = [
        // rtn: q2_k is small and lossy, q4_k_m large and close, q5_0 dominated by q4_k_m (larger and worse).
        quality(method: nil, variants: [("q2_k", 60e6, 0.30), ("q4_k", 90e6, 0.020), ("q4_k_m", 100e6, 0.012), ("q5_0", 110e6, 0.015),
                                         ("mix:/tmp/mixes/budget-4.5.txt", 75e6, 0.010)]),
        quality(method: "gptq", variants: [("q2_k", 60e6, 0.12), ("q4_k", 90e6, 0.011)]),
        // A method with one point: its front is that point.
        quality(method: "imatrix", variants: [("q4_k", 89e6, 0.015)]),
    ]

    static let heatMap: SensitivityHeatMap = {
        var cells: [SensitivityHeatMap.Cell] = []
        for layer in 0..<30 {
            for (k, kind) in ["attn_q", "attn_k", "attn_v", "attn_o", "ffn_gate", "ffn_up", "ffn_down"].enumerated() {
                cells.append(.init(layer: layer, kind: kind, unit: "blk.\(layer).\(kind).weight", usedType: "q4_0",
                                   meanKLD: 1e-4 * Double(k + 1) * (layer == 0 ? 50 : 1)))
            }
        }
        cells.append(.init(layer: nil, kind: "embedding", unit: "token_embd.weight", usedType: "q4_0", meanKLD: 0.02))
        return SensitivityHeatMap(model: "SmolLM2-135M-Instruct.Q4_1.gguf", type: "q3_k", corpus: "GFDL", method: "round trip",
                                  tiedOutput: true, caveat: "the source weights are already Q4_1", cells: cells)
    }()

    static func report() -> HTMLReport {
        var report = HTMLReport(title: "quantization", entries: entries, profile: nil, generatedBy: "test", sourceWeights: ["smollm2-135m": "Q4_1"])
        report.sensitivity = [heatMap]
        return report
    }

    @Test func theTradeoffHasASeriesAndAFrontPerMethodAndTheHeatMapEveryCell() throws {
        let html = Self.report().render()
        #expect(html.contains("Quantization trade-off: size vs quality loss, per method"))
        // One front line per method, each in its method's colour.
        #expect(html.components(separatedBy: "class=\"front\"").count - 1 == 3, "three fronts")
        for method in ["rtn", "gptq", "imatrix"] {
            #expect(html.components(separatedBy: "class=\"front\" data-series=\"\(method)\"").count - 1 == 1, "one front for \(method)")
        }
        // rtn's front: q2_k and the mix; q4_k, q4_k_m and q5_0 are each larger than the mix and worse.
        let start = try #require(html.range(of: "<div class=\"tradeoff\">")), end = try #require(html.range(of: "<div class=\"sensitivity\">"))
        let tradeoff = String(html[start.upperBound..<end.lowerBound])
        let ringed = tradeoff.components(separatedBy: "r=\"9\"").count - 1
        #expect(ringed == 2 + 2 + 1, "two rtn points, both gptq points and imatrix's one on their fronts; got \(ringed)")
        #expect(tradeoff.contains("mix:budget-4.5.txt"), "a mix is labelled by its file name")
        #expect(tradeoff.contains(">gptq<") && tradeoff.contains(">rtn<"), "the legend names each method")
        // One model: each method has its own marker and a colour apart (rtn circles in blue, imatrix squares in
        // orange, gptq triangles in green), so gptq and imatrix are not told apart by orange against vermillion.
        #expect(tradeoff.contains("<circle") && tradeoff.contains("<rect x=") && tradeoff.contains("<polygon"))
        #expect(tradeoff.contains("#009E73") && !tradeoff.contains("#D55E00"), "gptq green, no vermillion beside imatrix's orange")
        // Bits per weight: 32 × bytes ÷ F32 bytes (q4_k: 32 × 90 ÷ 540 = 5.33).
        #expect(tradeoff.contains("(5.33, 0.02)") || tradeoff.contains("(5.33, 0.0200)"), "q4_k at 5.33 b/w")
        // The caveat stays with the quality figures.
        #expect(tradeoff.contains("Q4_1 source †"))
        #expect(html.contains("Sensitivity to q3_k"))
        #expect(html.components(separatedBy: "class=\"cell\"").count - 1 == 30 * 7 + 1)
        #expect(html.contains("outside blocks") && html.contains("embedding column covers both uses"))
        #expect(html.contains("mean KLD †</text>") && html.contains("nats, log scale"), "the heat map has its legend, its unit and the source mark")
        // Darkest where the loss is largest: layer 0's ffn_down (350× the smallest) gets the ramp's end colour.
        #expect(html.contains("blk.0.ffn_down.weight in q4_0: mean KLD 0.035"))
        #expect(html.contains("fill=\"#800026\"><title>blk.0.ffn_down.weight"))
    }

    @Test func withoutSizedQualityOrSensitivityThereIsNoSection() {
        let html = HTMLReport(title: "none", entries: [], profile: nil, generatedBy: "test").render()
        #expect(!html.contains("Quantization: methods, mixes and sensitivity"))
    }

    /// In Chromium: both charts are in the rendered DOM with their parts, and the page logs no
    /// console error. Writes the screenshot to $SLMBENCH_SCREENSHOT when set (to look at).
    @Test func bothChartsRenderInChromium() throws {
        let browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let chromium = try #require(browser, Comment(rawValue: HTMLReportBrowserTests.browserMissing))
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("report.html")
        try Data(Self.report().render().utf8).write(to: file)
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0"]
        let dom = try runCommand(URL(fileURLWithPath: "/usr/bin/timeout"), ["120", chromium] + flags + ["--dump-dom", file.absoluteString])
        try #require(dom.status == 0 && dom.stdout.contains("</html>"), "chromium failed: \(dom.stderr.suffix(800))")
        let consoleErrors = dom.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        #expect(consoleErrors.isEmpty, "\(consoleErrors)")
        #expect(dom.stdout.contains("Quantization trade-off") && dom.stdout.contains("Sensitivity to q3_k"))
        #expect(dom.stdout.components(separatedBy: "class=\"front\"").count - 1 == 3)
        #expect(dom.stdout.components(separatedBy: "class=\"cell\"").count - 1 == 211)
        #expect(dom.stdout.components(separatedBy: "class=\"legend-step\"").count - 1 == 24)
        let shot = ProcessInfo.processInfo.environment["SLMBENCH_SCREENSHOT"] ?? dir.appendingPathComponent("shot.png").path
        let png = try runCommand(URL(fileURLWithPath: "/usr/bin/timeout"),
                                 ["120", chromium] + flags + ["--window-size=1280,2600", "--screenshot=\(shot)", file.absoluteString])
        try #require(png.status == 0, "chromium failed: \(png.stderr.suffix(800))")
        let size = try FileManager.default.attributesOfItem(atPath: shot)[.size] as? Int ?? 0
        #expect(size > 20_000, "a screenshot of \(size) bytes is too small to hold the charts")
    }
}
