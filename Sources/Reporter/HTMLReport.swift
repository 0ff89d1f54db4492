import DeviceProbe
import Foundation
import Measures
import ResultStore

/// The self-contained HTML report: one file, inline CSS and SVG, no scripts, no network.
public struct HTMLReport {
    public var title: String
    public var entries: [StoredRun]
    /// The machine's profile, for the roofline ceilings and the hardware section (nil: none known).
    public var profile: HardwareProfile?
    public var generatedBy: String
    /// The cost comparison, or why there is none (no device price, no runs with both phases).
    public var cost: Result<CostModel, CostError>?
    /// The answer the report opens with (nil: the report says why there is none).
    public var decision: Decision?
    /// Real models whose source weights are already quantized, and their type (`smollm2-135m` →
    /// `Q4_1`): every quality figure of theirs carries the caveat.
    public var sourceWeights: [String: String]
    /// Sensitivity heat maps to show (`report --sensitivity FILE.json`), one per type.
    public var sensitivity: [SensitivityHeatMap] = []

    public init(title: String, entries: [StoredRun], profile: HardwareProfile?, generatedBy: String, cost: Result<CostModel, CostError>? = nil,
                decision: Decision? = nil, sourceWeights: [String: String] = [:]) {
        self.title = title; self.entries = entries; self.profile = profile; self.generatedBy = generatedBy; self.cost = cost
        self.decision = decision; self.sourceWeights = sourceWeights
    }

    var runs: [StoredRun] { entries.filter { $0.kind == .run && $0.status == .ok } }

    static func series(_ r: StoredRun) -> String { "\(r.config.model) \(r.config.modelType) \(r.config.backend)" }

    /// Read bandwidth (GB/s) and f32 FMA peak (GFLOP/s) the probe measured at `threads` threads (or the nearest below).
    func ceilings(threads: Int) -> (bandwidth: Double, compute: Double, threads: Int)? {
        guard let profile, profile.bandwidth != nil, let c = Roofline.ceilings(profile, threads: threads), let compute = c.computeGFLOPS else { return nil }
        return (c.bandwidthGBps, compute, c.pointThreads)
    }

    /// Decode efficiency against the probed read bandwidth (see `Roofline.percent`).
    public func rooflinePercent(_ r: StoredRun) -> Double? { profile.flatMap { Roofline.percent(r, on: $0) } }

    /// One series per model, type and backend: colour by type, marker by model and backend
    /// together, line style by model (SVGChart gives a series whose colour and marker are taken
    /// the first free pair). Colour keeps meaning the type across models: a marker per backend
    /// alone would make the second model's series collide with the first's and change colour.
    func styledSeries(_ runs: [StoredRun], point: (StoredRun) -> SVGChart.Point) -> [SVGChart.Series] {
        let groups = Dictionary(grouping: runs, by: Self.series)
        let types = Set(runs.map(\.config.modelType)).sorted(), backends = Set(runs.map(\.config.backend)).sorted()
        let models = Set(runs.map(\.config.model)).sorted()
        return groups.keys.sorted().map { k in
            let c = groups[k]![0].config
            let markerIndex = models.firstIndex(of: c.model)! * backends.count + backends.firstIndex(of: c.backend)!
            let marker = SVGChart.Marker.allCases[markerIndex % SVGChart.Marker.allCases.count]
            let style = SVGChart.Style(color: types.firstIndex(of: c.modelType)!, marker: marker, dash: models.firstIndex(of: c.model)!)
            return .init(name: k, points: groups[k]!.map(point), style: style)
        }
    }

    func threadScaling() -> SVGChart {
        let batchOne = runs.filter { $0.config.nSeq == 1 && $0.tgAvgTs != nil }
        return SVGChart(title: "Thread scaling: decode throughput at batch 1", xLabel: "threads", yLabel: "decode t/s",
                        series: styledSeries(batchOne) { .init(x: Double($0.config.nThreads), y: $0.tgAvgTs!, flags: $0.runFlags.map(\.rawValue)) })
    }

    func batchScaling() -> SVGChart {
        let most = runs.map(\.config.nThreads).max() ?? 1
        let chosen = runs.filter { $0.config.nThreads == most && $0.tgAvgTs != nil }
        return SVGChart(title: "Batch scaling: aggregate decode throughput at \(most) thread\(most == 1 ? "" : "s")",
                        xLabel: "sequences decoded together (batch)", yLabel: "aggregate decode t/s",
                        series: styledSeries(chosen) { .init(x: Double($0.config.nSeq), y: $0.tgAvgTs!, flags: $0.runFlags.map(\.rawValue)) })
    }

    /// Decode t/s against KL divergence for the real models' bit-widths; the Pareto front (no other
    /// point both faster and closer to the full-precision weights) is marked.
    func qualityTradeoff() -> SVGChart {
        let quality = ResultsTable.qualityByModelType(entries)
        let most = runs.map(\.config.nThreads).max() ?? 1
        let chosen = runs.filter { !$0.config.synthetic && $0.config.nSeq == 1 && $0.config.nThreads == most && $0.tgAvgTs != nil }
        var points: [(String, Double, Double, String, [String])] = [] // series, kld, tps, label, flags
        for r in chosen {
            guard let q = quality[ResultsTable.qualityKey(r)], let kld = q.kld, kld > 0 else { continue }
            let bits = r.config.modelSize.flatMap { size in r.config.modelNParams.map { Double(size) * 8 / Double($0) } }
            points.append(("\(r.config.model) \(r.config.backend)", kld, r.tgAvgTs!,
                           r.config.modelType + (bits.map { String(format: " %.1f b/w", $0) } ?? ""), r.runFlags.map(\.rawValue)))
        }
        func dominated(_ p: (String, Double, Double, String, [String])) -> Bool {
            points.contains { $0.1 <= p.1 && $0.2 >= p.2 && ($0.1 < p.1 || $0.2 > p.2) }
        }
        let groups = Dictionary(grouping: points, by: \.0)
        let requantized = Set(chosen.map(\.config.model)).compactMap { sourceWeights[$0] }.sorted()
        let against = requantized.isEmpty ? "F32 (log scale; lower is better)" : "F32 of the \(requantized.joined(separator: "/")) source ⚠ (log; lower is better)"
        return SVGChart(title: "Bit-width trade-off: decode speed vs quality loss (batch 1, \(most) thread\(most == 1 ? "" : "s"))",
                        xLabel: "mean KL divergence vs \(against)", yLabel: "decode t/s",
                        series: groups.keys.sorted().map { k in
                            .init(name: k, points: groups[k]!.map { .init(x: $0.1, y: $0.2, label: $0.3, marked: !dominated($0), flags: $0.4) }, lines: false)
                        }, logX: true, frontName: "Pareto front")
    }

    /// One roofline per thread count (up to four, the most threads first dropped last), each run
    /// placed against the ceilings the probe measured at its own thread count: read bandwidth,
    /// and the compute peak of the kernel its matrix products use (int8 dot products for
    /// quantized types multiplied with 8-bit activations, f32 FMAs otherwise; `Roofline.int8Kernel`).
    /// A point above its ceiling is not a result but a measurement problem (the probe's figure or
    /// the bytes or operations counted are wrong): it is drawn hollow and listed under the chart.
    func rooflines() -> [(chart: SVGChart, overBound: [String])] {
        let threadCounts = Array(Set(runs.map(\.config.nThreads)).sorted().suffix(4))
        return threadCounts.map { roofline(threads: $0) }
    }

    func roofline(threads: Int) -> (chart: SVGChart, overBound: [String]) {
        let c = ceilings(threads: threads)
        let int8Peak = c.flatMap { _ in profile.flatMap { Roofline.ceilings($0, threads: threads)?.int8GOPS } }
        var groups: [String: [SVGChart.Point]] = [:]
        var overBound: [String] = []
        for r in runs where r.config.nThreads == threads {
            guard let size = r.config.modelSize, let params = r.config.modelNParams, size > 0 else { continue }
            let flopsPerToken = 2 * Double(params)
            let int8 = Roofline.int8Kernel(r.config)
            let kernel = int8 ? "int8 kernels" : "f32 kernels"
            let peak = int8 ? int8Peak : c?.compute
            let name = "\(r.config.model) \(r.config.modelType) \(r.config.backend) t\(threads) b\(r.config.nSeq)"
            func place(_ phase: String, x: Double, y: Double) {
                var flags = r.runFlags.map(\.rawValue)
                if let c {
                    let roof = min(x * c.bandwidth, peak ?? .infinity)
                    if y > roof {
                        flags.append(String(format: "over its ceiling (%.0f%%): a measurement problem", y / roof * 100))
                        overBound.append(String(format: "%@ %@ at %.0f%% of its ceiling", name, phase, y / roof * 100))
                    }
                }
                groups["\(phase), \(kernel)", default: []].append(.init(x: x, y: y, flags: flags))
            }
            if let tg = r.tgAvgTs, r.config.nGen > 0 {
                place("decode", x: flopsPerToken * Double(r.config.nSeq) / Double(size), y: flopsPerToken * tg / 1e9)
            }
            if let pp = r.ppAvgTs, r.config.nPrompt > 0 {
                let tokensPerPass = Double(min(r.config.nPrompt, 512))
                place("prefill", x: flopsPerToken * tokensPerPass / Double(size), y: flopsPerToken * pp / 1e9)
            }
        }
        var roofs: [SVGChart.Ceiling] = []
        if let c {
            let flat = c.threads < threads ? " (from \(c.threads) thr)" : ""
            roofs.append(.init(name: String(format: "read bandwidth %.1f GB/s", c.bandwidth) + flat, f: { $0 * c.bandwidth }, color: "#333", dash: "6 4"))
            roofs.append(.init(name: String(format: "f32 FMA peak %.0f GFLOP/s", c.compute), f: { _ in c.compute }, color: "#D55E00", dash: "2 3"))
            if let int8Peak { roofs.append(.init(name: String(format: "int8 peak %.0f GOP/s", int8Peak), f: { _ in int8Peak }, color: "#0072B2", dash: "8 3 2 3")) }
        }
        // Colour by kernel (the ceiling's colour), marker by phase.
        let order = ["decode, int8 kernels", "decode, f32 kernels", "prefill, int8 kernels", "prefill, f32 kernels"]
        let series: [SVGChart.Series] = order.compactMap { name in
            guard let points = groups[name] else { return nil }
            let style = SVGChart.Style(color: name.contains("int8") ? 0 : 3, marker: name.hasPrefix("decode") ? .circle : .square)
            return .init(name: name, points: points, lines: false, style: style)
        }
        var chart = SVGChart(title: "Roofline at \(threads) thread\(threads == 1 ? "" : "s"): each run against that thread count's ceilings",
                             xLabel: "operational intensity (FLOP per weight byte, log)", yLabel: "GFLOP/s (log)", series: series,
                             ceilings: roofs, logX: true, logY: true)
        chart.hollowMeaning = (legend: "hollow: flagged or over a ceiling", description: "Hollow points are runs flagged as noisy or drifting, or placed above their ceiling (a measurement problem).")
        return (chart, overBound)
    }

    func rooflineSection() -> String {
        var html = ""
        for (chart, over) in rooflines() {
            html += chart.render()
            if !over.isEmpty {
                html += "<p class=\"warn\">⚠ Above their ceiling — a measurement problem, not a result (no run computes or reads faster than the probe measured the hardware can; the probe's figure, or the bytes or operations counted per token, are wrong for these): \(over.map(HTML.escape).joined(separator: "; ")).</p>"
            }
        }
        return html.isEmpty ? "<p class=\"empty\">No runs to place.</p>" : html
    }

    /// Peak RSS per configuration as horizontal bars.
    func memoryBars() -> String {
        let rows = runs.filter { $0.peakRssBytes != nil }.sorted { $0.seq < $1.seq }.prefix(60)
        guard let most = rows.compactMap(\.peakRssBytes).max(), most > 0 else { return "<p class=\"empty\">No memory figures.</p>" }
        let barH = 16.0, left = 330.0, width = 720.0
        let height = Double(rows.count) * (barH + 4) + 40
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Peak resident memory per run\">"
        svg += "<title>Peak resident memory per run</title><desc>Horizontal bars, one per run: the worker's peak resident set in MB; blue bars are real weights, orange bars synthetic models.</desc>"
        svg += "<text x=\"10\" y=\"20\" class=\"title\">Memory: peak resident set of each run's worker (MB)</text>"
        for (i, r) in rows.enumerated() {
            let y = 32 + Double(i) * (barH + 4)
            let bytes = Double(r.peakRssBytes!)
            let w = (width - left - 90) * bytes / Double(most)
            let label = "\(r.config.model) \(r.config.modelType) \(r.config.backend) t\(r.config.nThreads) b\(r.config.nSeq)"
            svg += "<text x=\"\(left - 6)\" y=\"\(String(format: "%.1f", y + 12))\" class=\"tick\" text-anchor=\"end\">\(HTML.escape(SVGChart.shorten(label, 48)))</text>"
            svg += "<rect x=\"\(left)\" y=\"\(String(format: "%.1f", y))\" width=\"\(String(format: "%.1f", w))\" height=\"\(barH)\" fill=\"\(r.config.synthetic ? "#E69F00" : "#0072B2")\"/>"
            svg += "<text x=\"\(String(format: "%.1f", left + w + 4))\" y=\"\(String(format: "%.1f", y + 12))\" class=\"tick\">\(String(format: "%.0f", bytes / 1e6))</text>"
        }
        svg += "</svg>"
        return "<figure>\(svg)<figcaption>Blue: real weights; orange: synthetic models.</figcaption></figure>"
    }

    func table() -> String {
        let quality = ResultsTable.qualityByModelType(entries)
        var html = "<table><thead><tr>"
        // J/token and °C only when some run measured them (issue 25).
        let heat = entries.contains { $0.summary[.joulesPerToken] != nil || $0.summary[.maxTempC] != nil }
        let headers = ["model", "type", "backend", "threads", "batch", "test", "pp t/s", "tg t/s", "TTFT ms", "ITL p50 / p99 ms", "peak RSS MB",
                       "% roofline", "ΔPPL %", "KLD"] + (heat ? ["J/token", "max °C"] : []) + ["status"]
        html += headers.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        func num(_ x: Double?, _ f: String) -> String { x.map { String(format: f, $0) } ?? "—" }
        for r in entries where r.kind == .run {
            let c = r.config
            let q = c.synthetic ? nil : quality[ResultsTable.qualityKey(r)]
            let test = [c.nPrompt > 0 ? "pp\(c.nPrompt)" : nil, c.nGen > 0 ? "tg\(c.nGen)" : nil].compactMap { $0 }.joined(separator: "+")
            let tg = r.tgAvgTs.map { String(format: "%.1f ± %.1f", $0, r.stddevTs ?? 0) } ?? "—"
            let itl = r.summary[.itlP50].flatMap { a in r.summary[.itlP99].map { String(format: "%.2f / %.2f", a, $0) } } ?? "—"
            let status = r.status.rawValue + (r.flags.isEmpty ? "" : " (\(r.flags.joined(separator: ", ")))") + (r.reason.map { ": \($0)" } ?? "")
            let mark = q != nil && sourceWeights[c.model] != nil ? " †" : ""
            let cells = [c.model + (c.synthetic ? " (synthetic)" : ""), c.modelType, c.backend, String(c.nThreads), String(c.nSeq), test,
                         num(r.ppAvgTs, "%.1f"), tg, num(r.summary[.ttft], "%.1f"), itl, num(r.peakRssBytes.map { Double($0) / 1e6 }, "%.1f"),
                         Roofline.label(rooflinePercent(r)), num(q?.dppl, "%+.2f") + (q?.dppl != nil ? mark : ""), num(q?.kld, "%.4f") + (q?.kld != nil ? mark : "")]
                + (heat ? [num(r.summary[.joulesPerToken], "%.4f"), num(r.summary[.maxTempC], "%.1f")] : []) + [status]
            html += "<tr>" + cells.map { "<td>\(HTML.escape($0))</td>" }.joined() + "</tr>"
        }
        html += "</tbody></table>"
        return "<div class=\"scroll\">\(html)</div>" + caveats(for: entries.filter { $0.kind == .run && !$0.config.synthetic }.map(\.config.model), mark: "†")
    }

    /// The quality caveat for each listed model whose source weights are already quantized.
    func caveats(for models: [String], mark: String = "⚠") -> String {
        Set(models).sorted().compactMap { Decision.caveat(model: $0, sourceWeights: sourceWeights) }
            .map { "<p class=\"caveat\">\(mark) \(HTML.escape($0)).</p>" }.joined()
    }

    /// USD per million tokens: the cheapest device configurations next to every cloud option, as bars.
    func costSection() -> String {
        switch cost {
        case nil: return "<p class=\"empty\">No cost comparison: give the device's price (slmbench report … --hourly-usd or --price-usd with --load-watts).</p>"
        case .failure(let e)?: return "<p class=\"empty\">No cost comparison: \(HTML.escape(e.description)).</p>"
        case .success(let m)?:
            // Device rows: the cost at this workload and, lighter, at the planned utilisation (its best case).
            var bars: [(label: String, value: Double, capacity: Double?)] = m.deviceRows.prefix(6).map { d in
                let c = d.run.config
                let label = "\(m.device.name): \(c.model) \(c.modelType) \(c.backend) t\(c.nThreads) b\(c.nSeq)" + (d.run.kind == .prediction ? " (predicted)" : "")
                return (label, d.perMillionTokensUSD, d.perMillionAtCapacityUSD)
            }
            bars += m.cloudRows.map { ("cloud: \($0.option.name)", $0.perMillionTokensUSD, nil) }
            let most = bars.map { max($0.value, $0.capacity ?? 0) }.max() ?? 1
            let rowH = 22.0, left = 380.0, width = 960.0
            let height = Double(bars.count) * rowH + 92
            let w = m.workload
            let title = String(format: "Cost: USD per million tokens at %.0f requests/day × (%.0f in + %.0f out)", w.requestsPerDay.value, w.inputTokens.value, w.outputTokens.value)
            func f(_ v: Double) -> String { String(format: "%.1f", v) }
            var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"wide\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
            svg += "<title>\(HTML.escape(title))</title><desc>Horizontal bars: USD per million tokens for the cheapest device configurations (green; light green at the planned utilisation) and each cloud option's list price (orange).</desc>"
            svg += "<text x=\"10\" y=\"20\" class=\"title\">\(HTML.escape(title))</text>"
            for (i, bar) in bars.enumerated() {
                let y = 32 + Double(i) * rowH
                let span = width - left - 190 // room for "1.23 (full use 4.56)" after the longest bar
                svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 13))\" class=\"tick\" text-anchor=\"end\">\(HTML.escape(SVGChart.shorten(bar.label, 60)))</text>"
                if let capacity = bar.capacity {
                    let a = max(span * bar.value / most, 1), b = max(span * capacity / most, 1)
                    svg += "<rect x=\"\(f(left))\" y=\"\(f(y))\" width=\"\(f(a))\" height=\"10\" fill=\"#009E73\"/>"
                    svg += "<rect x=\"\(f(left))\" y=\"\(f(y + 10))\" width=\"\(f(b))\" height=\"8\" fill=\"#8FD3BE\"/>"
                    svg += "<text x=\"\(f(left + max(a, b) + 4))\" y=\"\(f(y + 13))\" class=\"tick\">\(String(format: bar.value < 1 ? "%.4f" : "%.2f", bar.value)) (full use \(String(format: capacity < 1 ? "%.4f" : "%.2f", capacity)))</text>"
                } else {
                    let a = max(span * bar.value / most, 1)
                    svg += "<rect x=\"\(f(left))\" y=\"\(f(y))\" width=\"\(f(a))\" height=\"18\" fill=\"#E69F00\"/>"
                    svg += "<text x=\"\(f(left + a + 4))\" y=\"\(f(y + 13))\" class=\"tick\">\(String(format: bar.value < 1 ? "%.4f" : "%.2f", bar.value))</text>"
                }
            }
            let captions = ["USD per million tokens, input and output together.",
                            "Green: \(m.device.name) at this workload (whole devices pay for idle time); light green: busy at the planned utilisation.",
                            "Orange: cloud list prices. Quality differs between these models: compare only options you would accept."]
            for (i, line) in captions.enumerated() {
                svg += "<text x=\"10\" y=\"\(f(height - 44 + Double(i) * 17))\" class=\"axis\">\(HTML.escape(line))</text>"
            }
            svg += "</svg>"
            var html = "<figure>\(svg)</figure>"
            html += "<table class=\"kv\"><tr><th>assumption</th><th>value</th><th>source</th></tr>"
            html += m.assumptions.map { "<tr><td>\(HTML.escape($0.name))</td><td>\(HTML.escape($0.value))</td><td>\(HTML.escape($0.source))</td></tr>" }.joined()
            return html + "</table>"
        }
    }

    func hardware() -> String {
        guard let p = profile else { return "<p>No hardware profile was found for these results.</p>" }
        var rows: [(String, String)] = [("name", p.name), ("fingerprint", p.fingerprint), ("CPU", "\(p.cpu.vendor) \(p.cpu.model)"),
                                        ("cores", "\(p.cpu.physicalCores) physical, \(p.cpu.logicalCPUs) logical"),
                                        ("SIMD", "\(p.isa.vectorWidthBits)-bit; \(p.isa.features.joined(separator: " "))"),
                                        ("memory", String(format: "%.1f GB total", Double(p.memory.totalBytes) / 1e9))]
        for point in p.bandwidth?.points ?? [] {
            rows.append(("\(point.threads) thread\(point.threads == 1 ? "" : "s")",
                         String(format: "read %.1f GB/s, f32 FMA %.0f GFLOP/s (medians)", point.readGBps?.median ?? .nan, point.fmaGFLOPS?.median ?? .nan)))
        }
        if let device { rows.insert(("device", device.url.map { $0 == device.name ? $0 : "\(device.name) (\($0))" } ?? device.name), at: 0) }
        if let s = p.system {
            if let host = s.hostname { rows.append(("host", host)) }
            rows.append(("system", [s.os, s.kernel].compactMap { $0 }.joined(separator: ", ")))
        }
        if let g = p.frequency?.governor { rows.append(("governor", g)) }
        return "<table class=\"kv\">" + rows.map { "<tr><th>\(HTML.escape($0.0))</th><td>\(HTML.escape($0.1))</td></tr>" }.joined() + "</table>"
    }

    static let methodology = """
        <ul>
        <li><b>pp t/s</b> (prefill throughput): prompt tokens ÷ wall time of the prefill of those tokens.</li>
        <li><b>tg t/s</b> (decode throughput): generated tokens ÷ wall time of generating them one step at a time; with batch B, all B sequences' tokens (aggregate).</li>
        <li><b>TTFT</b>: from the start of a request to the first generated token being available (prefill + first step + sampling); median shown.</li>
        <li><b>ITL</b>: the gaps between consecutive generated tokens, p50 and p99.</li>
        <li><b>Peak RSS</b>: the worker process's peak resident set, from the kernel.</li>
        <li><b>% roofline</b>: decode weight bytes per step × steps/s ÷ probed read bandwidth at the run's thread count.</li>
        <li><b>ΔPPL, KLD</b>: perplexity change and mean KL divergence of each bit-width against the F32 conversion of the same weights, on the quality corpus; never shown for synthetic models. When the source weights are already quantized (SmolLM2-135M's are Q4_1), every other type is a requantization and the F32 conversion carries the source's loss, which these figures do not include: such figures are marked.</li>
        <li><b>The answer</b>: the configurations that meet the constraints, ranked as slmbench recommend ranks them (the Pareto front over decode speed, memory and KL divergence first, fastest first); the first is recommended, the second is the runner-up.</li>
        <li><b>Statistics</b>: every run repeats after a warm-up until the 95% confidence interval (Student's t) of its primary metric is within the spec's target or the maximum count is reached; ± is one sample standard deviation. Flags: <i>high-cv</i> (coefficient of variation above the spec's limit), <i>ci-not-reached</i>, <i>drift</i> (a reference run next to it was more than the spec's threshold from the median reference).</li>
        </ul>
        """

    /// The page style, shared with the soak report.
    static let css = """
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
        h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
        .meta{color:#555}figure{margin:12px 0}svg{width:100%;max-width:940px;height:auto;background:#fff}
        svg .title{font-size:14px;font-weight:600}svg .tick{font-size:11px;fill:#444}svg .axis{font-size:12px;fill:#222}
        svg .legend{font-size:11px;fill:#222}svg .label{font-size:10px;fill:#333}svg .frame{fill:none;stroke:#999}svg .grid{stroke:#eee}
        table{border-collapse:collapse;font-size:12.5px;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 6px;text-align:right}
        th{background:#f4f4f4}td:nth-child(-n+6){text-align:left}table.kv td,table.kv th{text-align:left}
        .empty{color:#777;font-style:italic}.grid2{display:grid;grid-template-columns:1fr;gap:8px}
        .scroll{overflow-x:auto;max-width:100%}figure{overflow-x:auto}.warn{color:#a33}p.caveat{color:#8a4b00;margin:4px 0}
        .side-local{color:#0072B2}.side-remote{color:#009E73}.side-predicted{color:#b05a00}
        @media (max-width:640px){body{margin:8px auto;padding:0 10px;font-size:14px}h1{font-size:20px}h2{font-size:17px}figure svg{min-width:600px}figure svg.wide{min-width:820px}}
        @page{size:A4;margin:12mm}
        @media print{body{max-width:none;margin:0;padding:0;font-size:11px}h2{break-after:avoid;margin-top:18px}
        figure,.card,table.kv,p.caveat,.flags,.warn{break-inside:avoid}tr{break-inside:avoid}thead{display:table-header-group}
        .scroll,figure{overflow:visible}figure svg,figure svg.wide{min-width:0;max-width:100%}table{font-size:9px}th,td{padding:2px 3px}.card table.figures{font-size:10px}}
        """ + Decision.css
    /// The device the runs executed on (`sweep --on`), from the results' environment; nil: the host ran them.
    var device: (name: String, url: String?)? {
        guard let r = entries.first(where: { $0.environment("device") != nil }), let name = r.environment("device") else { return nil }
        return (name, r.environment("device_url"))
    }

    /// "host NAME", or "device NAME (URL), profile NAME FINGERPRINT" for a remote sweep.
    var machine: String {
        guard let device else { return "host \(HTML.escape(profile?.name ?? "unknown"))" }
        let url = device.url.flatMap { $0 == device.name ? nil : " (\($0))" } ?? ""
        let named = profile.map { ", profile \($0.name) \($0.fingerprint)" } ?? ", no profile found"
        return "device " + HTML.escape(device.name + url + named)
    }

    public func render() -> String {
        let sweeps = Set(entries.map(\.sweepId)).sorted().joined(separator: ", ")
        let failed = entries.filter { $0.kind == .run && $0.status.isFailure }.count
        let skipped = entries.filter { $0.kind == .run && $0.status == .skipped }.count
        let css = Self.css
        var html = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        html += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        html += "<title>\(HTML.escape(title))</title><style>\(css)</style></head><body>"
        html += "<h1>\(HTML.escape(title))</h1>"
        html += "<p class=\"meta\">sweep \(HTML.escape(sweeps)) · \(runs.count) runs measured, \(skipped) skipped, \(failed) failed · \(machine) · \(HTML.escape(generatedBy))</p>"
        html += "<h2>The answer\(decision.map { " for " + HTML.escape($0.device) } ?? "")</h2>"
        html += decision?.html() ?? "<p class=\"empty\">No recommendation was computed for this report.</p>"
        html += "<h2>Decode speed and scaling</h2><div class=\"grid2\">\(threadScaling().render())\(batchScaling().render())</div>"
        html += "<h2>Which bit-width</h2>\(qualityTradeoff().render())"
        html += caveats(for: runs.filter { !$0.config.synthetic }.map(\.config.model))
        html += quantizationSection()
        html += "<h2>Memory</h2>\(memoryBars())"
        html += "<h2>Roofline</h2>\(rooflineSection())"
        if profile?.bandwidth == nil { html += "<p class=\"empty\">The hardware profile has no measured bandwidth (run slmbench probe --bandwidth --save …), so no ceilings are drawn.</p>" }
        html += "<h2>Cost</h2>\(costSection())"
        html += "<h2>Results</h2>\(table())"
        html += "<h2>Hardware</h2>\(hardware())"
        html += "<h2>Methodology</h2>\(Self.methodology)"
        html += "</body></html>\n"
        return html
    }
}
