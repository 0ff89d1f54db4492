import Foundation
import Measures
import Reporter

/// `sweep --dry-run`: the expanded plan with counts, predicted memory and skips.
extension SweepPlan {
    /// The plan's document (`--dry-run --json`).
    public struct Document: Encodable, Sendable {
        public struct Item: Encodable, Sendable {
            public var key: String, kind: String, seq: Int
            public var model: String, type: String, backend: String
            public var threads: Int, batch: Int, prompt: Int, gen: Int
            public var kv: String, placement: String, depth: Int, cpus: [Int]
            @Null public var predictedBytes: Int?
            @Null public var skip: String?
        }
        public var spec: String, name: String
        @Null public var shard: String?
        public var runs: Int, skipped: Int, filtered: Int, references: Int, quality: Int
        @Null public var availableBytes: Int?
        public var plan: [Item]
    }

    /// What `shard` (i, n) of the plan (or the whole plan) would execute, as a Markdown table or one JSON document.
    public func report(shard: (Int, Int)?, json: Bool) -> String {
        let runs = shard.map { self.shard($0.0, of: $0.1) } ?? self.runs
        let order = executionOrder(runs: runs, shardLabel: shard.map { "\($0.0)of\($0.1)" })
        let references = order.filter { $0.kind == .reference }.count
        let skipped = runs.filter { $0.skip != nil }
        let quality = shard == nil || shard?.0 == 1 ? self.quality : []
        if json {
            let items = (order + quality).map { e in
                let p = e.point
                return Document.Item(key: e.key, kind: e.kind.rawValue, seq: e.seq, model: p.model, type: p.type, backend: p.backend,
                                     threads: p.threads, batch: p.batch, prompt: p.prompt, gen: p.gen, kv: p.kv, placement: p.placement,
                                     depth: p.depth, cpus: e.cpus, predictedBytes: e.predictedBytes, skip: e.skip)
            }
            let doc = Document(spec: spec.file, name: spec.name, shard: shard.map { "\($0.0)/\($0.1)" }, runs: runs.count,
                               skipped: skipped.count, filtered: filtered, references: references, quality: quality.count,
                               availableBytes: availableBytes, plan: items)
            return String(decoding: (try? JSONDocument.encode(doc)) ?? Data(), as: UTF8.self)
        }
        var lines: [String] = []
        let available = availableBytes.map { "\($0 / 1_048_576) MiB available" } ?? "available memory unknown"
        lines.append("plan \(spec.name)\(shard.map { " · shard \($0.0)/\($0.1)" } ?? "") · \(spec.file)")
        lines.append("\(runs.count) runs (\(runs.count - skipped.count) to run, \(skipped.count) skipped) · \(filtered) grid points filtered out · \(references) reference runs · \(quality.count) quality evaluations · \(available)")
        let m = spec.measurement
        if let sustain = m.sustainSeconds {
            lines.append("measurement: \(m.warmup) warm-up, then each run back to back for \(Int(sustain)) s (sustained: burst and steady-state rates), timeout \(Int(m.workerTimeoutSeconds)) s")
        } else {
            lines.append("measurement: \(m.warmup) warm-up, \(m.minRepetitions)–\(m.maxRepetitions) repetitions until the 95% CI is within ±\(String(format: "%.1f", m.targetHalfWidth * 100))%, timeout \(Int(m.timeoutSeconds)) s")
        }
        lines.append("")
        lines.append("| # | kind | model | type | backend | threads | batch | prompt | gen | kv | placement | depth | cpus | predicted | plan |")
        lines.append("|---:|---|---|---|---|---:|---:|---:|---:|---|---|---:|---|---:|---|")
        for (i, e) in (order + quality).enumerated() {
            let p = e.point
            let predicted = e.predictedBytes.map { String(format: "%.0f MiB", Double($0) / 1_048_576) } ?? "—"
            let cpus = e.cpus.isEmpty ? "—" : e.cpus.map(String.init).joined(separator: ",")
            lines.append("| \(i + 1) | \(e.kind.rawValue) | \(p.model) | \(p.type) | \(p.backend) | \(p.threads) | \(p.batch) | \(p.prompt) | \(p.gen) | \(p.kv) | \(p.placement) | \(p.depth) | \(cpus) | \(predicted) | \(e.skip.map { "skip: \($0)" } ?? "run") |")
        }
        return lines.joined(separator: "\n")
    }
}
