import DeviceProbe
import Foundation
import Measures
import ModelFormat
import Reporter
import ResultStore
import Worker

/// `models mix --target-profile P [--min-decode R]`: the cross-device model's predicted decode
/// rate of a mix on a device not at hand, and the search restricted to mixes predicted at least R
/// tokens per second there.
///
/// What is predicted is llama.cpp at batch 1 generating 128 tokens from an empty context (what the
/// validation corpus holds), from the mix's bytes and the model's shape, with the kernel family of
/// the mix's most common type. The error quoted is the predictor's own (p90 |error| of its
/// leave-one-device-out validation); it says nothing about the mix beyond that.
public struct MixDecodeFloor: Sendable {
    public var predictor: Predictor
    public var profile: HardwareProfile
    public var shape: ModelGeometry
    public var threads: Int
    /// Bytes of the file besides the tensors (header, vocabulary), added to each mix's.
    public var overheadBytes: Int

    public init(predictor: Predictor, profile: HardwareProfile, shape: ModelGeometry, threads: Int, overheadBytes: Int) {
        self.predictor = predictor; self.profile = profile; self.shape = shape; self.threads = threads; self.overheadBytes = overheadBytes
    }

    /// From a GGUF file with real weights, a target profile, and the corpus in `corpus` (no local
    /// runs: the mix is not measured anywhere yet). `threads` defaults to the target's cores.
    public static func make(file: GGUFFile, model: String, profile: HardwareProfile, threads: Int?,
                            corpus: String = Predictors.corpusFolder, hardware: String = ProfileLibrary.folder) throws(InputError) -> MixDecodeFloor {
        guard let shape = ModelGeometries.from(file, name: model) else {
            throw InputError("--target-profile: \(model) lacks the shape metadata (block count, embedding length, heads) the speed model needs")
        }
        let predictor = try Predictors.make(entries: [], source: ResultsSource(store: .sqlite(path: StoreLocation.defaultPath)), corpus: corpus, hardware: hardware)
        let tensorBytes = file.tensors.reduce(0) { $0 + $1.byteCount }
        return MixDecodeFloor(predictor: predictor, profile: profile, shape: shape, threads: threads ?? max(1, profile.cpu.physicalCores),
                              overheadBytes: max(0, file.fileSize - tensorBytes))
    }

    /// The most common type of a mix: the kernel family its speed is predicted with.
    static func dominantType(_ result: MixSearch.Result) -> String {
        let counts = Dictionary(result.types.values.map { ($0.name.lowercased(), 1) }, uniquingKeysWith: +)
        return counts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? "f32"
    }

    /// Predicted decode tokens per second of a mix on the target; nil when the target's profile
    /// has no bandwidth and compute figures.
    public func decodeRate(_ result: MixSearch.Result) -> Double? {
        let cost = TestCost(shape: shape, type: Self.dominantType(result), threads: threads, prompt: 0, gen: 128, depth: 0,
                            fileBytes: result.bytes + overheadBytes)
        return predictor.model.predict(cost, phase: .decode, on: profile)
    }

    /// The least predicted KLD within `budgetBytes` whose predicted decode rate is at least
    /// `minDecode`: decode time grows with the bytes read, so the byte budget is lowered (by
    /// bisection) until the chosen mix is predicted fast enough.
    public func solve(_ search: MixSearch, budgetBytes: Int, minDecode: Double?) throws(MixError) -> MixSearch.Result {
        let full = try search.solve(budgetBytes: budgetBytes)
        guard let minDecode else { return full }
        guard let rate = decodeRate(full) else {
            throw MixError("--target-profile \(profile.name): the profile has no bandwidth and compute figures to predict from")
        }
        if rate >= minDecode { return full }
        let smallest = try search.solve(budgetBytes: search.smallestBytes)
        guard let slowest = decodeRate(smallest), slowest >= minDecode else {
            throw MixError(String(format: "--min-decode %g: the smallest mix of these types is predicted at %.1f t/s on %@ (%d threads); lower the floor or add smaller --types",
                                  minDecode, decodeRate(smallest) ?? 0, profile.name, threads))
        }
        var (low, high, best) = (search.smallestBytes, budgetBytes, smallest)
        while high - low > 4096 {
            let middle = low + (high - low) / 2
            let candidate = try search.solve(budgetBytes: middle)
            if let r = decodeRate(candidate), r >= minDecode { (low, best) = (middle, candidate) } else { high = middle }
        }
        return best
    }

    /// The prediction of `result` for the report, with the predictor's own error and notes.
    public func speed(_ result: MixSearch.Result, minDecode: Double?) -> MixReport.TargetSpeed {
        var notes = ["llama.cpp at batch 1, 128 tokens generated from an empty context, \(threads) thread\(threads == 1 ? "" : "s"), "
                     + "with the kernel family of the mix's most common type (\(Self.dominantType(result)))"]
        if let ceilings = DeviceCeilings(profile, threads: threads) { notes.append(ceilings.basis) }
        let family = CrossDeviceValidation.isaFamily(profile)
        if !predictor.isaFamilies.contains(family) {
            notes.append("no device of \(profile.name)'s ISA family (\(family)) is in the validation corpus; the error there is not measured")
        }
        if result.types.values.contains(where: { $0.isLab }) {
            notes.append("lab types do not run on llama.cpp: the prediction is not validated for them")
        }
        return MixReport.TargetSpeed(profile: profile.name, threads: threads, minDecode: minDecode, predictedDecodeTps: decodeRate(result),
                                     error: predictor.decodeError, errorBasis: predictor.decodeError == nil ? nil : predictor.errorLabel, notes: notes)
    }
}
