import Backends
import Measures

/// The raw observations of one run, as the worker reports them (the `metrics` object of its
/// result line). Every derived metric is computed from these by `RunMetrics`.
public struct RunSamples: Codable, Sendable, Equatable {
    public struct Repetition: Codable, Sendable, Equatable {
        /// Wall time of each sequence's prefill call.
        public var prefillSeconds: [Double]
        /// From the repetition's start to each sequence's first generated token (empty when gen is 0).
        public var ttftSeconds: [Double]
        /// Wall time of each decode step (call + sampling); each step yields one token per sequence.
        public var stepSeconds: [Double]
        /// From the repetition's start to the last token.
        public var e2eSeconds: Double
        /// Tokens generated per sequence.
        public var generatedTokens: Int
        /// Seconds from the first measured repetition's start to this one's (with sampling).
        public var startSeconds: Double?
        /// Energy of the prefill (start to the last sequence's first token, or to the end of
        /// prefill) and of the decode steps, from the sampler's trace; nil when not measured.
        public var prefillJoules: Double?
        public var decodeJoules: Double?
        /// The hottest zone and the highest CPU clock during the repetition (sampled).
        public var tempC: Double?
        public var mhz: Double?

        public init(prefillSeconds: [Double], ttftSeconds: [Double], stepSeconds: [Double], e2eSeconds: Double, generatedTokens: Int) {
            self.prefillSeconds = prefillSeconds
            self.ttftSeconds = ttftSeconds
            self.stepSeconds = stepSeconds
            self.e2eSeconds = e2eSeconds
            self.generatedTokens = generatedTokens
        }

        /// Prefill t/s: B·P prompt tokens ÷ the prefill time of all sequences (nil without a prompt).
        public func prefillRate(batch: Int, promptTokens: Int) -> Double? {
            let t = prefillSeconds.reduce(0, +)
            return promptTokens > 0 && t > 0 ? Double(batch) * Double(promptTokens) / t : nil
        }

        /// Decode t/s: tokens from decode steps (all sequences) ÷ their wall time (nil without steps).
        public func decodeRate(batch: Int) -> Double? {
            let t = stepSeconds.reduce(0, +)
            return stepSeconds.isEmpty || t <= 0 ? nil : Double(stepSeconds.count) * Double(batch) / t
        }
    }

    public var promptTokens: Int
    public var batch: Int
    /// The first load of the model in the worker (cold, as far as the page cache allows).
    public var loadSeconds: Double
    /// A second load right after unloading the first (warm). Optional on the wire.
    public var warmLoadSeconds: Double?
    public var repetitions: [Repetition]
    public var memory: BackendMemory
    /// Resident set of the worker right after loading, from /proc/self/statm.
    public var rssAfterLoadBytes: Int?
    /// Tokens of the first sequence's output in the first measured repetition (a sanity check that
    /// backends given the same greedy input agree).
    public var firstTokens: [Int32]
    /// With adaptive stopping, the number of repetition counts at which the run could have
    /// stopped (nil without it). Every confidence interval of the run is widened for them
    /// (`SampleSummary(_:looks:)`), because stopping when the interval first looks tight makes
    /// an unwidened interval too narrow.
    public var adaptiveLooks: Int?
    public var looks: Int { adaptiveLooks ?? 1 }
    /// What the sampler saw (energy, heat, clocks), when the run asked for sampling.
    public var sampling: SamplingReport?

    public init(promptTokens: Int, batch: Int, loadSeconds: Double, repetitions: [Repetition], memory: BackendMemory,
                rssAfterLoadBytes: Int?, firstTokens: [Int32], warmLoadSeconds: Double? = nil, adaptiveLooks: Int? = nil) {
        self.adaptiveLooks = adaptiveLooks
        self.warmLoadSeconds = warmLoadSeconds
        self.promptTokens = promptTokens
        self.batch = batch
        self.loadSeconds = loadSeconds
        self.repetitions = repetitions
        self.memory = memory
        self.rssAfterLoadBytes = rssAfterLoadBytes
        self.firstTokens = firstTokens
    }
}

extension RunSamples {
    /// What cannot be true of a worker's samples, each naming its wire field: counts outside
    /// the bounds a run may have, times that are negative or not numbers. The parent refuses
    /// such a result before deriving metrics from it.
    public func problems() -> [String] {
        var p: [String] = []
        if !(1...SpecLimits.batch).contains(batch) { p.append("batch must be 1 to \(SpecLimits.batch) (got \(batch))") }
        if !(0...SpecLimits.tokens).contains(promptTokens) { p.append("prompt_tokens must be 0 to \(SpecLimits.tokens) (got \(promptTokens))") }
        func times(_ field: String, _ values: [Double], unit: String = "seconds") {
            if let bad = values.first(where: { !($0 >= 0 && $0.isFinite) }) { p.append("\(field) must be \(unit), 0 or more (got \(bad))") }
        }
        times("load_seconds", [loadSeconds] + (warmLoadSeconds.map { [$0] } ?? []))
        for (i, r) in repetitions.enumerated() {
            times("repetitions[\(i)].prefill_seconds", r.prefillSeconds)
            times("repetitions[\(i)].ttft_seconds", r.ttftSeconds)
            times("repetitions[\(i)].step_seconds", r.stepSeconds)
            times("repetitions[\(i)].e2e_seconds", [r.e2eSeconds])
            times("repetitions[\(i)].prefill_joules", r.prefillJoules.map { [$0] } ?? [], unit: "joules")
            times("repetitions[\(i)].decode_joules", r.decodeJoules.map { [$0] } ?? [], unit: "joules")
            if !(0...SpecLimits.tokens).contains(r.generatedTokens) {
                p.append("repetitions[\(i)].generated_tokens must be 0 to \(SpecLimits.tokens) (got \(r.generatedTokens))")
            }
        }
        return p
    }
}
