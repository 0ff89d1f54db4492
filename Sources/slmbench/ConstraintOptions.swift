import ArgumentParser
import Measures
import Reporter

/// The constraints `recommend` and the reports' summary apply.
struct ConstraintOptions: ParsableArguments {
    @Option(help: "Minimum decode t/s per sequence.") var minDecodeTps: Double?
    @Option(help: "Maximum time to first token, ms.") var maxTtftMs: Double?
    @Option(help: "Maximum peak resident memory (e.g. 2GiB, 512MiB).") var maxMemory: String?
    @Option(help: "Maximum mean KL divergence against F32.") var maxKld: Double?
    @Option(help: "Maximum perplexity increase, percent.") var maxDpplPercent: Double?
    @Option(help: "Maximum decode energy per generated token, joules (measured runs only: runs without an energy collector are rejected).")
    var maxJoulesPerToken: Double?
    @Flag(help: "Rank by the steady-state decode rate of sustained runs (a sweep with measurement: {sustain: 10m}); runs without one are rejected.")
    var sustained = false

    func validate() throws {
        if let maxMemory, ByteSize.parse(maxMemory) == nil { throw ValidationError("--max-memory '\(maxMemory)' is not a size like 2GiB") }
        if let j = maxJoulesPerToken, !(j > 0 && j.isFinite) { throw ValidationError("--max-joules-per-token must be a positive number of joules, got \(j)") }
    }

    var constraints: Recommendation.Constraints {
        .init(minDecodeTps: minDecodeTps, maxTTFTMs: maxTtftMs, maxMemoryBytes: maxMemory.flatMap(ByteSize.parse), maxKLD: maxKld,
              maxDeltaPPLPercent: maxDpplPercent, maxJoulesPerToken: maxJoulesPerToken, sustained: sustained)
    }
}
