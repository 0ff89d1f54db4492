import ArgumentParser
import DeviceProbe
import Foundation
import Measures
import Reporter
import ResultStore
import Workloads

struct Recommend: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recommend model × bit-width × backend × threads for a target device, measured or predicted.",
        discussion: reflow("""
            Reads the results in --store (or --results folders) measured on the target (matched by the
            profile's fingerprint), keeps the configurations that meet every constraint, ranks them,
            marks the Pareto front over decode speed, memory and KL divergence, and says why each
            rejected one failed. Decode speed is per sequence; with --sustained it is the steady-state
            rate of sustained runs (what a device keeps up once warm, not its first minute). For a target with no measured
            results (hardware not at hand) every calibrated configuration is predicted by the
            roofline model instead (see slmbench predict); each row says whether it was measured or
            predicted, and with what error.
            """))

    @Option(help: "The target's hardware profile (profiles/hardware/X.json).") var target: String
    @OptionGroup var measured: MeasuredResultsOptions
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

    func run() throws {
        let profile = try ProfileLibrary.load(target, flag: "--target")
        let results = try measured.source
        let entries = try results.load(kinds: [.run, .quality])
        let target = Predictors.targetEntries(profile, entries: entries, measured: results)
        // Quality depends on the weights, not the device: every machine's evaluations count.
        let candidates = target.entries + entries.filter { $0.kind == .quality }
        let (source, predictor) = (target.source, target.predictor)
        guard !target.entries.isEmpty else {
            throw CLIError("no measured results for \(profile.name) (fingerprint \(profile.fingerprint)) in \(results.described), "
                + "and \(source); run a sweep on a machine probed with --bandwidth first")
        }
        var limit = maxMemory.flatMap(ByteSize.parse)
        if let usable = profile.memory.usableBytes ?? profile.memory.availableBytes ?? (profile.measured ? nil : profile.memory.totalBytes) {
            limit = min(limit ?? usable, usable)
        }
        let recommendation = Recommendation(entries: candidates, constraints: .init(
            minDecodeTps: minDecodeTps, maxTTFTMs: maxTtftMs, maxMemoryBytes: limit, maxKLD: maxKld, maxDeltaPPLPercent: maxDpplPercent,
            maxJoulesPerToken: maxJoulesPerToken, sustained: sustained))
        print("recommend for \(profile.name) (\(profile.fingerprint)) · \(source)")
        if let limit { print("memory limit: \(limit / 1_048_576) MiB (\(maxMemory != nil ? "--max-memory, capped by " : "")the profile's usable memory)") }
        print("")
        print(recommendation.markdown())
        if let predictor, recommendation.feasible.contains(where: \.predicted) || recommendation.rejected.contains(where: \.predicted) {
            print("")
            print(PredictionTable.validationLines(predictor).joined(separator: "\n"))
        }
    }
}
