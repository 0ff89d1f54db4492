import DeviceProbe
import Foundation
import Measures
import Reporter
import ResultStore

/// The cross-device predictor as the commands use it: fitted to the validation corpus and to the
/// llama.cpp runs measured on profiled machines.
public enum Predictors {
    public static let corpusFolder = "profiles/validation"

    /// From the runs in `measured` (none when there is no store yet: the corpus alone serves).
    public static func make(_ measured: ResultsSource, corpus folder: String = corpusFolder, hardware: String = ProfileLibrary.folder,
                            extraShapes: [String: ModelGeometry] = [:]) throws -> Predictor {
        let entries = measured.isEmpty ? [] : try measured.load(kinds: [.run])
        return try make(entries: entries, source: measured, corpus: folder, hardware: hardware, extraShapes: extraShapes)
    }

    /// From runs already loaded (`source` finds their machines' profiles).
    public static func make(entries: [StoredRun], source measured: ResultsSource, corpus folder: String = corpusFolder,
                            hardware: String = ProfileLibrary.folder, extraShapes: [String: ModelGeometry] = [:]) throws(InputError) -> Predictor {
        let corpus: ValidationCorpus
        do { corpus = try ValidationCorpus(folder: folder, hardwareFolder: hardware) } catch { throw InputError("--corpus \(folder): \(error)") }
        let shapes = ModelGeometries.presets.merging(corpus.shapes) { a, _ in a }.merging(extraShapes) { _, b in b }
        let predictor = Predictor(corpus: corpus.measurements, corpusProfiles: corpus.profiles, corpusSkipped: corpus.skipped,
                                  measured: entries, localProfiles: measured.profiles(for: entries), shapes: shapes)
        guard predictor.model.decode.rows > 0 else {
            throw InputError("--corpus \(folder): no usable row to fit the cross-device model (\(corpus.skipped.first ?? "no CSV files"))")
        }
        return predictor
    }

    /// A target's rows: what was measured on it; for a target with no measured run, the
    /// predictions for every configuration the predictor covers instead (never a mix: a measured
    /// table stays measured). `source` says which, for the printed header.
    public static func targetEntries(_ profile: HardwareProfile, entries: [StoredRun], measured: ResultsSource)
        -> (entries: [StoredRun], source: String, predictor: Predictor?) {
        let onTarget = entries.filter { $0.kind == .run && $0.environment("fingerprint") == profile.fingerprint }
        if !onTarget.isEmpty { return (onTarget, "measured on the target", nil) }
        let predictor: Predictor
        do { predictor = try make(entries: entries, source: measured) } catch { return ([], "no prediction: \(error)", nil) }
        let predictions = predictor.configurations(for: profile).map { predictor.predict($0, on: profile) }.filter { $0.decodeTps != nil }
        return (predictions.map { $0.entry(target: profile) }, "predicted (nothing measured on the target)", predictor)
    }
}
