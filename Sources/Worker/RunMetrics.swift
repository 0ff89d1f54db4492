import Backends
import Measures

/// The metric set of one run, derived from its raw samples (definitions in the README).
public struct RunMetrics: Codable, Sendable, Equatable {
    public struct Latency: Codable, Sendable, Equatable {
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var mean: Double
    }

    /// Prefill tokens/s per repetition: B·P ÷ total prefill time.
    public var ppTps: SampleSummary?
    /// Decode tokens/s per repetition: tokens from decode steps (all sequences) ÷ their wall time.
    public var tgTps: SampleSummary?
    /// Seconds to the first token, per sequence and repetition.
    public var ttftSeconds: SampleSummary?
    /// Gaps between consecutive tokens of a sequence, pooled over repetitions.
    public var itlSeconds: Latency?
    /// Per request: (E2E − TTFT) ÷ (generated − 1). With B sequences the requests' prefills run
    /// one after another, so TTFT is taken when the last of them has its first token: the time
    /// before that is prefill, not time per output token.
    public var tpotSeconds: SampleSummary?
    public var e2eSeconds: SampleSummary?
    /// First (cold) and second (warm) load of the model in the worker.
    public var loadSeconds: Double
    public var warmLoadSeconds: Double?
    /// From the kernel (wait4) in the parent; nil when the run did not end normally.
    public var peakRssBytes: Int?
    public var rssAfterLoadBytes: Int?
    public var weightsBytes: Int?
    public var kvCacheBytes: Int?
    public var scratchBytes: Int?
    /// Energy per repetition from the sampler (nil without a collector: never zeros). Joules of
    /// the prefill and of the decode steps, their average watts, decode joules per generated
    /// token (all sequences) and prefill joules per prompt token.
    public var prefillJoules: SampleSummary?
    public var decodeJoules: SampleSummary?
    public var prefillWatts: SampleSummary?
    public var decodeWatts: SampleSummary?
    public var joulesPerToken: SampleSummary?
    public var prefillJoulesPerToken: SampleSummary?
    /// Decode joules per token above the idle baseline (idle watts × decode time taken off).
    public var marginalJoulesPerToken: SampleSummary?
    public var idleWatts: Double?
    /// The hottest zone seen during the measured repetitions, and the highest CPU clock's lowest
    /// per-repetition median.
    public var maxTempC: Double?
    public var minMhz: Double?
    /// Why the run counts as throttled (the clock dropped or a throttle bit rose), or nil.
    public var throttled: String?

    public init(samples s: RunSamples, peakRSSBytes: Int?) {
        ppTps = SampleSummary(s.repetitions.compactMap { $0.prefillRate(batch: s.batch, promptTokens: s.promptTokens) }, looks: s.looks)
        tgTps = SampleSummary(s.repetitions.compactMap { $0.decodeRate(batch: s.batch) }, looks: s.looks)
        ttftSeconds = SampleSummary(s.repetitions.flatMap(\.ttftSeconds), looks: s.looks)
        let gaps = s.repetitions.flatMap { r in
            // With a prompt the first step follows the prefill's token; without one the first
            // step produced the first token, which is TTFT, not a gap.
            s.promptTokens > 0 ? r.stepSeconds : Array(r.stepSeconds.dropFirst())
        }.sorted()
        itlSeconds = gaps.isEmpty ? nil : Latency(p50: Percentile.of(sorted: gaps, 0.5), p90: Percentile.of(sorted: gaps, 0.9),
                                                  p99: Percentile.of(sorted: gaps, 0.99), mean: gaps.reduce(0, +) / Double(gaps.count))
        tpotSeconds = SampleSummary(s.repetitions.compactMap { r in
            guard r.generatedTokens > 1, let last = r.ttftSeconds.max() else { return nil }
            return (r.e2eSeconds - last) / Double(r.generatedTokens - 1)
        }, looks: s.looks)
        e2eSeconds = SampleSummary(s.repetitions.map(\.e2eSeconds), looks: s.looks)
        loadSeconds = s.loadSeconds
        warmLoadSeconds = s.warmLoadSeconds
        peakRssBytes = peakRSSBytes
        rssAfterLoadBytes = s.rssAfterLoadBytes
        weightsBytes = s.memory.weightsBytes
        kvCacheBytes = s.memory.kvCacheBytes
        scratchBytes = s.memory.scratchBytes
        let reps = s.repetitions
        func summary(_ f: (RunSamples.Repetition) -> Double?) -> SampleSummary? { SampleSummary(reps.compactMap(f), looks: s.looks) }
        let prefillTokens = Double(s.batch * s.promptTokens)
        prefillJoules = summary(\.prefillJoules)
        decodeJoules = summary(\.decodeJoules)
        // The windows the joules cover: start to the last first token (or the end of a
        // prefill-only repetition), and from there to the end.
        func prefillWindow(_ r: RunSamples.Repetition) -> Double { s.promptTokens > 0 ? (r.ttftSeconds.max() ?? r.e2eSeconds) : 0 }
        func decodeWindow(_ r: RunSamples.Repetition) -> Double { r.e2eSeconds - prefillWindow(r) }
        prefillWatts = summary { r in r.prefillJoules.flatMap { j in prefillWindow(r) > 0 ? j / prefillWindow(r) : nil } }
        decodeWatts = summary { r in r.decodeJoules.flatMap { j in decodeWindow(r) > 0 ? j / decodeWindow(r) : nil } }
        joulesPerToken = summary { r in r.decodeJoules.flatMap { j in r.stepSeconds.isEmpty ? nil : j / Double(r.stepSeconds.count * s.batch) } }
        prefillJoulesPerToken = summary { r in r.prefillJoules.flatMap { j in prefillTokens > 0 ? j / prefillTokens : nil } }
        idleWatts = s.sampling?.idleWatts
        if let idle = idleWatts {
            marginalJoulesPerToken = summary { r in
                r.decodeJoules.flatMap { j in r.stepSeconds.isEmpty ? nil : (j - idle * decodeWindow(r)) / Double(r.stepSeconds.count * s.batch) }
            }
        }
        maxTempC = reps.compactMap(\.tempC).max()
        minMhz = reps.compactMap(\.mhz).min()
        throttled = s.sampling?.throttled
    }
}
