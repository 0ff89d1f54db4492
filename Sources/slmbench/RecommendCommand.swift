import ArgumentParser
import DeviceProbe
import Foundation
import Reporter
import ResultStore
import Workloads

struct Recommend: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recommend model × bit-width × backend × threads for a target device from measured results.",
        discussion: """
            Reads the results in --store (or --results folders) measured on the target (matched by the
            profile's fingerprint), keeps the configurations that meet every constraint, ranks them,
            marks the Pareto front over decode speed, memory and KL divergence, and says why each
            rejected one failed. Decode speed is per sequence. Predictions for targets without
            measured results are not built yet: such a target is an error that says so.
            """)

    @Option(help: "The target's hardware profile (profiles/hardware/X.json).") var target: String
    @Option(help: "Results database.") var store = "results/slmbench.sqlite"
    @Option(help: "Sweep folders to read instead of the store (repeat).") var results: [String] = []
    @Option(help: "Minimum decode t/s per sequence.") var minDecodeTps: Double?
    @Option(help: "Maximum time to first token, ms.") var maxTtftMs: Double?
    @Option(help: "Maximum peak resident memory (e.g. 2GiB, 512MiB).") var maxMemory: String?
    @Option(help: "Maximum mean KL divergence against F32.") var maxKld: Double?
    @Option(help: "Maximum perplexity increase, percent.") var maxDpplPercent: Double?

    func validate() throws {
        if let maxMemory, ByteSize.parse(maxMemory) == nil { throw ValidationError("--max-memory '\(maxMemory)' is not a size like 2GiB") }
    }

    func run() throws {
        let profile = try MachineProfile.load(target)
        var entries: [StoredRun] = []
        if results.isEmpty {
            guard FileManager.default.fileExists(atPath: store) else { throw CLIError("--store \(store): no results database; run a sweep on the target first") }
            do { entries = try SQLiteStore(path: store).runs(kinds: ["run", "quality"]) } catch { throw CLIError("\(error)") }
        } else {
            for folder in results {
                do { entries += try SweepMerge.read(URL(fileURLWithPath: folder)).entries } catch { throw CLIError("\(folder): \(error)") }
            }
        }
        let onTarget = entries.filter { $0.environment("fingerprint") == profile.fingerprint }
        guard onTarget.contains(where: { $0.kind == "run" }) else {
            throw CLIError("no measured results for \(profile.name) (fingerprint \(profile.fingerprint)) in \(results.isEmpty ? store : results.joined(separator: ", ")); "
                + "run a sweep on it — predictions for hardware not at hand are not built yet (issue 7)")
        }
        var limit = maxMemory.flatMap(ByteSize.parse)
        if let usable = profile.memory.usableBytes ?? profile.memory.availableBytes { limit = min(limit ?? usable, usable) }
        let recommendation = Recommendation(entries: onTarget, constraints: .init(
            minDecodeTps: minDecodeTps, maxTTFTMs: maxTtftMs, maxMemoryBytes: limit, maxKLD: maxKld, maxDeltaPPLPercent: maxDpplPercent))
        print("recommend for \(profile.name) (\(profile.fingerprint)) · measured results only")
        print("")
        print(recommendation.markdown())
    }
}
