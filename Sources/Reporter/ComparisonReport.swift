import DeviceProbe
import Foundation
import Measures
import ResultStore

/// One side of a comparison report: a sweep measured here or on a remote device, or a device
/// not at hand whose rows the cross-device model predicts.
public struct ReportSide: Sendable {
    public enum Kind: String, Sendable { case local, remote, predicted }
    /// A, B, C…
    public var letter: String
    /// What the side is: a sweep id, or the predicted device's profile name.
    public var name: String
    public var kind: Kind
    /// The machine: a profile's name, or the remote device's.
    public var device: String
    /// Its rows: measured runs, or predictions (kind `prediction`).
    public var entries: [StoredRun]
    public var profile: HardwareProfile?
    /// The recommendation for this device (the same as `slmbench recommend` gives).
    public var decision: Decision
    /// For predicted rows: the validated error's label; and the model's notes.
    public var errorLabel: String?

    public init(letter: String, name: String, kind: Kind, device: String, entries: [StoredRun], profile: HardwareProfile?, decision: Decision,
                errorLabel: String? = nil) {
        self.letter = letter; self.name = name; self.kind = kind; self.device = device; self.entries = entries; self.profile = profile
        self.decision = decision; self.errorLabel = errorLabel
    }

    /// "A · vm, sweep quick-… (measured here)".
    public var label: String { "\(letter) · \(device)" + (kind == .predicted ? "" : ", sweep \(name)") + " (\(kindText))" }
    public var kindText: String {
        switch kind {
        case .local: return "measured here"
        case .remote: return "measured on the device over ssh/adb"
        case .predicted: return "predicted, not measured"
        }
    }
    var runs: [StoredRun] { entries.filter { [.run, .prediction].contains($0.kind) && $0.status == .ok } }
}

/// Several result sets side by side: per configuration each side's figures, the ratios against
/// the first side with their significance (as `slmbench compare` computes them), and per device
/// the recommendation and its cost against the cloud.
public struct ComparisonReport: Sendable {
    public var sides: [ReportSide]
    public var generatedBy: String
    /// Real models whose source weights are already quantized (see `HTMLReport.sourceWeights`).
    public var sourceWeights: [String: String]

    public init(sides: [ReportSide], generatedBy: String, sourceWeights: [String: String]) {
        self.sides = sides; self.generatedBy = generatedBy; self.sourceWeights = sourceWeights
    }

    /// "slmbench comparison — A vm (report-demo-a) vs B … vs C raspberry-pi-5 (predicted)".
    public var title: String {
        "slmbench comparison — " + sides.map { s in s.kind == .predicted ? "\(s.device) (predicted)" : "\(s.device) \(s.name)" + (s.kind == .remote ? " (remote)" : "") }
            .joined(separator: " vs ")
    }

    /// A configuration's identity across sides: what was run, not where or in which sweep.
    static func matchKey(_ c: RunConfig) -> String {
        "\(c.model)|\(c.modelType)|\(c.backend)|t\(c.nThreads)|b\(c.nSeq)|p\(c.nPrompt)|g\(c.nGen)|d\(c.nDepth)|\(c.kvType)"
    }

    static func configText(_ c: RunConfig) -> String {
        "\(c.model)\(c.synthetic ? "*" : "") \(c.modelType) \(c.backend) t\(c.nThreads) b\(c.nSeq)" + (c.nDepth > 0 ? " @d\(c.nDepth)" : "")
    }

    /// The configurations of every side, in a stable order, each with its row per side.
    func configurations() -> [(key: String, config: RunConfig, rows: [StoredRun?])] {
        var configs: [String: RunConfig] = [:]
        for s in sides { for r in s.runs { configs[Self.matchKey(r.config)] = configs[Self.matchKey(r.config)] ?? r.config } }
        let keys = configs.keys.sorted { a, b in
            let (x, y) = (configs[a]!, configs[b]!)
            return (x.model, x.modelType, x.backend, x.nThreads, x.nSeq, a) < (y.model, y.modelType, y.backend, y.nThreads, y.nSeq, b)
        }
        let bySide = sides.map { s in Dictionary(s.runs.map { (Self.matchKey($0.config), $0) }, uniquingKeysWith: { a, _ in a }) }
        return keys.map { k in (k, configs[k]!, bySide.map { $0[k] }) }
    }

    /// The first side against each other measured side, per configuration and metric, as
    /// `slmbench compare` computes it (ratio of medians, bootstrap CI, Mann–Whitney p).
    func comparisons() -> [Comparison?] {
        func keyed(_ s: ReportSide) -> [StoredRun] { s.runs.filter { $0.kind == .run }.map { var r = $0; r.key = Self.matchKey(r.config); return r } }
        let base = sides.first.map(keyed) ?? []
        return sides.enumerated().map { i, s in
            guard i > 0, s.kind != .predicted, sides[0].kind != .predicted else { return nil }
            return Comparison(base: base, new: keyed(s), thresholds: [:])
        }
    }

    enum Column: CaseIterable { case decode, prefill, ttft, memory
        var title: String {
            switch self {
            case .decode: return "Decode speed (tokens/s, all sequences)"
            case .prefill: return "Prefill speed (tokens/s)"
            case .ttft: return "Time to first token (ms; lower is better)"
            case .memory: return "Peak memory (MB)"
            }
        }
        var metric: Metric? { switch self { case .decode: return .tg; case .prefill: return .pp; case .ttft: return .ttft; case .memory: return nil } }
        func value(_ r: StoredRun) -> Double? {
            switch self {
            case .decode: return r.config.nGen > 0 ? r.tgAvgTs : nil
            case .prefill: return r.config.nPrompt > 0 ? r.ppAvgTs : nil
            case .ttft: return r.summary[.ttft]
            case .memory: return r.peakRssBytes.map { Double($0) / 1e6 }
            }
        }
        func error(_ r: StoredRun) -> Double? {
            switch self {
            case .decode: return r.summary[.tgErrorP90]
            case .prefill: return r.summary[.ppErrorP90]
            case .ttft: return r.predictionError
            case .memory: return nil
            }
        }
    }

    /// A side's cell: the value, with ⚑ for a flagged run and ± for a prediction.
    func cell(_ r: StoredRun?, _ column: Column) -> (text: String, note: String?) {
        guard let r, let v = column.value(r) else { return ("—", nil) }
        let number = v >= 100 ? String(format: "%.0f", v) : String(format: "%.1f", v)
        if r.kind == .prediction {
            if column == .memory { return (number, "measured here for the same configuration") }
            return (number + (column.error(r).map { String(format: " ±%.0f%%", $0 * 100) } ?? " ±?"), "predicted")
        }
        // Flags speak of the speed measurement; memory is read once per run and carries none.
        let flags = column == .memory ? [] : r.runFlags.map(\.rawValue)
        return (number + (flags.isEmpty ? "" : " ⚑"), flags.isEmpty ? nil : flags.joined(separator: ", "))
    }

    /// The ratio of side `i` to side A in one row: from `Comparison` when both are measured runs
    /// with repetitions, else the plain ratio, labelled.
    func ratio(_ rows: [StoredRun?], side i: Int, column: Column, comparison: Comparison?, key: String) -> (text: String, significant: Bool?) {
        guard let a = rows[0], let b = rows[i], let va = column.value(a), let vb = column.value(b), va > 0 else { return ("—", nil) }
        if let metric = column.metric, let comparison, let row = comparison.rows.first(where: { $0.key == key && $0.metric == metric }) {
            let power = MannWhitney.smallestP(row.baseCount, row.newCount) < 0.05
            let p = row.p.map { String(format: "p = %.3f", $0) } ?? "no test"
            let ci = row.ciLow.isFinite ? String(format: " [%.2f–%.2f]", row.ciLow, row.ciHigh) : ""
            let significant = (row.p ?? 1) < 0.05
            var text = String(format: "×%.2f", row.ratio) + ci + ", " + (power ? p : "\(row.baseCount):\(row.newCount) repetitions cannot reach p < 0.05")
            // A difference between flagged runs is the machine's noise as much as the configuration's.
            let flagged = !row.flags.filter { RunFlag(rawValue: $0) != nil }.isEmpty
            if flagged && significant && power { text += " ⚑ flagged runs: not a finding" }
            return (text, power && !flagged ? significant : nil)
        }
        let predicted = a.kind == .prediction || b.kind == .prediction
        return (String(format: "×%.2f", vb / va) + (predicted ? " (predicted: no test)" : " (no repetitions to test)"), nil)
    }

    public func markdown() -> String {
        var lines = ["# \(title)", ""]
        for s in sides { lines.append("- **\(s.label)**" + (s.errorLabel.map { "; ± is the \($0)" } ?? "")) }
        lines.append("")
        lines.append("## The answer per device")
        for s in sides {
            lines += ["", "### \(s.letter) · \(s.device) (\(s.kindText))", "", s.decision.markdown()]
            if let cloud = cloudLine(s) { lines += ["", cloud] }
        }
        let comparisons = comparisons()
        let configs = configurations()
        for column in Column.allCases {
            lines += ["", "## \(column.title)", ""]
            var header = "| configuration |"
            var rule = "|---|"
            for (i, s) in sides.enumerated() {
                header += " \(s.letter) |"; rule += "---:|"
                if i > 0 { header += " \(s.letter) ÷ A |"; rule += "---|" }
            }
            lines += [header, rule]
            for (key, config, rows) in configs {
                var line = "| \(ResultsTable.escape(Self.configText(config))) |"
                for i in sides.indices {
                    line += " \(cell(rows[i], column).text) |"
                    if i > 0 { line += " \(ratio(rows, side: i, column: column, comparison: comparisons[i], key: key).text) |" }
                }
                lines.append(line)
            }
        }
        lines += ["", notes().map { "- \($0)" }.joined(separator: "\n")]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The cost of the recommended configuration against the cheapest cloud option, one line.
    func cloudLine(_ s: ReportSide) -> String? {
        guard let pick = s.decision.recommended, let row = s.decision.costRow(pick), let cloud = s.decision.cheapestCloud() else { return nil }
        let be = cloud.breakEvenRequestsPerDay.map { String(format: "cheaper than it above %.0f requests/day", $0) } ?? "never cheaper than it, even fully used"
        return "Cost: \(Decision.usd(row.perMillionTokensUSD)) USD per million tokens on \(s.device) (\(pick.predicted ? "from predicted speed" : "from measured speed")) against \(Decision.usd(cloud.perMillionTokensUSD)) for the cheapest cloud option, \(cloud.option.name); the device is \(be). The cloud model is another, larger one: compare only options whose quality you would accept."
    }

    func notes() -> [String] {
        var out = ["Ratios are each side ÷ side A. Between two measured sides they are ratios of the medians of the repetitions, with a bootstrap 95% interval and the two-sided Mann–Whitney p on the repetitions (as slmbench compare); with a predicted side the ratio has no test, and its ± is the model's validated error.",
                   "⚑: the run is flagged (noisy or drifting); * marks a synthetic model (no quality figures)."]
        for model in Set(sides.flatMap { $0.runs.map(\.config.model) }).sorted() {
            if let c = Decision.caveat(model: model, sourceWeights: sourceWeights) { out.append("Quality: \(c).") }
        }
        if sides.contains(where: { $0.kind == .predicted }) {
            out.append("Predicted rows are llama.cpp at batch 1 only, the configurations the cross-device model is validated for; the device's own recommendation is predicted at the validation corpus's test (512 prompt + 128 generated tokens).")
        }
        return out
    }
}
