/// What a stored entry is. Encoded as its raw string only at the store's edge.
public enum EntryKind: String, Codable, Sendable, CaseIterable, Hashable {
    /// A measured run of one configuration.
    case run
    /// A drift reference: the sweep's reference configuration, run again at intervals.
    case reference
    /// A quality evaluation (perplexity, KL divergence) of one model's variants.
    case quality
    /// A roofline prediction for a device not at hand (never stored in a sweep).
    case prediction
}

/// How an entry ended. Encoded as its raw string only at the store's edge.
public enum RunStatus: String, Codable, Sendable, CaseIterable, Hashable {
    case ok, skipped, failed, timeout, oom, crashed
    /// The worker broke the protocol (no result line, or a malformed one).
    case `protocol`
    /// The worker could not be started.
    case launch
    /// The model could not be prepared (fetched, quantized or synthesised).
    case model

    /// Failed outright: neither measured nor deliberately skipped.
    public var isFailure: Bool { self != .ok && self != .skipped }
}

/// A quality flag a sweep sets on a run whose figures are less trustworthy than the others'.
public enum RunFlag: String, Codable, Sendable, CaseIterable, Hashable {
    /// The drift reference moved past the spec's bound around this run.
    case drift
    /// The primary metric's coefficient of variation was above the spec's `high_cv`.
    case highCV = "high-cv"
    /// Adaptive stopping hit `max_repetitions` before the CI reached its target.
    case ciNotReached = "ci-not-reached"
    /// The CPU clock dropped or a throttle bit rose during the run (sampled heat and clocks).
    case throttled

    /// The flags among `names` that slmbench knows (stored flags are strings).
    public static func known(_ names: [String]) -> [RunFlag] { names.compactMap(RunFlag.init(rawValue:)) }
}
