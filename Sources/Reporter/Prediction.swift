import DeviceProbe
import Foundation
import ResultStore

/// A machine's roofline ceilings at one thread count, and what they rest on.
public struct Ceilings: Sendable, Equatable {
    /// Read bandwidth, GB/s (1e9 bytes/s).
    public var bandwidthGBps: Double
    /// f32 FMA peak, GFLOP/s; nil when the profile has no compute figure.
    public var computeGFLOPS: Double?
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
        let compute = point.fmaGFLOPS.map { $0.median * Double(min(threads, cores)) / Double(min(point.threads, cores)) }
        let kind = profile.measured ? "measured" : "published"
        var basis = String(format: "%@ read %.1f GB/s at %d thread%@", kind, bandwidth, point.threads, point.threads == 1 ? "" : "s")
        if point.threads < threads { basis += " (assumed flat to \(threads))" }
        if let compute {
            basis += String(format: ", f32 FMA %.0f GFLOP/s", compute)
            if point.threads != min(threads, cores) { basis += " (scaled by cores from \(point.threads))" }
        } else {
            basis += ", no compute ceiling"
        }
        return Ceilings(bandwidthGBps: bandwidth, computeGFLOPS: compute, pointThreads: point.threads, basis: basis)
    }

    /// % of roofline of a measured decode: weight bytes per step × steps/s ÷ the read bandwidth the
    /// profile measured at the run's thread count. Nil without measured bandwidth.
    public static func percent(_ r: StoredRun, on profile: HardwareProfile) -> Double? {
        guard r.config.nGen > 0, profile.bandwidth != nil, let w = weightBytes(r.config), let tg = r.tgAvgTs,
              let c = ceilings(profile, threads: r.config.nThreads) else { return nil }
        // Each decode step reads the weights once for all B sequences.
        return w * tg / Double(r.config.nSeq) / (c.bandwidthGBps * 1e9) * 100
    }

    /// Bytes of weights one decode step reads: the model file's size. With tied embeddings (the
    /// SmolLM2 family) the output head reads the whole embedding matrix, so this is exact up to
    /// the file header; with separate ones it over-counts the embedding table, which calibration absorbs.
    public static func weightBytes(_ c: RunConfig) -> Double? { c.modelSize.flatMap { $0 > 0 ? Double($0) : nil } }

    /// Matrix FLOPs per token: two per weight.
    public static func flopsPerToken(_ c: RunConfig) -> Double? { c.modelNParams.flatMap { $0 > 0 ? 2 * Double($0) : nil } }

    /// KV-cache bytes per cached position of one sequence, from a run's reported KV-cache size
    /// (an upper bound when the backend pads its context).
    public static func kvBytesPerPosition(_ r: StoredRun) -> Double? {
        let positions = r.config.nSeq * (r.config.nPrompt + r.config.nGen + r.config.nDepth)
        guard let kv = r.summary["kv_cache_bytes"], kv > 0, positions > 0 else { return nil }
        return kv / Double(positions)
    }

    /// Bytes one decode step of `c` reads: the weights once, plus each sequence's KV cache at the
    /// mean context of the generation.
    static func decodeBytesPerStep(_ c: RunConfig, kvPerPosition: Double?) -> Double? {
        guard let w = weightBytes(c) else { return nil }
        let context = Double(c.nDepth + c.nPrompt) + Double(c.nGen) / 2
        return w + Double(c.nSeq) * (kvPerPosition ?? 0) * context
    }
}

/// Efficiency factors (measured speed ÷ roofline bound) fitted to measured runs, with the error
/// that leaving each run out of the fit produces. Decode efficiency is
/// `steps/s × bytes per step ÷ bandwidth`; prefill efficiency is `pp t/s × FLOPs per token ÷ compute`.
public struct Calibration: Sendable {
    public enum Phase: String, Sendable { case decode, prefill }

    public struct Sample: Sendable {
        public var run: StoredRun
        public var phase: Phase
        public var efficiency: Double
        /// The machine the run was measured on.
        public var machine: String
        public var architecture: String
        /// Relative error of this run's prediction with the run left out of the fit.
        public var leaveOneOutError: Double?
    }

    public struct Group: Sendable {
        public var key: String
        public var count: Int
        public var efficiency: Double
        public var medianAbsError: Double?
        public var p90AbsError: Double?
    }

    public private(set) var samples: [Sample] = []
    /// Runs that could not be used, with the reason (no profile for their machine, no size, …).
    public private(set) var unused: [String] = []
    /// Architectures (`x86_64/avx2`, `aarch64/neon`…) the calibration runs come from.
    public var architectures: Set<String> { Set(samples.map(\.architecture)) }

    static func architecture(_ p: HardwareProfile) -> String {
        let simd = ["avx512f", "avx2", "sve", "dotprod", "neon"].first { p.isa.features.contains($0) } ?? "scalar"
        return "\(p.cpu.architecture)/\(simd)"
    }

    /// KV-cache bytes per cached position, by `kvKey` (model size, KV type, backend), from the runs' reports.
    let kvPerPosition: [String: Double]

    /// Fit from measured runs (`kind == run`, status ok; synthetic models count like real ones) and
    /// the profiles of the machines they ran on, keyed by fingerprint.
    public init(entries: [StoredRun], profiles: [String: HardwareProfile]) {
        var kvByModel: [String: Double] = [:]
        for r in entries where r.kind == "run" && r.status == "ok" {
            if let kv = Roofline.kvBytesPerPosition(r) { kvByModel[Self.kvKey(r.config)] = min(kvByModel[Self.kvKey(r.config)] ?? .infinity, kv) }
        }
        self.kvPerPosition = kvByModel
        for r in entries where r.kind == "run" && r.status == "ok" {
            guard let fingerprint = r.environment("fingerprint"), let machine = profiles[fingerprint] else {
                unused.append("\(r.key): no hardware profile for fingerprint \(r.environment("fingerprint") ?? "?")"); continue
            }
            guard let ceilings = Roofline.ceilings(machine, threads: r.config.nThreads) else {
                unused.append("\(r.key): profile \(machine.name) has no bandwidth figure"); continue
            }
            let arch = Self.architecture(machine)
            if r.config.nGen > 0, let tg = r.tgAvgTs, tg > 0,
               let bytes = Roofline.decodeBytesPerStep(r.config, kvPerPosition: kvByModel[Self.kvKey(r.config)]) {
                let steps = tg / Double(r.config.nSeq)
                samples.append(Sample(run: r, phase: .decode, efficiency: steps * bytes / (ceilings.bandwidthGBps * 1e9),
                                      machine: machine.name, architecture: arch))
            }
            if r.config.nPrompt > 0, let pp = r.ppAvgTs, pp > 0, let flops = Roofline.flopsPerToken(r.config), let compute = ceilings.computeGFLOPS {
                samples.append(Sample(run: r, phase: .prefill, efficiency: pp * flops / (compute * 1e9), machine: machine.name, architecture: arch))
            }
        }
        for i in samples.indices {
            if let fit = efficiency(samples[i].phase, samples[i].run.config, excluding: i) {
                samples[i].leaveOneOutError = fit.value / samples[i].efficiency - 1
            }
        }
    }

    static func kvKey(_ c: RunConfig) -> String { "\(c.modelNParams ?? 0)|\(c.kvType)|\(c.backend)" }

    /// A calibration group: runs of one backend (nil: any), tensor type (nil: any) and, for decode,
    /// batch size (nil: any). Printed as `native|q4_0|b1`, `native|*`, `*`.
    struct Level: Equatable {
        var backend: String?
        var type: String?
        var batch: Int?

        func contains(_ c: RunConfig) -> Bool {
            (backend.map { $0 == c.backend } ?? true) && (type.map { $0 == c.modelType } ?? true) && (batch.map { $0 == c.nSeq } ?? true)
        }

        var name: String {
            guard let backend else { return "*" }
            return [backend, type ?? "*"].joined(separator: "|") + (batch.map { "|b\($0)" } ?? "")
        }
    }

    /// Grouping levels, finest first: a prediction uses the finest level with data.
    static func levels(_ phase: Phase, _ c: RunConfig) -> [Level] {
        let coarse = [Level(backend: c.backend, type: c.modelType), Level(backend: c.backend), Level()]
        return phase == .decode ? [Level(backend: c.backend, type: c.modelType, batch: c.nSeq)] + coarse : coarse
    }

    /// The median efficiency at the finest level that has data, leaving out sample `excluding`.
    func efficiency(_ phase: Phase, _ c: RunConfig, excluding: Int? = nil) -> (value: Double, level: Level, count: Int)? {
        for level in Self.levels(phase, c) {
            let values = samples.indices.filter { $0 != excluding && samples[$0].phase == phase && level.contains(samples[$0].run.config) }
                .map { samples[$0].efficiency }
            if !values.isEmpty { return (Comparison.median(values), level, values.count) }
        }
        return nil
    }

    /// The error to state for a prediction fitted at `level`: the 90th percentile of the
    /// leave-one-out errors of the runs in that group when it has at least three, else of the whole phase.
    func errorBound(_ phase: Phase, level: Level) -> Double? {
        let inPhase = samples.filter { $0.phase == phase }
        let group = inPhase.filter { level.contains($0.run.config) }.compactMap(\.leaveOneOutError)
        let errors = group.count >= 3 ? group : inPhase.compactMap(\.leaveOneOutError)
        return Self.percentile(errors.map(abs), 0.9)
    }

    static func percentile(_ x: [Double], _ q: Double) -> Double? {
        guard !x.isEmpty else { return nil }
        let s = x.sorted()
        let pos = q * Double(s.count - 1)
        let (lo, hi) = (Int(pos.rounded(.down)), Int(pos.rounded(.up)))
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }

    /// One row per (phase, backend, type) group: size, fitted efficiency and leave-one-out errors.
    public func groups() -> [Group] {
        let keyed = Dictionary(grouping: samples) { "\($0.phase.rawValue) \($0.run.config.backend) \($0.run.config.modelType)" }
        return keyed.keys.sorted().map { k in
            let s = keyed[k]!
            let errors = s.compactMap(\.leaveOneOutError).map(abs)
            return Group(key: k, count: s.count, efficiency: Comparison.median(s.map(\.efficiency)),
                         medianAbsError: errors.isEmpty ? nil : Comparison.median(errors), p90AbsError: Self.percentile(errors, 0.9))
        }
    }

    /// Median and 90th percentile of the absolute leave-one-out errors of a phase.
    public func summary(_ phase: Phase) -> (count: Int, median: Double?, p90: Double?) {
        let errors = samples.filter { $0.phase == phase }.compactMap(\.leaveOneOutError).map(abs)
        return (errors.count, errors.isEmpty ? nil : Comparison.median(errors), Self.percentile(errors, 0.9))
    }
}

/// A predicted run on a target machine: what a roofline model with calibrated efficiencies expects.
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
    /// 90th-percentile relative error of the decode and prefill predictions, from calibration.
    public var decodeError: Double?
    public var prefillError: Double?
    /// The calibration group each figure comes from, the ceilings used, and warnings.
    public var notes: [String]

    /// The larger of the two errors, the one to quote for TTFT and for the whole row.
    public var error: Double? { [decodeError, prefillError].compactMap { $0 }.max() }

    /// The prediction as a stored entry of kind `prediction`, so tables, recommendations and the
    /// cost model read it like a measured run. The summary carries the error bounds.
    public func entry(target: HardwareProfile) -> StoredRun {
        var summary: [String: Double] = [:]
        if let ttftMs { summary["ttft_ms"] = ttftMs }
        if let itlMs { summary["itl_p50_ms"] = itlMs }
        if let decodeError { summary["tg_error_p90"] = decodeError }
        if let prefillError { summary["pp_error_p90"] = prefillError }
        let context = (try? JSONSerialization.data(withJSONObject: [
            "environment": ["fingerprint": target.fingerprint, "hostname": target.name],
            "prediction": ["notes": notes, "target": target.name],
        ], options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return StoredRun(sweepId: "predict-\(target.name)", key: Predictor.key(config), kind: "prediction", seq: 0, status: "ok", reason: nil,
                         config: config, avgTs: decodeTps ?? prefillTps, stddevTs: nil, samplesTs: [], ppAvgTs: prefillTps, tgAvgTs: decodeTps,
                         peakRssBytes: peakRssBytes, predictedBytes: nil, summary: summary, flags: ["predicted"], finishedAt: "",
                         record: "{}", context: context)
    }
}

extension StoredRun {
    /// For an entry of kind `prediction`, the larger of its decode and prefill errors (p90,
    /// relative); nil for a measured run.
    public var predictionError: Double? {
        kind == "prediction" ? [summary["tg_error_p90"], summary["pp_error_p90"]].compactMap { $0 }.max() : nil
    }

    /// `measured`, or `predicted ±x%` (the p90 error), for a table's source column.
    public var source: String {
        guard kind == "prediction" else { return "measured" }
        return "predicted " + (predictionError.map { String(format: "±%.0f%%", $0 * 100) } ?? "±?")
    }
}

/// The roofline predictor: bound × calibrated efficiency, for any configuration on any profile.
public struct Predictor: Sendable {
    public var calibration: Calibration
    /// Largest peak RSS measured per configuration, keyed by `shape` and by `shape(…, lengths: false)`.
    let memory: [RunConfig: Int]

    public init(calibration: Calibration) {
        self.calibration = calibration
        var memory: [RunConfig: Int] = [:]
        for s in calibration.samples {
            guard let rss = s.run.peakRssBytes else { continue }
            for k in [Self.shape(s.run.config), Self.shape(s.run.config, lengths: false)] { memory[k] = max(memory[k] ?? 0, rss) }
        }
        self.memory = memory
    }

    static func key(_ c: RunConfig) -> String {
        "\(c.model)|\(c.modelType)|\(c.backend)|t\(c.nThreads)|b\(c.nSeq)|p\(c.nPrompt)|g\(c.nGen)|kv-\(c.kvType)|d\(c.nDepth)"
    }

    /// The configuration without what does not change memory or the calibrated shape: threads and
    /// placement; and, with `lengths: false`, prompt and generation lengths too.
    static func shape(_ c: RunConfig, lengths: Bool = true) -> RunConfig {
        var s = c
        s.nThreads = 0; s.placement = ""; s.cpus = []
        if !lengths { s.nPrompt = 0; s.nGen = 0 }
        return s
    }

    public func predict(_ c: RunConfig, on target: HardwareProfile) -> Prediction {
        var p = Prediction(config: c, notes: [])
        guard let ceilings = Roofline.ceilings(target, threads: c.nThreads) else {
            p.notes.append("\(target.name) has neither measured nor theoretical bandwidth: nothing to predict from"); return p
        }
        p.notes.append(ceilings.basis)
        if c.nThreads > target.cpu.logicalCPUs { p.notes.append("\(c.nThreads) threads on \(target.cpu.logicalCPUs) CPUs: oversubscribed, expect worse") }
        let arch = Calibration.architecture(target)
        if !calibration.architectures.isEmpty && !calibration.architectures.contains(arch) {
            p.notes.append("calibrated on \(calibration.architectures.sorted().joined(separator: ", ")) only; the error on \(arch) is not measured and may be larger")
        }
        if c.nGen > 0, let fit = calibration.efficiency(.decode, c),
           let bytes = Roofline.decodeBytesPerStep(c, kvPerPosition: calibration.kvPerPosition[Calibration.kvKey(c)]) {
            let steps = fit.value * ceilings.bandwidthGBps * 1e9 / bytes
            p.decodeTps = steps * Double(c.nSeq)
            p.itlMs = 1000 / steps
            p.decodeError = calibration.errorBound(.decode, level: fit.level)
            p.notes.append(String(format: "decode efficiency %.2f from %d run%@ (%@)", fit.value, fit.count, fit.count == 1 ? "" : "s", fit.level.name))
        }
        if c.nPrompt > 0, let compute = ceilings.computeGFLOPS, let fit = calibration.efficiency(.prefill, c), let flops = Roofline.flopsPerToken(c) {
            p.prefillTps = fit.value * compute * 1e9 / flops
            p.prefillError = calibration.errorBound(.prefill, level: fit.level)
            p.notes.append(String(format: "prefill efficiency %.2f from %d run%@ (%@)", fit.value, fit.count, fit.count == 1 ? "" : "s", fit.level.name))
        }
        if let pp = p.prefillTps, let itl = p.itlMs {
            p.ttftMs = Double(c.nSeq * (c.nPrompt + c.nDepth)) / pp * 1000 + itl
        }
        p.peakRssBytes = memory[Self.shape(c)]
        if p.peakRssBytes == nil, let other = memory[Self.shape(c, lengths: false)] {
            p.peakRssBytes = other
            p.notes.append("peak RSS of \(c.model) \(c.modelType) \(c.backend) was measured at another prompt/generation length (KV cache differs)")
        }
        return p
    }

    /// Every measured configuration (model, type, backend, batch, KV type, depth — with the
    /// longest prompt and generation measured for it) at each thread count worth trying on the
    /// target: powers of two up to its cores, and its cores.
    public func configurations(for target: HardwareProfile) -> [RunConfig] {
        let cores = max(1, target.cpu.physicalCores)
        let threads = Set(sequence(first: 1) { $0 * 2 }.prefix { $0 <= cores } + [cores]).sorted()
        var longest: [RunConfig: RunConfig] = [:], order: [RunConfig] = []
        for s in calibration.samples {
            let c = s.run.config, k = Self.shape(c, lengths: false)
            if let have = longest[k] {
                if c.nPrompt + c.nGen > have.nPrompt + have.nGen { longest[k] = c }
            } else { longest[k] = c; order.append(k) }
        }
        return order.flatMap { k in
            threads.map { t in
                var c = longest[k]!
                c.placement = "none"; c.cpus = []; c.nThreads = t
                return c
            }
        }
    }
}

/// Predictions side by side with measurements taken on the target: each one's error and the
/// median absolute error, per phase and overall.
public struct PredictionValidation: Sendable {
    public struct Row: Sendable {
        public var config: RunConfig
        public var phase: Calibration.Phase
        public var measured: Double
        public var predicted: Double?
        /// predicted ÷ measured − 1.
        public var error: Double? { predicted.map { $0 / measured - 1 } }
    }

    public var rows: [Row] = []
    public var target: String

    public init(measured: [StoredRun], target: HardwareProfile, predictor: Predictor) {
        self.target = target.name
        for r in measured where r.kind == "run" && r.status == "ok" {
            var c = r.config
            c.placement = "none"; c.cpus = []
            let p = predictor.predict(c, on: target)
            if c.nGen > 0, let tg = r.tgAvgTs { rows.append(Row(config: c, phase: .decode, measured: tg, predicted: p.decodeTps)) }
            if c.nPrompt > 0, let pp = r.ppAvgTs { rows.append(Row(config: c, phase: .prefill, measured: pp, predicted: p.prefillTps)) }
        }
    }

    public func medianAbsError(_ phase: Calibration.Phase? = nil) -> Double? {
        let e = rows.filter { phase == nil || $0.phase == phase }.compactMap(\.error).map(abs)
        return e.isEmpty ? nil : Comparison.median(e)
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

/// The predictions table and the calibration it rests on.
public enum PredictionTable {
    public static func markdown(_ predictions: [Prediction], calibration: Calibration, target: HardwareProfile) -> String {
        func num(_ x: Double?, _ f: String) -> String { x.map { String(format: f, $0) } ?? "—" }
        func pct(_ x: Double?) -> String { x.map { String(format: "±%.0f%%", $0 * 100) } ?? "±?" }
        var lines = ["Predicted for \(target.name) (\(target.fingerprint)) by the roofline model — not measured.", "",
                     "| model | type | backend | threads | batch | test | pp t/s | tg t/s | TTFT ms | ITL ms | peak RSS | error (p90) |",
                     "|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
        for p in predictions {
            let c = p.config
            let test = [c.nPrompt > 0 ? "pp\(c.nPrompt)" : nil, c.nGen > 0 ? "tg\(c.nGen)" : nil].compactMap { $0 }.joined(separator: "+")
            lines.append("| \(ResultsTable.escape(c.model)) | \(c.modelType) | \(c.backend) | \(c.nThreads) | \(c.nSeq) | \(test) | "
                + "\(num(p.prefillTps, "%.1f")) \(p.prefillTps == nil ? "" : pct(p.prefillError)) | \(num(p.decodeTps, "%.1f")) \(p.decodeTps == nil ? "" : pct(p.decodeError)) | "
                + "\(num(p.ttftMs, "%.0f")) | \(num(p.itlMs, "%.1f")) | \(p.peakRssBytes.map(ResultsTable.bytes) ?? "—") | \(pct(p.error)) |")
        }
        lines.append("")
        lines.append(contentsOf: calibrationLines(calibration))
        let notes = Array(Set(predictions.flatMap(\.notes).filter { !$0.hasPrefix("decode efficiency") && !$0.hasPrefix("prefill efficiency") })).sorted()
        if !notes.isEmpty {
            lines.append("")
            lines.append("Assumptions and warnings:")
            lines += notes.map { "- \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    public static func calibrationLines(_ calibration: Calibration) -> [String] {
        func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "—" }
        let d = calibration.summary(.decode), p = calibration.summary(.prefill)
        var lines = ["Calibration: efficiency = measured ÷ roofline bound, median per backend × type (× batch for decode), fitted to "
            + "\(calibration.samples.count) measurements on \(Set(calibration.samples.map(\.machine)).sorted().joined(separator: ", ")) "
            + "(\(calibration.architectures.sorted().joined(separator: ", "))). Leave-one-out |error|: decode median \(pct(d.median)), "
            + "p90 \(pct(d.p90)) over \(d.count) runs; prefill median \(pct(p.median)), p90 \(pct(p.p90)) over \(p.count) runs.", "",
            "| phase backend type | runs | efficiency | LOO median |error| | LOO p90 |error| |", "|---|---:|---:|---:|---:|"]
        for g in calibration.groups() {
            lines.append("| \(g.key) | \(g.count) | \(String(format: "%.3f", g.efficiency)) | \(pct(g.medianAbsError)) | \(pct(g.p90AbsError)) |")
        }
        if !calibration.unused.isEmpty { lines.append(""); lines.append("\(calibration.unused.count) runs unused: \(calibration.unused.prefix(3).joined(separator: "; "))\(calibration.unused.count > 3 ? "; …" : "")") }
        return lines
    }
}
