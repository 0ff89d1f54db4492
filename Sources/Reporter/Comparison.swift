import Foundation
import Measures
import ResultStore

/// Two result sets compared run by run: per metric the ratio of medians, its 95% CI, a
/// Mann–Whitney p-value on the raw per-repetition samples, and a verdict. A change is a
/// regression (or an improvement) only when it passes the metric's threshold *and* the test is
/// significant at α; everything else is "no change".
///
/// When each side holds a configuration from several sweeps, the repetitions of one sweep are
/// not independent of each other: a shared machine slows down in bursts as long as a sweep, and
/// a test that counts 4 repetitions of one slow sweep as 4 independent samples is too sure of
/// itself. So with at least `minimumSweeps` sweeps a side, the verdict also needs a second
/// Mann–Whitney test, on the per-sweep medians, to be significant: the sweep is then the unit
/// of evidence, as it is of the noise. The CI of the ratio is a bootstrap that resamples the
/// same unit: whole sweeps when a side has several, repetitions when it has one.
///
/// Runs carrying a quality flag (`drift`, `high-cv`, `ci-not-reached`) are compared like the
/// others, and their rows name the flags, so that a verdict on a noisy run is read as such.
public struct Comparison: Sendable {
    public enum Verdict: String, Sendable, Codable { case regression, improvement, noChange = "no change", untested = "not tested" }

    public struct Row: Sendable, Codable {
        public var key: String
        public var metric: Metric
        public var baseMedian: Double
        public var newMedian: Double
        public var baseCount: Int
        public var newCount: Int
        /// new ÷ base (medians).
        public var ratio: Double
        public var ciLow: Double
        public var ciHigh: Double
        public var p: Double?
        /// Sweeps on each side, and the Mann–Whitney p-value on their medians (nil when either
        /// side has fewer than `minimumSweeps`).
        public var baseSweeps: Int
        public var newSweeps: Int
        public var sweepP: Double?
        public var threshold: Double
        public var verdict: Verdict
        /// Quality flags of the runs on either side (`high-cv`, …), sorted; empty when none.
        public var flags: [String]
    }

    public var rows: [Row]
    /// Geometric mean of the ratios per metric, over the matched runs.
    public var geometricMeans: [Metric: Double]
    public var onlyInBase: [String]
    public var onlyInNew: [String]
    public var warnings: [String]

    public var regressions: [Row] { rows.filter { $0.verdict == .regression } }

    /// Sweeps a side needs before the per-sweep test applies: with 4 against 4 the smallest
    /// two-sided p is 0.029, with 6 against 6 it is 0.002.
    public static let minimumSweeps = 4

    /// Per-repetition values of a metric, from a stored run's raw samples.
    public static func samples(_ run: StoredRun, _ metric: Metric) -> [Double] {
        precondition(Metric.compared.contains(metric), "Comparison compares \(Metric.compared), not \(metric)")
        guard let record = try? JSONSerialization.jsonObject(with: Data(run.record.utf8)) as? [String: Any],
              let samples = record["samples"] as? [String: Any],
              let repetitions = samples["repetitions"] as? [[String: Any]] else { return [] }
        let batch = Double(samples["batch"] as? Int ?? run.config.nSeq)
        let prompt = Double(samples["prompt_tokens"] as? Int ?? run.config.nPrompt)
        return repetitions.compactMap { r in
            switch metric {
            case .pp:
                let t = (r["prefill_seconds"] as? [Double])?.reduce(0, +) ?? 0
                return prompt > 0 && t > 0 ? batch * prompt / t : nil
            case .tg:
                let steps = r["step_seconds"] as? [Double] ?? []
                let t = steps.reduce(0, +)
                return steps.isEmpty || t <= 0 ? nil : Double(steps.count) * batch / t
            case .ttft:
                let ttft = (r["ttft_seconds"] as? [Double] ?? []).sorted()
                return ttft.isEmpty ? nil : ttft[ttft.count / 2] * 1000
            default:
                return nil
            }
        }
    }

    /// A side may hold several sweeps of the same build (run alternately with the other side's, so
    /// that the machine's drift falls on both alike): runs with the same key pool their repetitions.
    public init(base: [StoredRun], new: [StoredRun], thresholds: [Metric: Double], defaultThreshold: Double = 0.05,
                alpha: Double = 0.05) {
        // A run counts once per side, however often its sweep is named.
        func measured(_ runs: [StoredRun]) -> [String: [StoredRun]] {
            var seen = Set<String>()
            let unique = runs.filter { $0.kind == .run && $0.status == .ok && seen.insert($0.sweepId + "\u{1}" + $0.key).inserted }
            return Dictionary(grouping: unique, by: \.key)
        }
        let baseRuns = measured(base), newRuns = measured(new)
        onlyInBase = baseRuns.keys.filter { newRuns[$0] == nil }.sorted()
        onlyInNew = newRuns.keys.filter { baseRuns[$0] == nil }.sorted()
        warnings = []
        // Sample sizes that no exact test could call significant, whatever the data.
        var powerless = Set<String>()
        var rows: [Row] = []
        // Changes past the threshold that the repetitions call significant and the sweeps do not.
        var unsettled: [String] = []
        for key in baseRuns.keys.filter({ newRuns[$0] != nil }).sorted() {
            let (b, n) = (baseRuns[key]!, newRuns[key]!)
            for metric in Metric.compared {
                // Each run's samples once: pooled for the repetition test, one median per sweep for the sweep test.
                let perBase = b.map { Self.samples($0, metric) }.filter { !$0.isEmpty }
                let perNew = n.map { Self.samples($0, metric) }.filter { !$0.isEmpty }
                let x = perBase.flatMap { $0 }, y = perNew.flatMap { $0 }
                guard !x.isEmpty, !y.isEmpty else { continue }
                let threshold = thresholds[metric] ?? defaultThreshold
                let mb = Percentile.median(x)!, mn = Percentile.median(y)!
                guard mb > 0 else { continue }
                let ratio = mn / mb
                let ci = Self.bootstrapRatioCI(base: perBase, new: perNew)
                let test = MannWhitney.test(y, x)
                if MannWhitney.smallestP(x.count, y.count) >= alpha { powerless.insert("\(x.count) against \(y.count)") }
                let xs = perBase.map { Percentile.median($0)! }, ys = perNew.map { Percentile.median($0)! }
                let sweepTest = min(xs.count, ys.count) >= Self.minimumSweeps ? MannWhitney.test(ys, xs) : nil
                let significant = (test.map { $0.p < alpha } ?? false) && (sweepTest.map { $0.p < alpha } ?? true)
                let worse = metric.higherIsBetter ? 1 - ratio : ratio - 1
                let verdict: Verdict
                if test != nil {
                    if significant && worse > threshold { verdict = .regression }
                    else if significant && -worse > threshold { verdict = .improvement }
                    else {
                        verdict = .noChange
                        if let sweepTest, let p = test?.p, p < alpha, sweepTest.p >= alpha, abs(worse) > threshold {
                            unsettled.append("\(key.replacingOccurrences(of: "|", with: " ")) \(metric.title) \(String(format: "%.3f (p sweeps %.3f)", ratio, sweepTest.p))")
                        }
                    }
                } else { verdict = .untested }
                rows.append(Row(key: key, metric: metric, baseMedian: mb, newMedian: mn, baseCount: x.count, newCount: y.count,
                                ratio: ratio, ciLow: ci.low, ciHigh: ci.high, p: test?.p,
                                baseSweeps: xs.count, newSweeps: ys.count, sweepP: sweepTest?.p, threshold: threshold, verdict: verdict,
                                flags: Set((b + n).flatMap(\.flags)).sorted()))
            }
        }
        self.rows = rows
        var means: [Metric: Double] = [:]
        for metric in Metric.compared {
            let ratios = rows.filter { $0.metric == metric }.map(\.ratio).filter { $0 > 0 }
            if !ratios.isEmpty { means[metric] = exp(ratios.map { log($0) }.reduce(0, +) / Double(ratios.count)) }
        }
        geometricMeans = means
        if !powerless.isEmpty {
            warnings.append("some runs have too few repetitions for the Mann–Whitney test to ever reach p < \(alpha) (\(powerless.sorted().joined(separator: ", ")) repetitions), so those can never be called regressions")
        }
        let flagged = rows.filter { !$0.flags.isEmpty }.map(\.key)
        if !flagged.isEmpty {
            warnings.append("\(Set(flagged).count) runs carry quality flags (marked in their rows): their verdicts rest on noisy or drifting measurements")
        }
        if rows.contains(where: { max($0.baseSweeps, $0.newSweeps) > 1 && min($0.baseSweeps, $0.newSweeps) < Self.minimumSweeps }) {
            warnings.append("some runs pool 2 or 3 sweeps on a side: the per-sweep test needs \(Self.minimumSweeps) a side, so their verdicts rest on repetitions that share each sweep's machine state and may be too sure")
        }
        if !unsettled.isEmpty {
            warnings.append("unsettled, so no change: \(unsettled.joined(separator: "; ")) — past the threshold and significant on the repetitions, but the sweeps disagree among themselves; more interleaved sweeps a side would settle it")
        }
    }

    /// Percentile-bootstrap 95% CI of the ratio of medians (new ÷ base), 2,000 resamples from a
    /// fixed seed so that the same inputs always give the same interval. Each side is resampled
    /// by its unit of independent evidence: whole sweeps (their repetitions pooled) when it has
    /// several, repetitions when it has one.
    static func bootstrapRatioCI(base: [[Double]], new: [[Double]], resamples: Int = 2000) -> (low: Double, high: Double) {
        var rng = SplitMix64(seed: 0x5eed_c0de)
        func resample(_ side: [[Double]]) -> Double {
            let pool: [Double]
            if side.count > 1 { pool = (0..<side.count).flatMap { _ in side[Int(rng.next(below: side.count))] } }
            else { let only = side[0]; pool = (0..<only.count).map { _ in only[Int(rng.next(below: only.count))] } }
            return Percentile.median(pool)!
        }
        var ratios: [Double] = []
        ratios.reserveCapacity(resamples)
        for _ in 0..<resamples {
            let b = resample(base), n = resample(new)
            if b > 0 { ratios.append(n / b) }
        }
        ratios.sort()
        guard !ratios.isEmpty else { return (.nan, .nan) }
        return (Percentile.of(sorted: ratios, 0.025), Percentile.of(sorted: ratios, 0.975))
    }

    /// Markdown: one row per run and metric, then the geometric means.
    public func markdown() -> String {
        let perSweep = rows.contains { $0.sweepP != nil }
        var lines = ["| run | metric | base | new | ratio | 95% CI | p | \(perSweep ? "p sweeps | " : "")threshold | verdict |",
                     "|---|---|---:|---:|---:|---|---:|\(perSweep ? "---:|" : "")---:|---|"]
        for r in rows {
            let p = r.p.map { String(format: "%.3f", $0) } ?? "—"
            let sweeps = perSweep ? (r.sweepP.map { String(format: "%.3f (%d:%d)", $0, r.baseSweeps, r.newSweeps) } ?? "—") + " | " : ""
            let flagged = r.flags.isEmpty ? "" : " ⚑ \(r.flags.joined(separator: ","))"
            lines.append("| \(r.key.replacingOccurrences(of: "|", with: " "))\(flagged) | \(r.metric.title) | \(String(format: "%.2f (n=%d)", r.baseMedian, r.baseCount)) | \(String(format: "%.2f (n=%d)", r.newMedian, r.newCount)) | \(String(format: "%.3f", r.ratio)) | \(String(format: "%.3f–%.3f", r.ciLow, r.ciHigh)) | \(p) | \(sweeps)\(String(format: "%.0f%%", r.threshold * 100)) | \(r.verdict == .regression ? "**regression**" : r.verdict.rawValue) |")
        }
        for metric in Metric.compared {
            if let g = geometricMeans[metric] {
                lines.append("| **geometric mean** | \(metric.title) | | | \(String(format: "%.3f", g)) | | | \(perSweep ? "| " : "")| |")
            }
        }
        lines.append("")
        lines.append("\(rows.count) comparisons: \(regressions.count) regressions, \(rows.filter { $0.verdict == .improvement }.count) improvements; \(onlyInBase.count) runs only in base, \(onlyInNew.count) only in new")
        for w in warnings { lines.append("warning: \(w)") }
        return lines.joined(separator: "\n")
    }
}

extension Comparison {
    /// Why two sides cannot be compared meaningfully: different hardware (profile fingerprint), CPU
    /// governor or build configuration. Empty when they can.
    public static func incomparabilities(base: [StoredRun], new: [StoredRun]) -> [String] {
        var mismatches: [String] = []
        for (field, label) in [("fingerprint", "hardware fingerprint"), ("governor", "CPU governor"), ("build_configuration", "build configuration")] {
            let a = Set(base.compactMap { $0.environment(field) }), b = Set(new.compactMap { $0.environment(field) })
            if !a.isEmpty && !b.isEmpty && a != b {
                mismatches.append("\(label): base \(a.sorted().joined(separator: ",")), new \(b.sorted().joined(separator: ","))")
            }
        }
        return mismatches
    }
}

/// `compare --json`.
public struct ComparisonDocument: Encodable, Sendable {
    public var rows: [Comparison.Row]
    public var geometricMeans: [String: Double]
    public var regressions: Int
    public var onlyInBase: [String]
    public var onlyInNew: [String]
    public var warnings: [String]

    /// `forced`: the incomparabilities `--force` overrode, listed among the warnings.
    public init(_ c: Comparison, forced: [String]) {
        rows = c.rows
        geometricMeans = Dictionary(uniqueKeysWithValues: c.geometricMeans.map { ($0.key.rawValue, $0.value) })
        regressions = c.regressions.count; onlyInBase = c.onlyInBase; onlyInNew = c.onlyInNew
        warnings = c.warnings + forced.map { "forced: \($0)" }
    }
}
