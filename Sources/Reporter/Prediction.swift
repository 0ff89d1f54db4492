import DeviceProbe
import Foundation
import Measures
import ResultStore

/// A machine's roofline ceilings at one thread count, and what they rest on.
public struct Ceilings: Sendable, Equatable {
    /// Read bandwidth, GB/s (1e9 bytes/s).
    public var bandwidthGBps: Double
    /// f32 FMA peak, GFLOP/s; nil when the profile has no compute figure.
    public var computeGFLOPS: Double?
    /// int8 dot-product peak, GOP/s (the ceiling of kernels that multiply 8-bit activations);
    /// nil when the profile has no such figure.
    public var int8GOPS: Double? = nil
    /// The thread count of the profile point the figures come from.
    public var pointThreads: Int
    /// How the figures were obtained, for printing next to a prediction.
    public var basis: String
}

/// The costs a roofline model needs: weight bytes per decode step, FLOPs per token, ceilings.
public enum Roofline {
    /// The ceilings at `threads`: bandwidth from the profile point with the most threads not above
    /// `threads` (bandwidth is assumed flat beyond the widest point — a saturating resource);
    /// compute from the same point, scaled by the ratio of cores in use (compute scales with cores).
    /// A profile without bandwidth points falls back to its theoretical bandwidth, and says so.
    public static func ceilings(_ profile: HardwareProfile, threads: Int) -> Ceilings? {
        let cores = max(1, profile.cpu.physicalCores)
        let points = (profile.bandwidth?.points ?? []).filter { $0.readGBps != nil }
        guard !points.isEmpty else {
            guard let theoretical = profile.memory.theoreticalBandwidthGBps else { return nil }
            return Ceilings(bandwidthGBps: theoretical, computeGFLOPS: nil, pointThreads: threads,
                            basis: String(format: "theoretical %.1f GB/s (no measured bandwidth)", theoretical))
        }
        let point = points.filter { $0.threads <= threads }.max { $0.threads < $1.threads } ?? points.min { $0.threads < $1.threads }!
        let bandwidth = point.readGBps!.median
        let scale = Double(min(threads, cores)) / Double(min(point.threads, cores))
        let compute = point.fmaGFLOPS.map { $0.median * scale }
        let int8 = point.int8GOPS.map { $0.median * scale }
        let kind = profile.measured ? "measured" : "published"
        var basis = String(format: "%@ read %.1f GB/s at %d thread%@", kind, bandwidth, point.threads, point.threads == 1 ? "" : "s")
        if point.threads < threads { basis += " (assumed flat to \(threads))" }
        if let compute {
            basis += String(format: ", f32 FMA %.0f GFLOP/s", compute)
            if point.threads != min(threads, cores) { basis += " (scaled by cores from \(point.threads))" }
        } else {
            basis += ", no compute ceiling"
        }
        return Ceilings(bandwidthGBps: bandwidth, computeGFLOPS: compute, int8GOPS: int8, pointThreads: point.threads, basis: basis)
    }

    /// % of roofline of a measured decode: weight bytes per step × steps/s ÷ the read bandwidth the
    /// profile measured at the run's thread count. Nil without measured bandwidth.
    public static func percent(_ r: StoredRun, on profile: HardwareProfile) -> Double? {
        guard r.config.nGen > 0, profile.bandwidth != nil, let w = weightBytes(r.config), let tg = r.tgAvgTs,
              let c = ceilings(profile, threads: r.config.nThreads) else { return nil }
        // Each decode step reads the weights once for all B sequences.
        return w * tg / Double(r.config.nSeq) / (c.bandwidthGBps * 1e9) * 100
    }

    /// A `percent` for a table: "—" when there is none, and a figure over 100% marked as what it
    /// is — no run reads memory faster than the probe measured, so either the probe's bandwidth or
    /// the bytes counted per step are wrong — rather than shown as a result.
    public static func label(_ percent: Double?) -> String {
        guard let percent else { return "—" }
        return percent > 100 ? String(format: "⚠ %.0f%% (over the bound: a measurement problem)", percent) : String(format: "%.0f%%", percent)
    }

    /// Bytes of weights one decode step reads: the model file's size. With tied embeddings (the
    /// SmolLM2 family) the output head reads the whole embedding matrix, so this is exact up to
    /// the file header; with separate ones it over-counts the embedding table, which calibration absorbs.
    public static func weightBytes(_ c: RunConfig) -> Double? { c.modelSize.flatMap { $0 > 0 ? Double($0) : nil } }

    /// Whether a run's matrix products are int8 dot products (quantized weights times 8-bit
    /// activations, whose ceiling is the int8 peak) rather than f32 FMAs. llama.cpp multiplies
    /// every quantized type that way; the native engine its direct-kernel types (Q8_0, Q4_0, Q4_1,
    /// Q5_0, Q5_1), while K-quants, BF16 and lab types are dequantized to f32 first. F32 and F16
    /// run on f32 FMAs (F16 is converted on x86).
    public static func int8Kernel(_ c: RunConfig) -> Bool {
        let type = c.modelType.lowercased()
        if ["f32", "f16", "bf16"].contains(type) { return false }
        if c.backend == "native" { return ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1"].contains(type) }
        return true
    }

    /// Matrix FLOPs per token: two per weight.
    public static func flopsPerToken(_ c: RunConfig) -> Double? { c.modelNParams.flatMap { $0 > 0 ? 2 * Double($0) : nil } }

}

/// A predicted run on a target machine: what the cross-device model expects (`Predictor`).
public struct Prediction: Sendable {
    public var config: RunConfig
    /// Aggregate decode t/s (all sequences).
    public var decodeTps: Double?
    public var prefillTps: Double?
    /// Prefill of every sequence's prompt plus the first decode step.
    public var ttftMs: Double?
    /// One decode step.
    public var itlMs: Double?
    /// Peak RSS measured for this configuration on a calibration machine (memory depends on the
    /// model, the backend and the shape, not on the CPU); nil when no such run exists.
    public var peakRssBytes: Int?
    /// The cross-device model's validated error (p90 |error|, leave-one-device-out), per phase.
    public var decodeError: Double?
    public var prefillError: Double?
    /// The calibration group each figure comes from, the ceilings used, and warnings.
    public var notes: [String]

    /// The larger of the two errors, the one to quote for TTFT and for the whole row.
    public var error: Double? { [decodeError, prefillError].compactMap { $0 }.max() }

    /// The prediction as a stored entry of kind `prediction`, so tables, recommendations and the
    /// cost model read it like a measured run. The summary carries the error bounds.
    public func entry(target: HardwareProfile) -> StoredRun {
        var summary = MetricValues()
        if let ttftMs { summary[.ttft] = ttftMs }
        if let itlMs { summary[.itlP50] = itlMs }
        if let decodeError { summary[.tgErrorP90] = decodeError }
        if let prefillError { summary[.ppErrorP90] = prefillError }
        let context = (try? JSONSerialization.data(withJSONObject: [
            "environment": ["fingerprint": target.fingerprint, "hostname": target.name],
            "prediction": ["notes": notes, "target": target.name],
        ], options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return StoredRun(sweepId: "predict-\(target.name)", key: Predictor.key(config), kind: .prediction, seq: 0, status: .ok, reason: nil,
                         config: config, avgTs: decodeTps ?? prefillTps, stddevTs: nil, samplesTs: [], ppAvgTs: prefillTps, tgAvgTs: decodeTps,
                         peakRssBytes: peakRssBytes, predictedBytes: nil, summary: summary, flags: ["predicted"], finishedAt: "",
                         record: "{}", context: context)
    }
}

extension StoredRun {
    /// For an entry of kind `prediction`, the larger of its decode and prefill errors (p90,
    /// relative); nil for a measured run.
    public var predictionError: Double? {
        kind == .prediction ? [summary[.tgErrorP90], summary[.ppErrorP90]].compactMap { $0 }.max() : nil
    }

    /// `measured` (with ⚑ and the run's quality flags, if any), or `predicted ±x%` (the p90
    /// error), for a table's source column.
    public var source: String {
        guard kind == .prediction else { return runFlags.isEmpty ? "measured" : "measured ⚑ " + runFlags.map(\.rawValue).joined(separator: ",") }
        return "predicted " + (predictionError.map { String(format: "±%.0f%%", $0 * 100) } ?? "±?")
    }
}

/// Predictions side by side with measurements taken on the target: each one's error and the
/// median absolute error, per phase and overall.
public struct PredictionValidation: Sendable {
    public struct Row: Sendable {
        public var config: RunConfig
        public var phase: DeviceMeasurement.Phase
        public var measured: Double
        public var predicted: Double?
        /// predicted ÷ measured − 1.
        public var error: Double? { predicted.map { $0 / measured - 1 } }
    }

    public var rows: [Row] = []
    public var target: String

    public init(measured: [StoredRun], target: HardwareProfile, predictor: Predictor) {
        self.target = target.name
        for r in measured where r.kind == .run && r.status == .ok {
            var c = r.config
            c.placement = "none"; c.cpus = []
            let p = predictor.predict(c, on: target)
            if c.nGen > 0, let tg = r.tgAvgTs { rows.append(Row(config: c, phase: .decode, measured: tg, predicted: p.decodeTps)) }
            if c.nPrompt > 0, let pp = r.ppAvgTs { rows.append(Row(config: c, phase: .prefill, measured: pp, predicted: p.prefillTps)) }
        }
    }

    public func medianAbsError(_ phase: DeviceMeasurement.Phase? = nil) -> Double? {
        let e = rows.filter { phase == nil || $0.phase == phase }.compactMap(\.error).map(abs)
        return e.isEmpty ? nil : Percentile.median(e)!
    }

    public func markdown() -> String {
        var lines = ["| model | type | backend | threads | batch | test | measured t/s | predicted t/s | error |",
                     "|---|---|---|---:|---:|---|---:|---:|---:|"]
        for r in rows {
            let c = r.config
            let test = r.phase == .decode ? "tg\(c.nGen)" + (c.nPrompt > 0 ? " after pp\(c.nPrompt)" : "") : "pp\(c.nPrompt)"
            lines.append("| \(ResultsTable.escape(c.model)) | \(c.modelType) | \(c.backend) | \(c.nThreads) | \(c.nSeq) | \(test) | "
                + String(format: "%.1f", r.measured) + " | " + (r.predicted.map { String(format: "%.1f", $0) } ?? "— (no calibration)") + " | "
                + (r.error.map { String(format: "%+.1f%%", $0 * 100) } ?? "—") + " |")
        }
        lines.append("")
        func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "—" }
        let predicted = rows.filter { $0.predicted != nil }.count
        lines.append("median absolute error on \(target): decode \(pct(medianAbsError(.decode))), prefill \(pct(medianAbsError(.prefill))), all \(pct(medianAbsError())) (\(predicted) of \(rows.count) rows predicted)")
        return lines.joined(separator: "\n")
    }
}

/// The predictions table and the validation it rests on.
public enum PredictionTable {
    public static func markdown(_ predictions: [Prediction], predictor: Predictor, target: HardwareProfile) -> String {
        func num(_ x: Double?, _ f: String) -> String { x.map { String(format: f, $0) } ?? "—" }
        func pct(_ x: Double?) -> String { x.map { String(format: "±%.0f%%", $0 * 100) } ?? "" }
        var lines = ["Predicted for \(target.name) (\(target.fingerprint)) by the cross-device model — not measured. "
            + "± is the \(predictor.errorLabel).", "",
                     "| model | type | backend | threads | batch | test | pp t/s | tg t/s | TTFT ms | ITL ms | peak RSS |",
                     "|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|"]
        for p in predictions {
            let c = p.config
            let test = [c.nPrompt > 0 ? "pp\(c.nPrompt)" : nil, c.nGen > 0 ? "tg\(c.nGen)" : nil].compactMap { $0 }.joined(separator: "+")
            lines.append("| \(ResultsTable.escape(c.model)) | \(c.modelType) | \(c.backend) | \(c.nThreads) | \(c.nSeq) | \(test) | "
                + "\(num(p.prefillTps, "%.1f")) \(p.prefillTps == nil ? "" : pct(p.prefillError)) | \(num(p.decodeTps, "%.1f")) \(p.decodeTps == nil ? "" : pct(p.decodeError)) | "
                + "\(num(p.ttftMs, "%.0f")) | \(num(p.itlMs, "%.1f")) | \(p.peakRssBytes.map(ResultsTable.bytes) ?? "—") |")
        }
        lines.append("")
        lines.append(contentsOf: validationLines(predictor))
        let notes = Array(Set(predictions.flatMap(\.notes))).sorted()
        if !notes.isEmpty {
            lines.append("")
            lines.append("Assumptions and warnings:")
            lines += notes.map { "- \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    /// One paragraph: what the model was fitted to and its validated error.
    public static func validationLines(_ predictor: Predictor) -> [String] {
        func pct(_ x: Double?) -> String { x.map { String(format: "%.0f%%", $0 * 100) } ?? "—" }
        let v = predictor.validation
        let (d, p) = (v.summary(phase: .decode), v.summary(phase: .prefill))
        let overlap = predictor.model.decode.overlap
        var text = "Cross-device model: time per token = bytes ÷ read bandwidth and operations ÷ the kernel's peak, combined as "
            + (overlap == 1 ? "their sum" : String(format: "(Bᵖ + Cᵖ)^(1/p) with p = %g", overlap))
            + " (decode), plus a fixed cost per layer, "
            + "fitted to \(d.rows + p.rows) llama-bench results from \(v.devices.count) devices (\(predictor.isaFamilies.sorted().joined(separator: ", "))). "
            + "Leave-one-device-out |error|: decode median \(pct(d.median)), p90 \(pct(d.p90)); prefill median \(pct(p.median)), p90 \(pct(p.p90))."
        if predictor.flaggedLeftOut > 0 { text += " \(predictor.flaggedLeftOut) flagged local runs (drift, high-cv, ci-not-reached) left out." }
        var lines = [text]
        if !predictor.unused.isEmpty {
            lines.append("")
            lines.append("\(predictor.unused.count) rows unused: \(predictor.unused.prefix(3).joined(separator: "; "))\(predictor.unused.count > 3 ? "; …" : "")")
        }
        return lines
    }
}
