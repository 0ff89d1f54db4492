import Foundation
import Measures
import ResultStore

/// The answer a report opens with: which configuration to choose on one device under stated
/// constraints, its figures (each saying how it was obtained), the runner-up and what it trades,
/// and what weakens the answer. The ranking is `Recommendation`'s, the one `slmbench recommend`
/// prints: the recommended configuration is its first feasible row, the runner-up its second.
public struct Decision: Sendable {
    /// The device the answer is for (a profile's name).
    public var device: String
    /// How the rows were obtained: "measured on the target" or "predicted (nothing measured on the target)".
    public var basis: String
    /// The constraints as they applied, each with where it came from.
    public var stated: [String]
    public var recommendation: Recommendation
    /// The cost of the workload with each of the two configurations, or why there is none.
    public var cost: Result<CostInputsResolved, CostError>?
    /// The type of each real model's source weights when they are already quantized (e.g.
    /// `smollm2-135m` → `Q4_1`): its quality figures are against an F32 conversion of those.
    public var sourceWeights: [String: String]
    /// The predictor's error label (`Predictor.errorLabel`), when rows are predicted.
    public var errorLabel: String?

    /// The cost model's inputs for this device, resolved (economics, prices, workload).
    public struct CostInputsResolved: Sendable {
        public var device: DeviceEconomics
        public var cloud: CloudPriceList
        public var workload: Workload
        public init(device: DeviceEconomics, cloud: CloudPriceList, workload: Workload) { self.device = device; self.cloud = cloud; self.workload = workload }
    }

    public init(device: String, basis: String, stated: [String], recommendation: Recommendation,
                cost: Result<CostInputsResolved, CostError>?, sourceWeights: [String: String], errorLabel: String?) {
        self.device = device; self.basis = basis; self.stated = stated; self.recommendation = recommendation
        self.cost = cost; self.sourceWeights = sourceWeights; self.errorLabel = errorLabel
    }

    public var recommended: Recommendation.Candidate? { recommendation.feasible.first }
    public var runnerUp: Recommendation.Candidate? { recommendation.feasible.dropFirst().first }
    /// With nothing feasible: the rejected configuration failing the fewest constraints, fastest first.
    public var closest: Recommendation.Candidate? {
        recommendation.rejected.min { ($0.rejections.count, -$0.decodeTps) < ($1.rejections.count, -$1.decodeTps) }
    }

    /// The constraints a report applies when none is given, stated as such: 20 decode tokens/s per
    /// sequence (faster than people read) and a mean KL divergence of at most 0.1 against the F32
    /// weights (the demo's `recommend` constraints).
    public static let defaultConstraints = Recommendation.Constraints(minDecodeTps: 20, maxKLD: 0.1)

    /// The given constraints, or `defaultConstraints` when none is given (`defaulted`).
    public static func resolve(_ given: Recommendation.Constraints) -> (constraints: Recommendation.Constraints, defaulted: Bool) {
        let none = given.minDecodeTps == nil && given.maxTTFTMs == nil && given.maxMemoryBytes == nil && given.maxKLD == nil
            && given.maxDeltaPPLPercent == nil && given.maxJoulesPerToken == nil
        var chosen = none ? defaultConstraints : given
        chosen.sustained = given.sustained
        return (chosen, none)
    }

    /// Each constraint as it applied, with where it came from. `c.maxMemoryBytes` is the cap
    /// applied (`--max-memory` when `memoryFromFlag`, capped by the device's usable memory).
    public static func statement(_ c: Recommendation.Constraints, defaulted: Bool, memoryFromFlag: Bool) -> [String] {
        var lines: [String] = []
        if let v = c.minDecodeTps { lines.append(String(format: "decode at least %g tokens/s per sequence", v) + (defaulted ? " (default: faster than people read)" : " (--min-decode-tps)")) }
        if let v = c.maxTTFTMs { lines.append(String(format: "first token within %g ms (--max-ttft-ms)", v)) }
        if let v = c.maxKLD { lines.append(String(format: "mean KL divergence at most %g against the F32 weights", v) + (defaulted ? " (default)" : " (--max-kld)")) }
        if let v = c.maxDeltaPPLPercent { lines.append(String(format: "perplexity at most %g%% above the F32 weights' (--max-dppl-percent)", v)) }
        if let v = c.maxJoulesPerToken { lines.append(String(format: "at most %g J per generated token, measured (--max-joules-per-token)", v)) }
        if c.sustained { lines.append("decode speed is the steady-state rate of sustained runs (--sustained)") }
        if let m = c.maxMemoryBytes {
            lines.append("peak memory at most \(m / 1_048_576) MiB" + (memoryFromFlag ? " (--max-memory, capped by the device's usable memory)" : " (the device's usable memory)"))
        }
        return lines
    }

    /// The cost of one configuration's runs at the workload (nil: no cost inputs, or the run lacks a phase).
    public func costRow(_ c: Recommendation.Candidate) -> CostModel.DeviceRow? {
        guard case .success(let inputs)? = cost else { return nil }
        return (try? CostModel(entries: [c.run], device: inputs.device, cloud: inputs.cloud, workload: inputs.workload))?.deviceRows.first
    }

    /// The cheapest cloud option at the workload, against the recommended configuration.
    public func cheapestCloud() -> CostModel.CloudRow? {
        guard case .success(let inputs)? = cost, let pick = recommended,
              let model = try? CostModel(entries: [pick.run], device: inputs.device, cloud: inputs.cloud, workload: inputs.workload) else { return nil }
        return model.cloudRows.first
    }

    /// The quality caveat for a model whose source weights are already quantized, else nil.
    public static func caveat(model: String, sourceWeights: [String: String]) -> String? {
        guard let type = sourceWeights[model] else { return nil }
        return "\(model)'s source weights are already \(type): every other type is a requantization of them, and quality is measured against their F32 conversion, so the loss from the original model to \(type) is not in these figures"
    }

    /// One figure of the summary: what, its value, and how it was obtained.
    public struct Figure: Sendable {
        public var name: String
        public var value: String
        public var basis: String
    }

    /// The five figures of a configuration: speed, latency, memory, quality loss, cost.
    public func figures(_ c: Recommendation.Candidate) -> [Figure] {
        let r = c.run
        var out: [Figure] = []
        let decodeErr = r.summary[.tgErrorP90], prefillErr = r.summary[.ppErrorP90]
        func predicted(_ e: Double?) -> String {
            "predicted " + (e.map { String(format: "±%.0f%%", $0 * 100) } ?? "(error not validated)")
                + (errorLabel.map { " (\($0))" } ?? "")
        }
        if c.predicted {
            out.append(Figure(name: "decode speed", value: String(format: "%.1f tokens/s per sequence", c.decodeTps), basis: predicted(decodeErr)))
        } else {
            var basis = "measured"
            if let n = r.summary[.repetitions] { basis += String(format: ", mean of %.0f repetitions", n) }
            if let ci = r.summary[.ci95Relative] { basis += String(format: " (95%% CI ±%.1f%%)", ci * 100) }
            if !r.runFlags.isEmpty { basis += " ⚑ " + r.runFlags.map(\.rawValue).joined(separator: ", ") }
            out.append(Figure(name: "decode speed", value: String(format: "%.1f tokens/s per sequence", c.decodeTps), basis: basis))
        }
        let test = "prompt of \(r.config.nPrompt) tokens"
        if let t = c.ttftMs {
            out.append(Figure(name: "time to first token", value: String(format: "%.0f ms", t),
                              basis: c.predicted ? predicted([decodeErr, prefillErr].compactMap { $0 }.max()) + ", \(test)" : "measured (median), \(test)"))
        } else {
            out.append(Figure(name: "time to first token", value: "—", basis: "not measured"))
        }
        if let m = c.memoryBytes {
            out.append(Figure(name: "peak memory", value: String(format: "%.0f MB", Double(m) / 1e6),
                              basis: c.predicted ? "measured for this configuration on another machine (memory depends on the model and backend, not the CPU)" : "measured (peak resident set of the worker)"))
        } else {
            out.append(Figure(name: "peak memory", value: "—", basis: c.predicted ? "no run of this configuration was measured anywhere" : "not measured"))
        }
        if r.config.synthetic {
            out.append(Figure(name: "quality loss", value: "—", basis: "synthetic weights have no quality figures"))
        } else if c.kld != nil || c.deltaPPLPercent != nil {
            let value = [c.kld.map { String(format: "KLD %.4f", $0) }, c.deltaPPLPercent.map { String(format: "ΔPPL %+.1f%%", $0) }].compactMap { $0 }.joined(separator: " · ")
            var basis = "measured against the F32 conversion of the same weights (quality depends on the weights, not the device)"
            if let type = sourceWeights[r.config.model] { basis = "⚠ measured against the F32 conversion of the \(type) source weights, not the original model's" }
            out.append(Figure(name: "quality loss", value: value, basis: basis))
        } else {
            out.append(Figure(name: "quality loss", value: "—", basis: "no quality evaluation of \(r.config.modelType)"))
        }
        switch cost {
        case nil: out.append(Figure(name: "cost", value: "—", basis: "no device price: give --hourly-usd, or --price-usd with --load-watts"))
        case .failure(let e)?: out.append(Figure(name: "cost", value: "—", basis: e.description))
        case .success(let inputs)?:
            if let row = costRow(c) {
                let w = inputs.workload
                var basis = String(format: "at %.0f requests/day of %.0f + %.0f tokens, %@", w.requestsPerDay.value, w.inputTokens.value, w.outputTokens.value,
                                   c.predicted ? "from predicted speed (" + (([decodeErr, prefillErr].compactMap { $0 }.max()).map { String(format: "±%.0f%%", $0 * 100) } ?? "error not validated") + " on speed)" : "from measured speed")
                basis += "; assumptions in the cost section"
                out.append(Figure(name: "cost", value: Self.usd(row.perMillionTokensUSD) + " USD per million tokens", basis: basis))
            } else {
                out.append(Figure(name: "cost", value: "—", basis: "the run lacks prefill or decode speed"))
            }
        }
        return out
    }

    /// What the runner-up gives and takes against the recommended configuration.
    public func trades(_ b: Recommendation.Candidate, against a: Recommendation.Candidate) -> [String] {
        var out: [String] = []
        let ratio = b.decodeTps / a.decodeTps
        out.append(ratio < 1 ? String(format: "%.0f%% slower decode (%.1f against %.1f t/s)", (1 - ratio) * 100, b.decodeTps, a.decodeTps)
                             : String(format: "%.0f%% faster decode (%.1f against %.1f t/s)", (ratio - 1) * 100, b.decodeTps, a.decodeTps))
        if let mb = b.memoryBytes, let ma = a.memoryBytes, abs(mb - ma) >= 1_000_000 {
            out.append(String(format: "%.0f MB %@ memory", abs(Double(mb - ma)) / 1e6, mb < ma ? "less" : "more"))
        }
        switch (b.kld, a.kld) {
        case let (kb?, ka?) where kb != ka: out.append(String(format: "KL divergence %.4f instead of %.4f (%@)", kb, ka, kb < ka ? "closer to F32" : "further from F32"))
        case (nil, _?): out.append("no quality figures")
        default: break
        }
        if let cb = costRow(b), let ca = costRow(a), ca.perMillionTokensUSD > 0 {
            let r = cb.perMillionTokensUSD / ca.perMillionTokensUSD
            if abs(r - 1) >= 0.01 { out.append(String(format: "%.0f%% %@ per token", abs(r - 1) * 100, r < 1 ? "cheaper" : "dearer")) }
        }
        if b.run.config.model != a.run.config.model { out.append("another model (\(b.run.config.model))") }
        return out
    }

    /// What weakens the answer: flagged runs, predictions, the quality caveat, few candidates.
    public func weaknesses() -> [String] {
        var out: [String] = []
        for (role, c) in [("recommended", recommended), ("runner-up", runnerUp)] {
            guard let c else { continue }
            let flags = c.run.runFlags.map(\.rawValue)
            if !flags.isEmpty {
                out.append("The \(role) configuration's speed comes from a run flagged \(flags.joined(separator: ", ")) (noisy or drifting measurement): repeat it before relying on the ranking.")
            }
            if c.predicted {
                let notes = c.run.predictionNotes.filter { $0.hasPrefix("WARNING") }
                out += notes.map { "The \(role) configuration: \($0)" }
            }
        }
        if recommended?.predicted == true {
            out.append("Every speed here is predicted by the cross-device model, not measured on \(device)" + (errorLabel.map { "; ± is the \($0)" } ?? "") + ".")
        }
        for model in Set([recommended, runnerUp].compactMap { $0?.run.config.model }).sorted() {
            if let caveat = Self.caveat(model: model, sourceWeights: sourceWeights) { out.append("Quality: \(caveat).") }
        }
        if let a = recommended, let b = runnerUp, b.decodeTps > 0, a.decodeTps / b.decodeTps < 1.05 {
            out.append(String(format: "The two are within %.0f%% of each other in decode speed: noise on this machine can swap them.", (a.decodeTps / b.decodeTps - 1) * 100))
        }
        let all = recommendation.feasible + recommendation.rejected
        let flaggedAll = all.filter { !$0.run.runFlags.isEmpty }.count
        let flaggedFeasible = recommendation.feasible.filter { !$0.run.runFlags.isEmpty }.count
        if flaggedAll > 0 && flaggedAll == all.count {
            out.append("Every one of the \(all.count) runs is flagged (noisy or drifting): the machine was busy or unsteady while they ran, so every speed here may be far from what it can do. Measure again on a quiet machine before relying on any of it.")
        } else if flaggedFeasible > 0 {
            out.append("\(flaggedFeasible) of \(recommendation.feasible.count) configurations that meet the constraints come from flagged runs.")
        } else if recommended == nil && flaggedAll > 0 {
            out.append("\(flaggedAll) of the \(all.count) runs are flagged (noisy or drifting).")
        }
        return out
    }

    static func usd(_ x: Double) -> String { x >= 100 ? String(format: "%.0f", x) : x >= 1 ? String(format: "%.2f", x) : String(format: "%.4f", x) }

    /// "model TYPE on backend, N thread(s), batch B".
    public static func describe(_ c: RunConfig) -> String {
        "\(c.model)\(c.synthetic ? " (synthetic)" : "") \(c.modelType.uppercased()) on \(c.backend), \(c.nThreads) thread\(c.nThreads == 1 ? "" : "s"), batch \(c.nSeq)"
    }

    /// A stable identity of a configuration, for tests and the page's data attributes.
    public static func identity(_ c: RunConfig) -> String { "\(c.model)|\(c.modelType)|\(c.backend)|t\(c.nThreads)|b\(c.nSeq)" }
}

extension StoredRun {
    /// A prediction's notes (basis, warnings), from its context block; empty for a measured run.
    public var predictionNotes: [String] {
        guard kind == .prediction, let context = try? JSONSerialization.jsonObject(with: Data(context.utf8)) as? [String: Any],
              let prediction = context["prediction"] as? [String: Any] else { return [] }
        return prediction["notes"] as? [String] ?? []
    }
}
