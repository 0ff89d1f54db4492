import Foundation
import ResultStore

/// One metric of each configuration across stored sweeps, in time order, with change points.
///
/// A change point is found by binary segmentation: within a stretch of sweeps, every split is
/// tried; the pooled raw repetitions before and after it are compared with the Mann–Whitney test,
/// and the split with the smallest p is kept when p < α *and* the medians differ by more than the
/// threshold. Each side is then searched again. A single odd night does not move the pooled median
/// of a longer stretch, so it is not called a change; a lasting shift is.
public struct History: Sendable {
    public struct ChangePoint: Sendable, Equatable {
        /// Median after ÷ median before (within the enclosing stretch).
        public var ratio: Double
        public var p: Double
    }

    public struct Point: Sendable {
        public var sweepId: String
        public var startedAt: String
        public var median: Double
        public var samples: [Double]
        /// Set on the first sweep of a new level.
        public var change: ChangePoint?
    }

    public struct Series: Sendable {
        public var config: RunConfig
        /// Machine fingerprint: history never mixes machines.
        public var fingerprint: String
        public var hostname: String
        public var points: [Point]
        public var name: String { "\(config.model) \(config.modelType) \(config.backend) t\(config.nThreads) b\(config.nSeq)" }
    }

    public var metric: Comparison.Metric
    public var threshold: Double
    public var alpha: Double
    public var series: [Series]

    /// `sweepStarts`: sweep id → start time (ISO 8601), which orders the points.
    public init(entries: [StoredRun], sweepStarts: [String: String], metric: Comparison.Metric, threshold: Double = 0.05, alpha: Double = 0.05) {
        self.metric = metric; self.threshold = threshold; self.alpha = alpha
        var grouped: [String: [StoredRun]] = [:]
        for r in entries where r.kind == "run" && r.status == "ok" {
            grouped["\(r.environment("fingerprint") ?? "?")|\(r.key)", default: []].append(r)
        }
        var series: [Series] = []
        for (_, runs) in grouped {
            var points: [Point] = runs.compactMap { r in
                var samples = Comparison.samples(r, metric)
                if samples.isEmpty, let v = Self.headline(r, metric) { samples = [v] }
                guard !samples.isEmpty else { return nil }
                return Point(sweepId: r.sweepId, startedAt: sweepStarts[r.sweepId] ?? r.finishedAt, median: Comparison.median(samples), samples: samples)
            }
            guard !points.isEmpty else { continue }
            points.sort { ($0.startedAt, $0.sweepId) < ($1.startedAt, $1.sweepId) }
            for (i, c) in Self.changePoints(points.map(\.samples), threshold: threshold, alpha: alpha) { points[i].change = c }
            series.append(Series(config: runs[0].config, fingerprint: runs[0].environment("fingerprint") ?? "?",
                                 hostname: runs[0].environment("hostname") ?? "?", points: points))
        }
        self.series = series.sorted { ($0.hostname, $0.name, $0.config.nPrompt, $0.config.nGen) < ($1.hostname, $1.name, $1.config.nPrompt, $1.config.nGen) }
    }

    static func headline(_ r: StoredRun, _ metric: Comparison.Metric) -> Double? {
        switch metric {
        case .tg: return r.tgAvgTs
        case .pp: return r.ppAvgTs
        case .ttft: return r.summary["ttft_ms"]
        }
    }

    /// Indices (into `samples`, one entry per sweep) where a new level starts.
    public static func changePoints(_ samples: [[Double]], threshold: Double, alpha: Double) -> [(Int, ChangePoint)] {
        var found: [(Int, ChangePoint)] = []
        func search(_ lo: Int, _ hi: Int) {
            guard hi - lo >= 2 else { return }
            var best: (k: Int, c: ChangePoint)?
            for k in (lo + 1)..<hi {
                let before = samples[lo..<k].flatMap { $0 }, after = samples[k..<hi].flatMap { $0 }
                let mb = Comparison.median(before), ma = Comparison.median(after)
                guard mb > 0, abs(ma / mb - 1) > threshold, let test = MannWhitney.test(after, before), test.p < alpha else { continue }
                let c = ChangePoint(ratio: ma / mb, p: test.p)
                if best.map({ (c.p, -abs(log(c.ratio))) < ($0.c.p, -abs(log($0.c.ratio))) }) ?? true { best = (k, c) }
            }
            guard let best else { return }
            found.append((best.k, best.c))
            search(lo, best.k)
            search(best.k, hi)
        }
        search(0, samples.count)
        return found.sorted { $0.0 < $1.0 }
    }

    public func markdown() -> String {
        guard !series.isEmpty else { return "(no stored runs match)" }
        var lines: [String] = []
        let machines = Set(series.map(\.fingerprint)).count
        for s in series {
            let shape = "pp\(s.config.nPrompt)+tg\(s.config.nGen)" + (s.config.nDepth > 0 ? " @d\(s.config.nDepth)" : "")
            lines.append("### \(s.name) \(shape)" + (machines > 1 ? " on \(s.hostname) (\(s.fingerprint))" : ""))
            lines.append("")
            lines.append("| sweep | started | \(metric.title) (median) | repetitions | vs previous | change point |")
            lines.append("|---|---|---:|---:|---:|---|")
            var previous: Double?
            for p in s.points {
                let delta = previous.map { String(format: "%+.1f%%", (p.median / $0 - 1) * 100) } ?? ""
                let change = p.change.map { c in
                    let better = metric.higherIsBetter ? c.ratio > 1 : c.ratio < 1
                    return String(format: "◆ %@ %+.1f%% (p = %.3g)", better ? "improvement" : "regression", (c.ratio - 1) * 100, c.p)
                } ?? ""
                lines.append("| \(ResultsTable.escape(p.sweepId)) | \(p.startedAt) | \(String(format: "%.2f", p.median)) | \(p.samples.count) | \(delta) | \(change) |")
                previous = p.median
            }
            lines.append("")
        }
        lines.append(String(format: "Change points: binary segmentation; a split counts when the pooled medians differ by more than %.0f%% and a Mann–Whitney test on the raw repetitions gives p < %.2g.", threshold * 100, alpha))
        return lines.joined(separator: "\n")
    }

    /// The metric against days since the first sweep, one line per configuration (at most 10),
    /// change points ringed and labelled.
    public func svg() -> String {
        let shown = Array(series.prefix(10))
        let dates = shown.flatMap { $0.points.map(\.startedAt) }.compactMap(Self.date)
        let first = dates.min() ?? Date(timeIntervalSince1970: 0)
        let chart = SVGChart(
            title: "History: \(metric.title) per configuration" + (series.count > 10 ? " (first 10 of \(series.count))" : ""),
            xLabel: "days since \(Self.day(first))", yLabel: metric.title,
            series: shown.map { s in
                .init(name: s.name, points: s.points.map { p in
                    let x = (Self.date(p.startedAt)?.timeIntervalSince(first) ?? 0) / 86_400
                    return .init(x: x, y: p.median, label: p.change.map { String(format: "change %+.0f%%", ($0.ratio - 1) * 100) }, marked: p.change != nil)
                })
            })
        // A file of its own: drop the page's <figure> and carry the chart's styles inside the SVG.
        var svg = chart.render().replacingOccurrences(of: "<figure>", with: "").replacingOccurrences(of: "</figure>", with: "")
        if let end = svg.range(of: ">") {
            svg.insert(contentsOf: "<style>text{font-family:system-ui,\"DejaVu Sans\",sans-serif}.title{font-size:14px;font-weight:600}.tick{font-size:11px;fill:#444}"
                + ".axis{font-size:12px;fill:#222}.legend{font-size:11px;fill:#222}.label{font-size:10px;fill:#333}.frame{fill:none;stroke:#999}.grid{stroke:#eee}</style>",
                at: end.upperBound)
        }
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg + "\n"
    }

    static func date(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)
    }

    static func day(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate]
        return f.string(from: d)
    }
}
