import DeviceProbe
import Foundation
import Measures
import ResultStore

/// Predictions for devices not at hand: the cross-device model fitted to the validation corpus
/// (published llama-bench results from many devices) and to the llama.cpp runs measured here,
/// with the error its leave-one-device-out validation measured. Only what the corpus validates
/// is predicted: llama.cpp at batch 1. The native engine runs on no corpus device, so its speed
/// elsewhere is not predicted.
public struct Predictor: Sendable {
    public var model: CrossDeviceModel
    public var validation: CrossDeviceValidation
    /// Pooled p90 of |error| over every left-out device's rows, per phase.
    public var decodeError: Double?
    public var prefillError: Double?
    /// ISA families with rows in the corpus.
    public var isaFamilies: Set<String>
    /// Corpus rows and local runs that could not be used, with why.
    public var unused: [String]
    /// Measured runs with quality flags, left out.
    public var flaggedLeftOut: Int
    /// Every device's profile: the corpus's, and the local machines' as `here:NAME`.
    public var profiles: [String: HardwareProfile]
    /// The local llama.cpp configurations worth predicting elsewhere, and their peak RSS.
    let local: [RunConfig]
    let memory: [RunConfig: Int]
    let shapes: [String: ModelGeometry]

    /// `corpus`: measurements from other devices and their profiles; `measured`: runs from this
    /// store (their machines' profiles by fingerprint in `localProfiles`); `shapes`: model shapes
    /// by model name, for the local runs.
    public init(corpus: [DeviceMeasurement], corpusProfiles: [String: HardwareProfile], corpusSkipped: [String] = [],
                measured: [StoredRun], localProfiles: [String: HardwareProfile], shapes: [String: ModelGeometry]) {
        self.shapes = shapes
        var rows = corpus, profiles = corpusProfiles, unused = corpusSkipped, flagged = 0
        var local: [RunConfig] = [], memory: [RunConfig: Int] = [:]
        for r in measured where r.kind == .run && r.status == .ok {
            if let rss = r.peakRssBytes {
                for k in [Self.shape(r.config), Self.shape(r.config, lengths: false)] { memory[k] = max(memory[k] ?? 0, rss) }
            }
            guard r.config.backend == "llama.cpp", r.config.nSeq == 1 else { continue }
            if !local.contains(Self.shape(r.config, lengths: false)) { local.append(Self.shape(r.config, lengths: false)) }
            // A run the sweep flagged as noisy or drifting still names a configuration worth
            // predicting, but its speed stays out of the fit.
            guard r.runFlags.isEmpty else { flagged += 1; continue }
            guard let fingerprint = r.environment("fingerprint"), let profile = localProfiles[fingerprint], DeviceCeilings(profile, threads: 1) != nil else {
                unused.append("\(r.key): no profile with measured bandwidth for fingerprint \(r.environment("fingerprint") ?? "?")"); continue
            }
            guard let cost = Self.cost(r.config, shapes: shapes) else { unused.append("\(r.key): no shape for model \(r.config.model)"); continue }
            let device = "here:" + profile.name
            profiles[device] = profile
            if let tg = r.tgAvgTs, r.config.nGen > 0 { rows.append(DeviceMeasurement(device: device, workload: cost, phase: .decode, tps: tg, source: "measured here")) }
            if let pp = r.ppAvgTs, r.config.nPrompt > 0 { rows.append(DeviceMeasurement(device: device, workload: cost, phase: .prefill, tps: pp, source: "measured here")) }
        }
        self.profiles = profiles
        model = CrossDeviceModel(fit: rows, profiles: profiles)
        validation = CrossDeviceValidation(rows, profiles: profiles)
        decodeError = validation.summary(phase: .decode).p90
        prefillError = validation.summary(phase: .prefill).p90
        isaFamilies = Set(Set(rows.map(\.device)).compactMap { profiles[$0].map(CrossDeviceValidation.isaFamily) })
        self.unused = unused
        self.flaggedLeftOut = flagged
        self.local = local
        self.memory = memory
    }

    /// The speed-relevant shape of a run's configuration (for the model).
    static func cost(_ c: RunConfig, shapes: [String: ModelGeometry]) -> TestCost? {
        // By name; else (llama-bench output names files, not models) the one shape with the row's parameter count.
        let byCount = c.modelNParams.flatMap { n in
            let matches = shapes.values.filter { $0.parameters == n }
            return matches.count == 1 ? matches.first : nil
        }
        guard var shape = shapes[c.model] ?? byCount else { return nil }
        if let p = c.modelNParams, p > 0 { shape.parameters = p }
        return TestCost(shape: shape, type: c.modelType, threads: c.nThreads, prompt: c.nPrompt, gen: c.nGen, depth: c.nDepth, fileBytes: c.modelSize,
                        kvType: c.kvType)
    }

    static func key(_ c: RunConfig) -> String {
        "\(c.model)|\(c.modelType)|\(c.backend)|t\(c.nThreads)|b\(c.nSeq)|p\(c.nPrompt)|g\(c.nGen)|kv-\(c.kvType)|d\(c.nDepth)"
    }

    /// The configuration without threads and placement; with `lengths: false`, without prompt
    /// and generation lengths too.
    static func shape(_ c: RunConfig, lengths: Bool = true) -> RunConfig {
        var s = c
        s.nThreads = 0; s.placement = ""; s.cpus = []
        if !lengths { s.nPrompt = 0; s.nGen = 0 }
        return s
    }

    /// A label for the error figures, printed wherever they are.
    public var errorLabel: String {
        "p90 |error| of leave-one-device-out validation over \(validation.devices.count) devices"
    }

    public func predict(_ c: RunConfig, on target: HardwareProfile) -> Prediction {
        var p = Prediction(config: c, notes: [])
        guard c.backend == "llama.cpp" else {
            p.notes.append("\(c.backend): not predicted on other devices; the cross-device model is validated for llama.cpp only")
            return p
        }
        guard c.nSeq == 1 else { p.notes.append("batch \(c.nSeq): not predicted; the corpus holds batch-1 results only"); return p }
        guard let cost = Self.cost(c, shapes: shapes) else { p.notes.append("no shape for model \(c.model)"); return p }
        guard let ceilings = DeviceCeilings(target, threads: c.nThreads) else {
            p.notes.append("\(target.name) has no bandwidth and compute figures: nothing to predict from"); return p
        }
        p.notes.append(ceilings.basis)
        let family = CrossDeviceValidation.isaFamily(target)
        if !isaFamilies.contains(family) {
            p.notes.append("WARNING: no device of \(target.name)'s ISA family (\(family)) is in the validation corpus; the error there is not measured")
        }
        if c.nThreads > target.cpu.logicalCPUs { p.notes.append("\(c.nThreads) threads on \(target.cpu.logicalCPUs) CPUs: oversubscribed, expect worse") }
        if c.nGen > 0, let tg = model.predict(cost, phase: .decode, on: target) {
            p.decodeTps = tg
            p.itlMs = 1000 / tg
            p.decodeError = decodeError
        }
        if c.nPrompt > 0, let pp = model.predict(cost, phase: .prefill, on: target) {
            p.prefillTps = pp
            p.prefillError = prefillError
        }
        if let pp = p.prefillTps, let itl = p.itlMs { p.ttftMs = Double(c.nPrompt + c.nDepth) / pp * 1000 + itl }
        p.peakRssBytes = memory[Self.shape(c)]
        if p.peakRssBytes == nil, let other = memory[Self.shape(c, lengths: false)] {
            p.peakRssBytes = other
            p.notes.append("peak RSS of \(c.model) \(c.modelType) \(c.backend) was measured here at another prompt/generation length (KV cache differs)")
        }
        return p
    }

    /// Every local llama.cpp batch-1 configuration at each thread count worth trying on the
    /// target: powers of two up to its cores, and its cores.
    public func configurations(for target: HardwareProfile) -> [RunConfig] {
        let cores = max(1, target.cpu.physicalCores)
        let threads = Set(sequence(first: 1) { $0 * 2 }.prefix { $0 <= cores } + [cores]).sorted()
        return local.flatMap { k in
            threads.map { t in
                var c = k
                c.placement = "none"; c.cpus = []; c.nThreads = t
                c.nPrompt = 512; c.nGen = 128
                return c
            }
        }
    }
}
