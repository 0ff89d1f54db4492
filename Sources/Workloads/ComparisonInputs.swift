import DeviceProbe
import Foundation
import Measures
import Reporter
import ResultStore

/// The sides of `slmbench report A B [C…]`: each argument a sweep folder or sweep id (measured,
/// here or on a remote device) or a hardware profile JSON (a device not at hand: predicted from
/// the measured sides' llama.cpp runs by the cross-device model).
public enum ComparisonInputs {
    /// Whether an argument names a hardware profile rather than results.
    public static func isProfile(_ argument: String) -> Bool {
        var isDirectory: ObjCBool = false
        return argument.hasSuffix(".json") && FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    public static func sides(_ arguments: [String], store: StoreLocation, given: Recommendation.Constraints, cost: CostInputs,
                             sourceWeights: ([StoredRun]) -> [String: String]) throws -> (sides: [ReportSide], sourceWeights: [String: String]) {
        let letters = (0..<arguments.count).map { i in i < 26 ? String(UnicodeScalar(UInt8(65 + i))) : "S\(i + 1)" }
        // Measured sides first: the predicted ones are predicted from them.
        var measured: [Int: (name: String, entries: [StoredRun], profile: HardwareProfile?)] = [:]
        var targets: [Int: HardwareProfile] = [:]
        for (i, argument) in arguments.enumerated() {
            if isProfile(argument) {
                targets[i] = try ProfileLibrary.load(argument, flag: "RESULTS")
                continue
            }
            let loaded = try ResultSet.load(argument, store: store, kinds: [.run, .reference, .quality], flag: "RESULTS")
            let name = Set(loaded.entries.map(\.sweepId)).sorted().joined(separator: ", ")
            measured[i] = (name, loaded.entries, ProfileLibrary.reportProfile(for: loaded.entries, store: store))
        }
        guard !measured.isEmpty else {
            throw InputError("RESULTS: every side is a hardware profile; a comparison needs at least one sweep (folder or id) to measure or predict from")
        }
        let allEntries = measured.keys.sorted().flatMap { measured[$0]!.entries }
        let quality = allEntries.filter { $0.kind == .quality }
        let weights = sourceWeights(allEntries)
        let machines = measured.values.compactMap(\.profile)
        let source = ResultsSource(store: store, machines: machines)
        var sides: [ReportSide] = []
        for i in arguments.indices {
            if let m = measured[i] {
                let device = m.entries.lazy.compactMap { $0.environment("device") }.first
                let runs = m.entries.filter { $0.kind == .run }
                // This side's runs, and every side's quality evaluations (they depend on the weights only).
                let decision = try ReportInputs.decision(profile: m.profile, entries: runs + quality, measured: source, given: given, cost: cost.forSide(m.profile),
                                                         sourceWeights: weights)
                sides.append(ReportSide(letter: letters[i], name: m.name, kind: device == nil ? .local : .remote, device: device ?? m.profile?.name ?? "unknown machine",
                                        entries: m.entries, profile: m.profile, decision: decision))
            } else if let target = targets[i] {
                let runs = allEntries.filter { $0.kind == .run }
                let decision = try ReportInputs.decision(profile: target, entries: runs + quality, measured: source, given: given, cost: cost.forSide(target),
                                                         sourceWeights: weights, measuredSide: false)
                let predictor = try Predictors.make(entries: runs, source: source)
                let predictions = configurations(from: runs, target: target).map { predictor.predict($0, on: target) }
                    .filter { $0.decodeTps != nil || $0.prefillTps != nil }.map { $0.entry(target: target) }
                sides.append(ReportSide(letter: letters[i], name: target.name, kind: .predicted, device: target.name, entries: predictions,
                                        profile: target, decision: decision, errorLabel: predictor.errorLabel))
            }
        }
        return (sides, weights)
    }

    /// What to predict on `target` for the table: every llama.cpp batch-1 configuration measured
    /// on a side, at its own prompt and generation lengths (so rows match), at each of its thread
    /// counts the target has cores for, and at the target's own thread counts (powers of two up
    /// to its cores, and its cores).
    static func configurations(from runs: [StoredRun], target: HardwareProfile) -> [RunConfig] {
        let cores = max(1, target.cpu.physicalCores)
        let own = Set(sequence(first: 1) { $0 * 2 }.prefix { $0 <= cores } + [cores])
        var seen = Set<RunConfig>(), out: [RunConfig] = []
        for r in runs where r.status == .ok && r.config.backend == "llama.cpp" && r.config.nSeq == 1 {
            for t in (own.union([r.config.nThreads].filter { $0 <= cores })).sorted() {
                var c = r.config
                c.placement = "none"; c.cpus = []; c.nThreads = t
                if seen.insert(c).inserted { out.append(c) }
            }
        }
        return out
    }
}

extension CostInputs {
    /// The inputs for one side of a comparison: a device whose profile has its own economics is
    /// priced by them, so the price flags (meant for the machine at hand) do not override them.
    public func forSide(_ profile: HardwareProfile?) -> CostInputs {
        guard let e = profile?.economics, e.priceUSD != nil || e.hourlyPriceUSD != nil else { return self }
        var c = self
        c.priceUSD = nil; c.hourlyUSD = nil; c.loadWatts = nil; c.idleWatts = nil
        return c
    }
}
