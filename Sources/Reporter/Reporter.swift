import DeviceProbe
import Foundation
import Measures
import ResultStore

/// Tables, the HTML report, comparisons, history, predictions, recommendations and costs, all
/// computed from stored results.
public enum Reporter {}

/// The results table: one row per run, llama-bench's columns plus latency, memory and quality.
/// Columns whose value is the same on every row are folded into a header line above the table.
public enum ResultsTable {
    struct Column {
        let title: String
        let value: (StoredRun) -> String
        /// Identifying columns may fold; measured ones never do.
        let folds: Bool
    }

    /// With a `profile` that has measured bandwidth, a `% roofline` column (decode efficiency).
    public static func markdown(_ entries: [StoredRun], profile: HardwareProfile? = nil) -> String {
        let runs = entries.filter { $0.kind == .run }
        guard !runs.isEmpty else { return "(no runs)" }
        let quality = qualityByModelType(entries)
        func num(_ x: Double?, _ f: String) -> String { x.map { String(format: f, $0) } ?? "—" }
        let methods = Set(runs.map(\.config.method))
        var columns: [Column] = [
            Column(title: "model", value: { $0.config.model + ($0.config.synthetic ? " (synthetic)" : "") }, folds: true),
            Column(title: "size", value: { $0.config.modelSize.map(bytes) ?? "—" }, folds: false),
            Column(title: "params", value: { $0.config.modelNParams.map(count) ?? "—" }, folds: false),
            Column(title: "type", value: { $0.config.modelType }, folds: true),
            Column(title: "backend", value: { $0.config.backend }, folds: true),
            Column(title: "threads", value: { String($0.config.nThreads) }, folds: true),
            Column(title: "batch", value: { String($0.config.nSeq) }, folds: true),
            Column(title: "test", value: { r in
                var t = [r.config.nPrompt > 0 ? "pp\(r.config.nPrompt)" : nil, r.config.nGen > 0 ? "tg\(r.config.nGen)" : nil]
                    .compactMap { $0 }.joined(separator: "+")
                if r.config.nDepth > 0 { t += " @d\(r.config.nDepth)" }
                return t
            }, folds: true),
            Column(title: "kv", value: { $0.config.kvType }, folds: true),
            Column(title: "placement", value: { $0.config.placement }, folds: true),
            Column(title: "pp t/s", value: { num($0.ppAvgTs, "%.1f") }, folds: false),
            Column(title: "tg t/s", value: { r in
                guard r.config.nGen > 0, let avg = r.avgTs else { return "—" }
                return String(format: "%.1f ± %.1f", avg, r.stddevTs ?? 0)
            }, folds: false),
            // A sustained run's steady state and its share of the burst (columns of "—" only are left out).
            Column(title: "steady t/s", value: { r in
                guard let steady = r.summary[.steadyTs] else { return "—" }
                guard let burst = r.summary[.burstTs], burst > 0 else { return String(format: "%.1f", steady) }
                return String(format: "%.1f (%.0f%% of burst)", steady, steady / burst * 100)
            }, folds: false),
            Column(title: "% roofline", value: { r in Roofline.label(profile.flatMap { Roofline.percent(r, on: $0) }) }, folds: false),
            Column(title: "TTFT ms", value: { num($0.summary[.ttft], "%.1f") }, folds: false),
            Column(title: "ITL p50/p99 ms", value: { r in
                guard let a = r.summary[.itlP50], let b = r.summary[.itlP99] else { return "—" }
                return String(format: "%.2f / %.2f", a, b)
            }, folds: false),
            // Energy and heat, where measured (columns of "—" only are left out).
            Column(title: "J/token", value: { num($0.summary[.joulesPerToken], "%.4f") }, folds: false),
            Column(title: "max °C", value: { num($0.summary[.maxTempC], "%.1f") }, folds: false),
            Column(title: "peak RSS", value: { $0.peakRssBytes.map(bytes) ?? "—" }, folds: false),
            Column(title: "ΔPPL %", value: { r in
                guard !r.config.synthetic, let q = quality[qualityKey(r)] else { return "—" }
                return num(q.dppl, "%+.2f")
            }, folds: false),
            Column(title: "KLD", value: { r in
                guard !r.config.synthetic, let q = quality[qualityKey(r)] else { return "—" }
                return num(q.kld, "%.4f")
            }, folds: false),
            Column(title: "status", value: { r in
                let status = r.status.rawValue
                return r.flags.isEmpty ? status : "\(status) (\(r.flags.joined(separator: ", ")))"
            }, folds: false),
        ]
        // A method column only where the runs hold more than one method (a sweep's quant_method axis).
        if methods.count > 1 { columns.insert(Column(title: "method", value: { $0.config.method }, folds: false), at: 4) }
        var folded: [String] = []
        var shown: [Column] = []
        for c in columns {
            let values = Set(runs.map(c.value))
            if c.folds && values.count == 1 && runs.count > 1 { folded.append("\(c.title): \(values.first!)") }
            else if !c.folds && values == ["—"] { continue }
            else { shown.append(c) }
        }
        var lines: [String] = []
        if !folded.isEmpty { lines.append(folded.joined(separator: " · ")); lines.append("") }
        lines.append("| " + shown.map(\.title).joined(separator: " | ") + " |")
        lines.append("|" + shown.map { c in c.folds ? "---|" : "---:|" }.joined())
        for r in runs { lines.append("| " + shown.map { escape($0.value(r)) }.joined(separator: " | ") + " |") }
        let failed = runs.filter { $0.status.isFailure }
        let skipped = runs.filter { $0.status == .skipped }
        lines.append("")
        lines.append("\(runs.count) runs: \(runs.count - failed.count - skipped.count) ok, \(skipped.count) skipped, \(failed.count) failed")
        for r in skipped + failed { lines.append("- \(r.status) \(r.key): \(r.reason ?? "")") }
        let references = entries.filter { $0.kind == .reference && $0.status == .ok }.compactMap(\.avgTs).sorted()
        if references.count > 1 {
            let median = Percentile.median(references)!
            let worst = references.map { abs($0 / median - 1) }.max() ?? 0
            let drifted = entries.filter { $0.kind == .run && $0.flags.contains("drift") }.count
            lines.append(String(format: "drift reference: %d runs, %.1f–%.1f t/s, largest deviation %.1f%% from their median; %d runs flagged drift",
                                references.count, references.first!, references.last!, worst * 100, drifted))
        }
        return lines.joined(separator: "\n")
    }

    /// A run's key into `qualityByModelType`: model, quantization method and type, since one type
    /// quantized by two methods (rtn, imatrix, gptq…) is two files of different quality.
    static func qualityKey(_ r: StoredRun) -> String { key(model: r.config.model, method: r.config.method, type: r.config.modelType) }

    static func key(model: String, method: String, type: String) -> String { "\(model)|\(method)|\(type.uppercased())" }

    /// Quality numbers by model, method and type, from the quality entries' summaries (a quality
    /// entry measures one method's files: its configuration's method).
    static func qualityByModelType(_ entries: [StoredRun]) -> [String: (dppl: Double?, kld: Double?)] {
        var out: [String: (dppl: Double?, kld: Double?)] = [:]
        for e in entries where e.kind == .quality && e.status == .ok {
            for key in e.summary.values.keys where key.hasSuffix(".ppl") {
                let type = String(key.dropLast(4))
                out[Self.key(model: e.config.model, method: e.config.method, type: type)] = (e.summary[.dpplPercent, variant: type], e.summary[.kld, variant: type])
            }
        }
        return out
    }

    static func escape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }

    static func bytes(_ b: Int) -> String {
        let x = Double(b)
        if x >= 1e9 { return String(format: "%.2f GB", x / 1e9) }
        if x >= 1e6 { return String(format: "%.1f MB", x / 1e6) }
        return String(format: "%.0f kB", x / 1e3)
    }

    static func count(_ n: Int) -> String {
        let x = Double(n)
        if x >= 1e9 { return String(format: "%.2f B", x / 1e9) }
        return String(format: "%.1f M", x / 1e6)
    }
}
