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
    @OptionGroup var limits: ConstraintOptions

    func run() throws {
        let profile = try ProfileLibrary.load(target, flag: "--target")
        let results = try measured.source
        let entries = try results.load(kinds: [.run, .quality])
        let answer = Recommender.recommend(target: profile, entries: entries, measured: results, constraints: limits.constraints)
        let (source, predictor, limit, recommendation) = (answer.source, answer.predictor, answer.memoryLimit, answer.recommendation)
        guard !answer.entries.isEmpty else {
            throw CLIError("no measured results for \(profile.name) (fingerprint \(profile.fingerprint)) in \(results.described), "
                + "and \(source); run a sweep on a machine probed with --bandwidth first")
        }
        print("recommend for \(profile.name) (\(profile.fingerprint)) · \(source)")
        if let limit { print("memory limit: \(limit / 1_048_576) MiB (\(limits.maxMemory != nil ? "--max-memory, capped by " : "")the profile's usable memory)") }
        print("")
        print(recommendation.markdown())
        if let predictor, recommendation.feasible.contains(where: \.predicted) || recommendation.rejected.contains(where: \.predicted) {
            print("")
            print(PredictionTable.validationLines(predictor).joined(separator: "\n"))
        }
    }
}
