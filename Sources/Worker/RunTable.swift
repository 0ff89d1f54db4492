import DeviceProbe
import Foundation
import Measures

extension RunRecord {
    /// `slmbench run`'s table of the record: the configuration, the backend, then each metric.
    public var table: String {
        let r = self
        let s = r.spec
        var lines = ["run      \(s.backend.rawValue) · \(s.modelName) \(s.type ?? "as stored") · \(s.threads) thread\(s.threads == 1 ? "" : "s") · batch \(s.batch) · prompt \(s.promptTokens) · gen \(s.genTokens) · kv \(s.kvType.rawValue) · \(s.repetitions) repetitions after \(s.warmup) warm-up"]
        if let b = r.backend {
            let details = b.build.filter { ["kernels", "build_number", "commit"].contains($0.key) }.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append("backend  \(b.name) \(b.version)\(details.isEmpty ? "" : " (\(details))")")
        }
        guard r.status == .ok, let m = r.metrics else {
            lines.append("status   \(r.status): \(r.reason ?? "")")
            return lines.joined(separator: "\n")
        }
        func rate(_ label: String, _ summary: SampleSummary?) {
            guard let x = summary else { lines.append("\(label)—"); return }
            lines.append(String(format: "%@%9.1f t/s  ± %.1f (95%% CI, n=%d, cv %.1f%%)", label, x.mean, x.ci95, x.count, x.cv * 100))
        }
        func time(_ label: String, _ summary: SampleSummary?) {
            guard let x = summary else { lines.append("\(label)—"); return }
            lines.append(String(format: "%@%9.2f ms   median %.2f, min %.2f, max %.2f (n=%d)", label, x.mean * 1e3, x.median * 1e3, x.min * 1e3, x.max * 1e3, x.count))
        }
        rate("prefill ", m.ppTps)
        rate("decode  ", m.tgTps)
        time("TTFT    ", m.ttftSeconds)
        if let l = m.itlSeconds {
            lines.append(String(format: "ITL      p50 %.2f ms · p90 %.2f ms · p99 %.2f ms · mean %.2f ms", l.p50 * 1e3, l.p90 * 1e3, l.p99 * 1e3, l.mean * 1e3))
        } else { lines.append("ITL      —") }
        time("TPOT    ", m.tpotSeconds)
        time("E2E     ", m.e2eSeconds)
        lines.append(String(format: "load     %.3f s cold", m.loadSeconds) + (m.warmLoadSeconds.map { String(format: " · %.3f s warm", $0) } ?? ""))
        if let sampling = r.samples?.sampling { lines += sampling.tableLines(m) }
        lines.append("memory   peak RSS \(ByteSize.format(m.peakRssBytes)) · RSS after load \(ByteSize.format(m.rssAfterLoadBytes)) · weights \(ByteSize.format(m.weightsBytes)) · KV cache \(ByteSize.format(m.kvCacheBytes)) · scratch \(ByteSize.format(m.scratchBytes))")
        return lines.joined(separator: "\n")
    }
}

extension SamplingReport {
    /// `slmbench run`'s energy, heat and sampler lines; a figure not measured is named as such.
    func tableLines(_ m: RunMetrics) -> [String] {
        var lines: [String] = []
        if let why = energyUnavailable {
            lines.append("energy   not measured: \(why)")
        } else {
            var parts: [String] = []
            func add(_ label: String, _ watts: SampleSummary?, _ perToken: SampleSummary?) {
                guard let watts else { return }
                parts.append(String(format: "%@ %.2f W", label, watts.mean) + (perToken.map { String(format: ", %.4f J/token", $0.mean) } ?? ""))
            }
            add("prefill", m.prefillWatts, m.prefillJoulesPerToken)
            add("decode", m.decodeWatts, m.joulesPerToken)
            if let marginal = m.marginalJoulesPerToken, let idle = m.idleWatts {
                parts.append(String(format: "decode above %.2f W idle %.4f J/token", idle, marginal.mean))
            }
            lines.append("energy   " + parts.joined(separator: " · ") + " — \(collector ?? "?") (\(domains.joined(separator: " + "))\(scope.map { "; " + EnergyProbe.scopeText($0) } ?? ""))")
        }
        var heatParts: [String] = []
        if let t = m.maxTempC { heatParts.append(String(format: "max %.1f °C", t)) }
        if let f = m.minMhz { heatParts.append(String(format: "clock %.0f MHz (lowest repetition median)", f)) }
        heatParts.append(throttled.map { "throttled: \($0)" }
            ?? (m.minMhz == nil && !heat.contains("get_throttled") ? "throttling not observable" : "not throttled"))
        lines.append("heat     " + (m.maxTempC == nil && m.minMhz == nil ? "\(heat) · " : "") + heatParts.joined(separator: " · "))
        lines.append(String(format: "sampler  every %.2f s, %d samples; its thread used %.1f ms CPU (%.2f%% of one core)", intervalSeconds, samples,
                            samplerCpuSeconds * 1e3, samplerCpuPercent))
        return lines
    }
}
