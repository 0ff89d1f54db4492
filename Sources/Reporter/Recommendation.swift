import Foundation
import Measures
import ResultStore

/// Which measured configurations meet a user's constraints, ranked, with the Pareto front over
/// speed, memory and quality, and the reason each rejected one failed.
public struct Recommendation: Sendable {
    public struct Constraints: Sendable {
        public var minDecodeTps: Double?
        public var maxTTFTMs: Double?
        public var maxMemoryBytes: Int?
        public var maxKLD: Double?
        public var maxDeltaPPLPercent: Double?
        /// Decode joules per generated token, as measured by the run's energy collector.
        public var maxJoulesPerToken: Double?
        /// Rank by the steady-state decode rate of sustained runs (`measurement: {sustain: …}`)
        /// instead of the mean over repetitions; runs without one are rejected.
        public var sustained: Bool
        public init(minDecodeTps: Double? = nil, maxTTFTMs: Double? = nil, maxMemoryBytes: Int? = nil, maxKLD: Double? = nil,
                    maxDeltaPPLPercent: Double? = nil, maxJoulesPerToken: Double? = nil, sustained: Bool = false) {
            self.minDecodeTps = minDecodeTps; self.maxTTFTMs = maxTTFTMs; self.maxMemoryBytes = maxMemoryBytes
            self.maxKLD = maxKLD; self.maxDeltaPPLPercent = maxDeltaPPLPercent; self.maxJoulesPerToken = maxJoulesPerToken
            self.sustained = sustained
        }
    }

    public struct Candidate: Sendable {
        public var run: StoredRun
        public var decodeTps: Double
        public var ttftMs: Double?
        public var memoryBytes: Int?
        public var kld: Double?
        public var deltaPPLPercent: Double?
        /// Not beaten on every one of speed, memory and quality by another feasible candidate.
        public var pareto = false
        public var rejections: [String] = []
        /// Nil for a measured run; the prediction's p90 relative error for a predicted one.
        public var predictionError: Double? { run.predictionError }
        public var predicted: Bool { run.kind == .prediction }
    }

    public var feasible: [Candidate]
    public var rejected: [Candidate]
    /// Decode speed is the steady-state rate of sustained runs.
    public var sustained: Bool

    public init(entries: [StoredRun], constraints c: Constraints) {
        let quality = ResultsTable.qualityByModelType(entries)
        var feasible: [Candidate] = [], rejected: [Candidate] = []
        for r in entries where [.run, .prediction].contains(r.kind) && r.status == .ok && r.config.nGen > 0 {
            guard let tg = r.tgAvgTs else { continue }
            let q = r.config.synthetic ? nil : quality[ResultsTable.qualityKey(r)]
            let steady = r.summary[.steadyTs]
            var candidate = Candidate(run: r, decodeTps: (c.sustained ? steady ?? 0 : tg) / Double(r.config.nSeq), ttftMs: r.summary[.ttft],
                                      memoryBytes: r.peakRssBytes, kld: q?.kld, deltaPPLPercent: q?.dppl)
            if c.sustained && steady == nil {
                candidate.rejections.append(r.kind == .prediction ? "predicted: no sustained rate" : "no sustained measurement (a sweep with measurement: {sustain: 10m})")
            }
            if let min = c.minDecodeTps, candidate.decodeTps < min {
                candidate.rejections.append(String(format: "decode %.1f t/s per sequence < %.1f", candidate.decodeTps, min))
            }
            if let max = c.maxTTFTMs {
                if let t = candidate.ttftMs { if t > max { candidate.rejections.append(String(format: "TTFT %.0f ms > %.0f", t, max)) } }
                else { candidate.rejections.append("no TTFT measured") }
            }
            if let max = c.maxMemoryBytes {
                if let m = candidate.memoryBytes { if m > max { candidate.rejections.append("peak RSS \(m / 1_048_576) MiB > \(max / 1_048_576) MiB") } }
                else { candidate.rejections.append("no peak RSS measured") }
            }
            if let max = c.maxKLD {
                if r.config.synthetic { candidate.rejections.append("synthetic weights: no quality numbers") }
                else if let k = candidate.kld { if k > max { candidate.rejections.append(String(format: "KLD %.4f > %.4f", k, max)) } }
                else { candidate.rejections.append("no quality evaluation for \(r.config.modelType)") }
            }
            if let max = c.maxDeltaPPLPercent {
                if r.config.synthetic { candidate.rejections.append("synthetic weights: no quality numbers") }
                else if let d = candidate.deltaPPLPercent { if d > max { candidate.rejections.append(String(format: "ΔPPL %+.2f%% > %.2f%%", d, max)) } }
                else { candidate.rejections.append("no quality evaluation for \(r.config.modelType)") }
            }
            if let max = c.maxJoulesPerToken {
                // Only a measurement counts: a prediction or a run without a collector has no J/token.
                if let j = r.summary[.joulesPerToken] { if j > max { candidate.rejections.append(String(format: "%.4f J/token > %.4f", j, max)) } }
                else { candidate.rejections.append("no energy measured") }
            }
            if candidate.rejections.isEmpty { feasible.append(candidate) } else { rejected.append(candidate) }
        }
        // Pareto front over (speed ↑, memory ↓, quality loss ↓); unknown memory or quality counts as worst.
        func better(_ a: Candidate, _ b: Candidate) -> Bool {
            let (am, bm) = (Double(a.memoryBytes ?? .max), Double(b.memoryBytes ?? .max))
            let (ak, bk) = (a.kld ?? .infinity, b.kld ?? .infinity)
            let noWorse = a.decodeTps >= b.decodeTps && am <= bm && ak <= bk
            return noWorse && (a.decodeTps > b.decodeTps || am < bm || ak < bk)
        }
        for i in feasible.indices { feasible[i].pareto = !feasible.contains { better($0, feasible[i]) } }
        self.feasible = feasible.sorted { ($0.pareto ? 1 : 0, $0.decodeTps) > ($1.pareto ? 1 : 0, $1.decodeTps) }
        self.rejected = rejected.sorted { $0.decodeTps > $1.decodeTps }
        sustained = c.sustained
    }

    public func markdown(limit: Int = 30) -> String {
        func row(_ c: Candidate) -> String {
            let r = c.run.config
            let kld = c.kld.map { String(format: "%.4f", $0) } ?? (r.synthetic ? "synthetic" : "—")
            let mem = c.memoryBytes.map { String(format: "%.0f MB", Double($0) / 1e6) } ?? "—"
            return "| \(c.pareto ? "★" : "") | \(ResultsTable.escape(r.model)) | \(r.modelType) | \(r.backend) | \(r.nThreads) | \(r.nSeq) | \(String(format: "%.1f", c.decodeTps)) | \(c.ttftMs.map { String(format: "%.0f", $0) } ?? "—") | \(mem) | \(kld) | \(c.run.source) |"
        }
        let speed = sustained ? "steady-state decode t/s per seq" : "decode t/s per seq"
        var lines = ["Feasible (★ = Pareto front over \(sustained ? "steady-state " : "")decode speed, memory and KL divergence), fastest first:", "",
                     "| | model | type | backend | threads | batch | \(speed) | TTFT ms | peak RSS | KLD | source |",
                     "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
        lines += feasible.prefix(limit).map(row)
        if feasible.isEmpty { lines.append("| | (none meets every constraint) | | | | | | | | | |") }
        if feasible.count > limit { lines.append("(\(feasible.count - limit) more feasible)") }
        lines.append("")
        lines.append("Rejected (\(rejected.count)):")
        for c in rejected.prefix(limit) {
            let r = c.run.config
            lines.append("- \(r.model) \(r.modelType) \(r.backend) t\(r.nThreads) b\(r.nSeq)\(c.predicted ? " (predicted)" : ""): \(c.rejections.joined(separator: "; "))")
        }
        if rejected.count > limit { lines.append("- … \(rejected.count - limit) more") }
        return lines.joined(separator: "\n")
    }
}
