import ArgumentParser
import Foundation
import Measures
import Reporter
import ResultStore
import Workloads

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two result sets run by run; a regression gate for CI.",
        discussion: reflow("""
            BASE and NEW are sweep folders (results/<sweep-id>/) or sweep ids in --store, or
            comma-separated lists of them: a side's sweeps pool their repetitions per configuration
            (run the two builds' sweeps alternately, A1 B1 A2 B2 …, so that the machine's drift falls
            on both sides alike). Runs are matched by configuration. Per metric (decode t/s, prefill
            t/s, TTFT) the verdict is "regression" only when the median got worse by more than the threshold AND a two-sided
            Mann–Whitney U test on the per-repetition samples gives p < --alpha; otherwise "no change".
            When both sides hold a configuration from 4 or more sweeps, the same test on the
            per-sweep medians must also give p < --alpha (repetitions of one sweep share the
            machine's state at the time, so they are not independent evidence).
            The two sides must come from the same hardware (profile fingerprint), CPU governor and
            build configuration; --force compares anyway, with a warning.
            Exit status: 0 no regression, 2 regression with --fail-on-regression, 1 error.
            """))

    @Argument(help: "Baseline: a sweep folder or a sweep id, or a comma-separated list of them.") var base: String
    @Argument(help: "New results: a sweep folder or a sweep id, or a comma-separated list of them.") var new: String
    @Option(help: "Relative change that counts, for every metric (e.g. 5%).") var threshold = "5%"
    @Option(help: "A metric's own threshold, METRIC=PCT with METRIC tg, pp or ttft (repeat).") var metricThreshold: [String] = []
    @Option(help: "Significance level of the Mann–Whitney test.") var alpha = 0.05
    @OptionGroup var storeOption: StoreOption
    @Flag(help: "Exit 2 when any regression is found.") var failOnRegression = false
    @Flag(help: "Compare even when hardware, governor or build differ.") var force = false
    @Flag(help: "Print the comparison as JSON.") var json = false

    static func fraction(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let v = t.hasSuffix("%") ? Double(t.dropLast()).map { $0 / 100 } : Double(t)
        return v.flatMap { $0 >= 0 && $0 < 10 ? $0 : nil }
    }

    func thresholds() throws -> [Metric: Double] {
        var out: [Metric: Double] = [:]
        for item in metricThreshold {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let metric = Metric(rawValue: parts[0]), let value = Self.fraction(parts[1]) else {
                throw ValidationError("--metric-threshold '\(item)' is not METRIC=PCT with METRIC tg, pp or ttft (e.g. tg=3%)")
            }
            out[metric] = value
        }
        return out
    }

    func validate() throws {
        guard Self.fraction(threshold) != nil else { throw ValidationError("--threshold '\(threshold)' is not a percentage like 5%") }
        guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be between 0 and 1, got \(alpha)") }
        _ = try thresholds()
    }

    func run() throws {
        let store = try storeOption.location
        func side(_ list: String, flag: String) throws -> [StoredRun] {
            let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw CLIError("\(flag) '\(list)' names no sweep") }
            var seen: [String: String] = [:] // sweep id → the name that brought it
            var entries: [StoredRun] = []
            for name in names {
                let loaded = try ResultSet.load(name, store: store, kinds: [.run], flag: flag).entries
                for id in Set(loaded.map(\.sweepId)) {
                    if let first = seen[id] { throw CLIError("\(flag) names sweep '\(id)' twice ('\(first)' and '\(name)'); a sweep counts once") }
                    seen[id] = name
                }
                entries += loaded
            }
            return entries
        }
        let baseRuns = try side(base, flag: "BASE")
        let newRuns = try side(new, flag: "NEW")
        let mismatches = Comparison.incomparabilities(base: baseRuns, new: newRuns)
        if !mismatches.isEmpty {
            let text = "the two sides differ in ways that make a comparison meaningless: " + mismatches.joined(separator: "; ")
            guard force else { throw CLIError(text + " (--force compares anyway)") }
            Console.warn("WARNING (--force): " + text)
        }
        let comparison = Comparison(base: baseRuns, new: newRuns, thresholds: try thresholds(),
                                    defaultThreshold: Self.fraction(threshold)!, alpha: alpha)
        guard !comparison.rows.isEmpty else {
            throw CLIError("no run of BASE matches a run of NEW by configuration (\(comparison.onlyInBase.count) only in base, \(comparison.onlyInNew.count) only in new)")
        }
        if json {
            try JSONOutput.print(ComparisonDocument(comparison, forced: mismatches))
        } else {
            print("compare  base \(base) · new \(new) · threshold \(threshold) · α \(alpha)")
            print("")
            print(comparison.markdown())
        }
        if failOnRegression && !comparison.regressions.isEmpty { throw Exit.regression }
    }
}
