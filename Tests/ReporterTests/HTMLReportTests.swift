import Foundation
import Measures
import Reporter
import ResultStore
import DeviceProbe
import TestSupport
import Testing

@Suite("HTML report")
struct HTMLReportTests {
    func run(model: String, threads: Int, tg: Double, reason: String? = nil) -> StoredRun {
        StoredRun(sweepId: "s<1>", key: "\(model)|\(threads)", kind: .run, seq: threads, status: .ok, reason: reason,
                  config: RunConfig(model: model, modelType: "q4_0", backend: "native", nThreads: threads, nSeq: 1, nPrompt: 32, nGen: 16,
                                    nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: 80_000_000, modelNParams: 134_000_000,
                                    synthetic: false),
                  avgTs: tg, stddevTs: 1, samplesTs: [tg], ppAvgTs: tg * 3, tgAvgTs: tg, peakRssBytes: 100_000_000, predictedBytes: nil,
                  summary: MetricValues(raw: ["ttft_ms": 12]), flags: [], finishedAt: "t", record: "{}", context: "{}")
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
        quality.kind = .quality
        quality.summary = MetricValues(raw: ["q8_0.ppl": 10, "q8_0.kld": 0.001, "q4_1.ppl": 10.4, "q4_1.kld": 0.05,
                           "q5_1.ppl": 11, "q5_1.kld": 0.08, "q4_0.ppl": 12, "q4_0.kld": 0.3])
        let html = HTMLReport(title: "t", entries: [point("q8_0", 60), point("q4_1", 80), point("q5_1", 70), point("q4_0", 95), quality],
                              profile: nil, generatedBy: "test").render()
        // Marked points are ringed (class "marked"); q5_1 is slower and worse than q4_1.
        let marked = html.components(separatedBy: "marked\"").count - 1
        #expect(marked == 3, "\(marked) points marked")
        #expect(html.contains("Pareto front"))
    }

    @Test func aFlaggedRunIsDrawnHollowAndTheLegendSaysWhy() {
        var noisy = run(model: "m", threads: 2, tg: 90)
        noisy.flags = ["high-cv"]
        let clean = HTMLReport(title: "t", entries: [run(model: "m", threads: 1, tg: 50), run(model: "m", threads: 2, tg: 90)],
                               profile: nil, generatedBy: "test").render()
        let flagged = HTMLReport(title: "t", entries: [run(model: "m", threads: 1, tg: 50), noisy], profile: nil, generatedBy: "test").render()
        #expect(!clean.contains("point flagged") && !clean.contains("hollow:"))
        // The noisy run is one point in thread scaling, one in batch scaling and two in the roofline (decode and prefill).
        let hollow = flagged.components(separatedBy: "point flagged").count - 1
        #expect(hollow == 4, "\(hollow) hollow points")
        #expect(flagged.contains("fill=\"#fff\" stroke=") && flagged.contains("hollow: flagged (noisy or drift)"))
        // A flag slmbench does not know is not a quality mark.
        var unknown = noisy
        unknown.flags = ["later-flag"]
        #expect(!HTMLReport(title: "t", entries: [unknown], profile: nil, generatedBy: "test").render().contains("point flagged"))
    }
}

/// Hostile strings in a report, loaded by a real browser: nothing of them may run.
@Suite("HTML report in Chromium")
struct HTMLReportBrowserTests {
    static let browserMissing = "Chromium is not installed: scripts/bootstrap.sh --with-browser installs it (scripts/test.sh does)"

    /// Payloads that, if any ran, would write "EXECUTED…" (built by concatenation, so the word is
    /// never in the page as text) into the page's title or body.
    static let payloads = [
        "<script>document.title='EXEC'+'UTED-1'</script>",
        "\"><img src=x onerror=\"document.title='EXEC'+'UTED-2'\">",
        "'><svg onload=\"document.title='EXEC'+'UTED-3'\"></svg>",
        "</title><script>document.title='EXEC'+'UTED-4'</script>",
        "</style><script>document.title='EXEC'+'UTED-5'</script>",
        "<iframe srcdoc=\"<script>parent.document.title='EXEC'+'UTED-6'</script>\"></iframe>",
        "<a href=\"javascript:document.title='EXEC'+'UTED-7'\">x</a><details open ontoggle=\"document.title='EXEC'+'UTED-8'\">",
        "]]><script>document.title='EXEC'+'UTED-9'</script><![CDATA[",
        String(repeating: "very-long-model-name-", count: 400) + "\u{202E}gnp.exe",
    ]

    @Test func hostileNamesHostsAndPathsDoNotExecute() throws {
        let browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let chromium = try #require(browser, Comment(rawValue: Self.browserMissing))
        var entries: [StoredRun] = []
        for (i, payload) in Self.payloads.enumerated() {
            for threads in [1, 2] {
                entries.append(StoredRun(
                    sweepId: "sweep\(payload)", key: "\(i)|\(threads)", kind: .run, seq: 2 * i + threads, status: .ok, reason: nil,
                    config: RunConfig(model: "m\(i)\(payload)", modelType: "q4_0", backend: "native\(payload)", nThreads: threads, nSeq: 1,
                                      nPrompt: 32, nGen: 16, nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: 80_000_000,
                                      modelNParams: 134_000_000, synthetic: false),
                    avgTs: Double(40 + i + threads), stddevTs: 1, samplesTs: [Double(40 + i)], ppAvgTs: 120, tgAvgTs: Double(40 + i + threads),
                    peakRssBytes: 100_000_000, predictedBytes: nil, summary: MetricValues(raw: ["ttft_ms": 12]), flags: [], finishedAt: "t", record: "{}",
                    context: "{\"model_file\": \"/models/\(i).gguf\", \"environment\": {\"hostname\": \"h\"}}"))
            }
        }
        var failed = entries[0]
        failed.key = "failed"
        failed.status = .failed
        failed.reason = "cannot open /models/\(Self.payloads[0]).gguf: \(Self.payloads[1])"
        entries.append(failed)
        let profileURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("profiles/hardware/raspberry-pi-5.json")
        var profile = try HardwareProfile.load(path: profileURL.path)
        profile.name = "pi\(Self.payloads[2])"
        profile.cpu.model = Self.payloads[3]
        profile.system = .init(os: Self.payloads[4], kernel: Self.payloads[7], hostname: "host\(Self.payloads[5])", virtualization: nil, hwlocVersion: nil)
        let html = HTMLReport(title: "report \(Self.payloads[6])", entries: entries, profile: profile, generatedBy: "test").render()
        #expect(html.contains("default-src 'none'"))

        // As shipped, and with the Content-Security-Policy taken out, so escaping alone is what is tested.
        let csp = try #require(html.range(of: "<meta http-equiv=\"Content-Security-Policy\"[^>]*>", options: .regularExpression))
        let dir = try TestPaths.temporaryDirectory()
        for (label, page) in [("shipped", html), ("without CSP", html.replacingCharacters(in: csp, with: ""))] {
            let file = dir.appendingPathComponent("\(label == "shipped" ? "report" : "no-csp").html")
            try Data(page.utf8).write(to: file)
            let dom = try runCommand(URL(fileURLWithPath: "/usr/bin/timeout"),
                                     ["120", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                      "--virtual-time-budget=2000", "--dump-dom", file.absoluteString])
            try #require(dom.status == 0 && dom.stdout.contains("</html>"), "\(label): chromium failed: \(dom.stderr.suffix(800))")
            #expect(!dom.stdout.contains("EXECUTED"), "\(label): a payload ran")
            #expect(dom.stdout.contains("<title>report &lt;a href="), "\(label): the title is the escaped text")
            #expect(dom.stdout.components(separatedBy: "<svg").count - 1 >= 4, "\(label): the charts are there")
            // The payloads are on the page as text, where a reader sees them.
            #expect(dom.stdout.contains("m0&lt;script&gt;document.title="), "\(label)")
        }
    }
}
