import Foundation
import Measures
import ResultStore

/// One metric of each configuration across stored sweeps, in time order, with change points.
///
/// Change points come from E-divisive means with a permutation test (`EDivisive`) on the series
/// of per-sweep medians: the sweep, not the repetition, is the unit of evidence, because the
/// repetitions of one sweep share that night's machine. A significant split is reported when the
/// medians of the stretches on its two sides also differ by more than the threshold. Each side of
/// a split holds at least `minimumSweeps` sweeps, so a single odd night, newest or oldest, is
/// never a change point; a lasting shift is found once that many sweeps show it.
public struct History: Sendable {
    public struct ChangePoint: Sendable, Equatable {
        /// Median after ÷ median before (of the per-sweep medians, within the enclosing stretches).
        public var ratio: Double
        /// The permutation test's p-value.
        public var p: Double
    }

    public struct Point: Sendable {
        public var sweepId: String
        public var startedAt: String
        public var median: Double
        public var samples: [Double]
        /// Quality flags of the run (`high-cv`, `drift`, …): the point is drawn hollow and named.
        public var flags: [String] = []
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

    public var metric: Metric
    public var threshold: Double
    public var alpha: Double
    public var series: [Series]

    /// `sweepStarts`: sweep id → start time (ISO 8601), which orders the points.
    public init(entries: [StoredRun], sweepStarts: [String: String], metric: Metric, threshold: Double = 0.05, alpha: Double = 0.05) {
        self.metric = metric; self.threshold = threshold; self.alpha = alpha
        var grouped: [String: [StoredRun]] = [:]
        for r in entries where r.kind == .run && r.status == .ok {
            grouped["\(r.environment("fingerprint") ?? "?")|\(r.key)", default: []].append(r)
        }
        var series: [Series] = []
        for (_, runs) in grouped {
            var points: [Point] = runs.compactMap { r in
                var samples = Comparison.samples(r, metric)
                if samples.isEmpty, let v = Self.headline(r, metric) { samples = [v] }
                guard !samples.isEmpty else { return nil }
                return Point(sweepId: r.sweepId, startedAt: sweepStarts[r.sweepId] ?? r.finishedAt, median: Percentile.median(samples)!, samples: samples, flags: r.flags)
            }
            guard !points.isEmpty else { continue }
            points.sort { ($0.startedAt, $0.sweepId) < ($1.startedAt, $1.sweepId) }
            for (i, c) in Self.changePoints(points.map(\.median), threshold: threshold, alpha: alpha) { points[i].change = c }
            series.append(Series(config: runs[0].config, fingerprint: runs[0].environment("fingerprint") ?? "?",
                                 hostname: runs[0].environment("hostname") ?? "?", points: points))
        }
        self.series = series.sorted { ($0.hostname, $0.name, $0.config.nPrompt, $0.config.nGen) < ($1.hostname, $1.name, $1.config.nPrompt, $1.config.nGen) }
    }

    static func headline(_ r: StoredRun, _ metric: Metric) -> Double? {
        switch metric {
        case .tg: return r.tgAvgTs
        case .pp: return r.ppAvgTs
        default: return r.summary[metric]
        }
    }

    /// Sweeps each side of a change point needs.
    public static let minimumSweeps = 4

    /// Indices (into `medians`, one per sweep) where a new level starts.
    public static func changePoints(_ medians: [Double], threshold: Double, alpha: Double) -> [(Int, ChangePoint)] {
        let found = EDivisive.changePoints(medians, alpha: alpha, minimumSize: minimumSweeps)
        let cuts = [0] + found.map(\.index) + [medians.count]
        return found.enumerated().compactMap { k, c in
            let before = Percentile.median(Array(medians[cuts[k]..<c.index]))!
            let after = Percentile.median(Array(medians[c.index..<cuts[k + 2]]))!
            guard before > 0, abs(after / before - 1) > threshold else { return nil }
            return (c.index, ChangePoint(ratio: after / before, p: c.p))
        }
    }

    public func markdown() -> String {
        guard !series.isEmpty else { return "(no stored runs match)" }
        var lines: [String] = []
        let machines = Set(series.map(\.fingerprint)).count
        for s in series {
            let shape = "pp\(s.config.nPrompt)+tg\(s.config.nGen)" + (s.config.nDepth > 0 ? " @d\(s.config.nDepth)" : "")
            lines.append("### \(s.name) \(shape)" + (machines > 1 ? " on \(s.hostname) (\(s.fingerprint))" : ""))
            lines.append("")
            lines.append("| sweep | started | \(metric.title) (median) | repetitions | vs previous | change point | flags |")
            lines.append("|---|---|---:|---:|---:|---|---|")
            var previous: Double?
            for p in s.points {
                let delta = previous.map { String(format: "%+.1f%%", (p.median / $0 - 1) * 100) } ?? ""
                let change = p.change.map { c in
                    let better = metric.higherIsBetter ? c.ratio > 1 : c.ratio < 1
                    return String(format: "◆ %@ %+.1f%% (p = %.3g)", better ? "improvement" : "regression", (c.ratio - 1) * 100, c.p)
                } ?? ""
                let flags = p.flags.isEmpty ? "" : "⚑ " + p.flags.joined(separator: ",")
                lines.append("| \(ResultsTable.escape(p.sweepId)) | \(p.startedAt) | \(String(format: "%.2f", p.median)) | \(p.samples.count) | \(delta) | \(change) | \(flags) |")
                previous = p.median
            }
            lines.append("")
        }
        lines.append(String(format: "Change points: E-divisive means on the per-sweep medians, permutation test p < %.2g, at least %d sweeps a side, and the medians on the two sides differing by more than %.0f%%. ⚑ marks a run with quality flags.", alpha, Self.minimumSweeps, threshold * 100))
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
                    return .init(x: x, y: p.median, label: p.change.map { String(format: "change %+.0f%%", ($0.ratio - 1) * 100) }, marked: p.change != nil, flags: RunFlag.known(p.flags).map(\.rawValue))
                })
            })
        // A file of its own: drop the page's <figure> and carry the chart's styles inside the SVG.
        // (A change point's label left out for overlap is still in the Markdown table.)
        var svg = chart.renderSVG().svg ?? "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 720 60\"><text x=\"10\" y=\"30\">No data for this chart.</text></svg>"
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
