import Foundation
import Measures
import ResultStore

/// Stored runs as CSV or JSON with stable columns (docs/results.md). Names follow llama-bench's
/// where the meaning is the same, so its tooling reads them: `model_type`, `model_size`,
/// `model_n_params`, `n_threads`, `n_prompt`, `n_gen`, `avg_ts`, `stddev_ts`, `samples_ts`.
public enum ResultsExport {
    public static let columns = [
        "sweep_id", "key", "kind", "seq", "status", "reason", "model", "model_type", "model_size", "model_n_params", "synthetic",
        "backend", "n_threads", "n_seq", "n_prompt", "n_gen", "n_depth", "kv_type", "placement", "cpus",
        "avg_ts", "stddev_ts", "samples_ts", "pp_avg_ts", "tg_avg_ts", "ttft_ms", "itl_p50_ms", "itl_p90_ms", "itl_p99_ms",
        "tpot_ms", "e2e_ms", "load_s", "warm_load_s", "cv", "repetitions", "peak_rss_bytes", "predicted_bytes", "kv_cache_bytes", "weights_bytes",
        "flags", "finished_at",
    ]

    /// The summary's metrics that have columns of their own.
    static let summaryColumns: [Metric] = [.ttft, .itlP50, .itlP90, .itlP99, .tpot, .e2e, .load, .warmLoad, .cv, .repetitions,
                                           .kvCacheBytes, .weightsBytes]

    static func fields(_ r: StoredRun) -> [String: String] {
        func d(_ x: Double?) -> String { x.map { String($0) } ?? "" }
        func i(_ x: Int?) -> String { x.map(String.init) ?? "" }
        let c = r.config
        var f: [String: String] = [
            "sweep_id": r.sweepId, "key": r.key, "kind": r.kind.rawValue, "seq": String(r.seq), "status": r.status.rawValue, "reason": r.reason ?? "",
            "model": c.model, "model_type": c.modelType, "model_size": i(c.modelSize), "model_n_params": i(c.modelNParams),
            "synthetic": c.synthetic ? "true" : "false", "backend": c.backend, "n_threads": String(c.nThreads), "n_seq": String(c.nSeq),
            "n_prompt": String(c.nPrompt), "n_gen": String(c.nGen), "n_depth": String(c.nDepth), "kv_type": c.kvType,
            "placement": c.placement, "cpus": c.cpus.map(String.init).joined(separator: " "),
            "avg_ts": d(r.avgTs), "stddev_ts": d(r.stddevTs), "samples_ts": r.samplesTs.map { String($0) }.joined(separator: " "),
            "pp_avg_ts": d(r.ppAvgTs), "tg_avg_ts": d(r.tgAvgTs), "peak_rss_bytes": i(r.peakRssBytes), "predicted_bytes": i(r.predictedBytes),
            "flags": r.flags.joined(separator: " "), "finished_at": r.finishedAt,
        ]
        for metric in summaryColumns { f[metric.key] = d(r.summary[metric]) }
        return f
    }

    public static func csv(_ runs: [StoredRun]) -> String {
        func quote(_ s: String) -> String {
            s.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = [columns.joined(separator: ",")]
        for r in runs {
            let f = fields(r)
            lines.append(columns.map { quote(f[$0] ?? "") }.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON array; each run carries its fields plus `context` (the context block) and, with
    /// `full`, `record` (the raw samples).
    public static func json(_ runs: [StoredRun], full: Bool) throws -> Data {
        var array: [Any] = []
        for r in runs {
            var object: [String: Any] = [:]
            let f = fields(r)
            for key in columns {
                let text = f[key] ?? ""
                switch key {
                case "seq", "n_threads", "n_seq", "n_prompt", "n_gen", "n_depth", "model_size", "model_n_params", "peak_rss_bytes",
                     "predicted_bytes":
                    object[key] = Int(text) ?? NSNull()
                case "samples_ts": object[key] = r.samplesTs
                case "cpus": object[key] = r.config.cpus
                case "flags": object[key] = r.flags
                case "synthetic": object[key] = r.config.synthetic
                case "reason": object[key] = r.reason ?? NSNull()
                default:
                    if ["sweep_id", "key", "kind", "status", "model", "model_type", "backend", "kv_type", "placement", "finished_at"].contains(key) {
                        object[key] = text
                    } else {
                        object[key] = Double(text) ?? NSNull()
                    }
                }
            }
            if r.kind == .quality { object["quality"] = r.summary.values }
            object["context"] = (try? JSONSerialization.jsonObject(with: Data(r.context.utf8))) ?? NSNull()
            if full { object["record"] = (try? JSONSerialization.jsonObject(with: Data(r.record.utf8))) ?? NSNull() }
            array.append(object)
        }
        return try JSONSerialization.data(withJSONObject: array, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}
