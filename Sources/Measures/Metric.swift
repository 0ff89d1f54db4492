/// Every figure slmbench stores or compares, with its unit, its polarity and the key it is
/// stored under. `pp` and `tg` have columns of their own; the others live in a run's summary.
public enum Metric: String, Codable, Sendable, CaseIterable, Hashable {
    case pp, tg, ttft, itlP50, itlP90, itlP99, tpot, e2e
    case load, warmLoad, repetitions, cv, ci95Relative
    case kvCacheBytes, weightsBytes
    /// A prediction's error bars (p90 of |relative error|) for decode and prefill.
    case tgErrorP90, ppErrorP90
    /// Quality, per variant (`TYPE.key` in a quality entry's summary).
    case ppl, dpplPercent, kld, top1Percent
    /// Energy and heat, where a collector measured them (issue 25): decode joules per generated
    /// token, the same above the idle baseline, prefill joules per prompt token, average decode
    /// and prefill watts, idle watts, the hottest zone, the lowest clock.
    case joulesPerToken, marginalJoulesPerToken, prefillJoulesPerToken, decodeWatts, prefillWatts, idleWatts, maxTempC, minMhz
    /// A sustained run (`measurement: {sustain: 10m}`): the primary rate's burst and steady-state
    /// medians (see SustainedSummary), and the seconds to a lasting drop, where there was one.
    case burstTs, steadyTs, throttleAfter

    public enum Polarity: Sendable { case higherIsBetter, lowerIsBetter, neutral }

    /// The metrics `compare` and `history` accept by name (`--metric tg`).
    public static let compared: [Metric] = [.tg, .pp, .ttft]

    /// The key in a stored summary (and in CSV/JSON exports).
    public var key: String {
        switch self {
        case .pp: return "pp_avg_ts"
        case .tg: return "tg_avg_ts"
        case .ttft: return "ttft_ms"
        case .itlP50: return "itl_p50_ms"
        case .itlP90: return "itl_p90_ms"
        case .itlP99: return "itl_p99_ms"
        case .tpot: return "tpot_ms"
        case .e2e: return "e2e_ms"
        case .load: return "load_s"
        case .warmLoad: return "warm_load_s"
        case .repetitions: return "repetitions"
        case .cv: return "cv"
        case .ci95Relative: return "ci95_rel"
        case .kvCacheBytes: return "kv_cache_bytes"
        case .weightsBytes: return "weights_bytes"
        case .tgErrorP90: return "tg_error_p90"
        case .ppErrorP90: return "pp_error_p90"
        case .ppl: return "ppl"
        case .dpplPercent: return "dppl_pct"
        case .kld: return "kld"
        case .top1Percent: return "top1_pct"
        case .joulesPerToken: return "tg_j_per_token"
        case .marginalJoulesPerToken: return "tg_marginal_j_per_token"
        case .prefillJoulesPerToken: return "pp_j_per_token"
        case .decodeWatts: return "tg_w"
        case .prefillWatts: return "pp_w"
        case .idleWatts: return "idle_w"
        case .maxTempC: return "max_temp_c"
        case .minMhz: return "min_mhz"
        case .burstTs: return "burst_ts"
        case .steadyTs: return "steady_ts"
        case .throttleAfter: return "throttle_after_s"
        }
    }

    public var unit: String {
        switch self {
        case .pp, .tg, .burstTs, .steadyTs: return "t/s"
        case .ttft, .itlP50, .itlP90, .itlP99, .tpot, .e2e: return "ms"
        case .load, .warmLoad, .throttleAfter: return "s"
        case .kvCacheBytes, .weightsBytes: return "B"
        case .dpplPercent, .top1Percent: return "%"
        case .joulesPerToken, .marginalJoulesPerToken, .prefillJoulesPerToken: return "J"
        case .decodeWatts, .prefillWatts, .idleWatts: return "W"
        case .maxTempC: return "°C"
        case .minMhz: return "MHz"
        case .repetitions, .cv, .ci95Relative, .tgErrorP90, .ppErrorP90, .ppl, .kld: return ""
        }
    }

    public var polarity: Polarity {
        switch self {
        case .pp, .tg, .top1Percent, .burstTs, .steadyTs: return .higherIsBetter
        case .repetitions, .kvCacheBytes, .weightsBytes, .idleWatts, .minMhz, .throttleAfter: return .neutral
        default: return .lowerIsBetter
        }
    }

    public var higherIsBetter: Bool { polarity == .higherIsBetter }

    /// What llama-bench calls the same figure, where it has one.
    public var llamaBenchName: String? {
        switch self {
        case .pp, .tg: return "avg_ts"
        default: return nil
        }
    }

    /// A short title for tables.
    public var title: String {
        switch self {
        case .tg: return "decode t/s"
        case .pp: return "prefill t/s"
        case .ttft: return "TTFT ms"
        case .joulesPerToken: return "J/token"
        case .maxTempC: return "max °C"
        default: return unit.isEmpty ? key : "\(key.split(separator: "_").dropLast().joined(separator: " ")) \(unit)"
        }
    }
}

/// A run's headline figures by metric. Stored as a JSON object keyed by `Metric.key` (quality
/// entries key them per variant, `TYPE.key`), so the store's encoding is a plain map.
public struct MetricValues: Codable, Sendable, Equatable {
    public private(set) var values: [String: Double]

    public init() { values = [:] }
    public init(raw: [String: Double]) { values = raw }

    public subscript(_ metric: Metric) -> Double? {
        get { values[metric.key] }
        set { values[metric.key] = newValue }
    }

    /// A quality figure of one variant (a tensor type) of a quality entry.
    public subscript(_ metric: Metric, variant variant: String) -> Double? {
        get { values["\(variant).\(metric.key)"] }
        set { values["\(variant).\(metric.key)"] = newValue }
    }

    public var isEmpty: Bool { values.isEmpty }

    public init(from decoder: Decoder) throws { values = try decoder.singleValueContainer().decode([String: Double].self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(values)
    }
}
