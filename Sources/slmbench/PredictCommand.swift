import ArgumentParser
import DeviceProbe
import Foundation
import Measures
import Reporter
import ResultStore
import Worker
import Workloads

/// Where measured results come from for calibration, recommendations and costs: the store, or sweep folders.
struct MeasuredResultsOptions: ParsableArguments {
    @OptionGroup var storeOption: StoreOption
    @Option(help: "Sweep folders to read instead of the store (repeat).") var results: [String] = []
    @Option(help: "Hardware profile of a machine the results ran on (repeat; default: the store's and profiles/hardware/*.json).")
    var machine: [String] = []

    var source: ResultsSource {
        get throws { ResultsSource(store: try storeOption.location, folders: results, machines: try ProfileLibrary.load(machine, flag: "--machine")) }
    }
}

struct ResultsSource {
    var store: StoreLocation
    var folders: [String]
    /// Profiles given explicitly; they win over the store's and the library's.
    var machines: [HardwareProfile] = []

    func load(kinds: [EntryKind] = [.run, .quality]) throws -> [StoredRun] {
        if folders.isEmpty {
            let db = try store.openForReading()
            do { return try db.runs(kinds: kinds) } catch { throw store.failure(error) }
        }
        var entries: [StoredRun] = []
        for folder in folders {
            do { entries += try SweepMerge.read(URL(fileURLWithPath: folder)).entries.filter { kinds.contains($0.kind) } } catch {
                throw CLIError("--results \(folder): \(error)")
            }
        }
        return entries
    }

    var described: String { folders.isEmpty ? store.description : folders.joined(separator: ", ") }

    /// The profiles of the machines these results were measured on, by fingerprint: from the store,
    /// then from profiles/hardware/*.json; a profile with measured bandwidth wins.
    func profiles(for entries: [StoredRun]) -> [String: HardwareProfile] {
        var found = ProfileLibrary.profiles(fingerprints: Set(entries.compactMap { $0.environment("fingerprint") }), store: store)
        for p in machines { found[p.fingerprint] = p }
        return found
    }
}

enum ProfileLibrary {
    /// Profiles named on the command line; a bad file is an error naming the flag and the file.
    static func load(_ paths: [String], flag: String) throws -> [HardwareProfile] {
        try paths.map { path in
            do { return try HardwareProfile.load(path: path) } catch { throw CLIError("\(flag) \(path): \(error)") }
        }
    }

    static func profiles(fingerprints: Set<String>, store: StoreLocation) -> [String: HardwareProfile] {
        var found: [String: HardwareProfile] = [:]
        func offer(_ p: HardwareProfile) {
            guard fingerprints.contains(p.fingerprint) else { return }
            if let have = found[p.fingerprint], have.bandwidth != nil || p.bandwidth == nil { return }
            found[p.fingerprint] = p
        }
        if !fingerprints.isEmpty, store.mayHoldResults, let db = try? store.open() {
            for f in fingerprints {
                if let json = try? db.profileJSON(fingerprint: f), let p = try? HardwareProfile.decode(Data(json.utf8), path: store.description) { offer(p) }
            }
        }
        let library = (try? FileManager.default.contentsOfDirectory(atPath: "profiles/hardware")) ?? []
        for name in library.sorted() where name.hasSuffix(".json") {
            if let p = try? HardwareProfile.load(path: "profiles/hardware/\(name)") { offer(p) }
        }
        return found
    }
}

/// Where the cross-device model's corpus lives.
struct CorpusOptions: ParsableArguments {
    @Option(help: "The validation corpus: published llama-bench results, one CSV per device, and models*.yaml.")
    var corpus = "profiles/validation"
    @Option(help: "Where the corpus devices' spec profiles are (DEVICE.json).") var hardware = "profiles/hardware"
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict speed, latency and memory on a device not at hand, with the validated cross-device model.",
        discussion: """
            Time per token = bytes read ÷ the device's read bandwidth + operations ÷ the peak of
            the kernel the tensor type runs on (int8 dot products for quantized types, f16 or f32
            FMAs) + a fixed cost per layer scaled by one core's speed. Bytes and operations come
            from the model's tensor list (an embedding row, or the whole table when it is the
            output head; the KV cache at the test's depth); bandwidth and peaks from the target's
            profile at the thread count. The coefficients are fitted to the validation corpus
            (--corpus: published llama-bench results from many devices, each row with its source)
            and to the llama.cpp runs in --store or --results measured on profiled machines. The ±
            printed is the 90th percentile of the leave-one-device-out error over the corpus.
            Only llama.cpp at batch 1 is predicted: that is what the corpus validates.

            --validate FILE reads measurements taken on the target (llama-bench -o json|jsonl|csv|sql,
            a sweep folder or a journal.jsonl) and reports each prediction's error.
            --validate-all prints the leave-one-device-out table of the whole corpus.
            """)

    @Option(help: "The target's hardware profile (profiles/hardware/X.json).") var target: String?
    @OptionGroup var measured: MeasuredResultsOptions
    @OptionGroup var corpus: CorpusOptions
    @Option(name: .customLong("validate"), help: "Measurements on the target to check the predictions against.") var validateFile: String?
    @Flag(help: "Leave-one-device-out validation over the whole corpus.") var validateAll = false
    @Option(help: "Only this model.") var model: String?
    @Option(help: "Only this tensor type.") var type: String?
    @Option(help: "Only this thread count.") var threads: Int?
    @Flag(help: "Print one JSON document.") var json = false

    func validate() throws {
        if !validateAll && target == nil { throw ValidationError("give --target PROFILE (or --validate-all)") }
    }

    func run() throws {
        let predictor = try Self.predictor(try measured.source, corpus: corpus.corpus, hardware: corpus.hardware)
        if validateAll {
            let v = predictor.validation
            if json {
                func summary(_ s: CrossDeviceValidation.Summary) -> [String: Any] {
                    ["rows": s.rows, "median_abs_error": s.median ?? NSNull(), "p90_abs_error": s.p90 ?? NSNull()]
                }
                let out: [String: Any] = [
                    "schema": "slmbench.cross-device-validation/1",
                    "devices": v.devices.map { d in ["device": d, "decode": summary(v.summary(device: d, phase: .decode)),
                                                     "prefill": summary(v.summary(device: d, phase: .prefill))] as [String: Any] },
                    "decode": summary(v.summary(phase: .decode)), "prefill": summary(v.summary(phase: .prefill)),
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
            } else {
                print(v.markdown(profiles: predictor.profiles))
                print("")
                print(PredictionTable.validationLines(predictor).joined(separator: "\n"))
            }
            return
        }
        let profile = try MachineProfile.load(target!)
        if let validate = validateFile {
            let rows = try Self.readMeasurements(validate)
            let validation = PredictionValidation(measured: rows, target: profile, predictor: predictor)
            guard validation.rows.contains(where: { $0.predicted != nil }) else {
                throw CLIError("--validate \(validate): no row could be predicted (only llama.cpp rows at batch 1 of models with a known shape can be)")
            }
            if json {
                let out: [String: Any] = [
                    "schema": "slmbench.validation/1", "target": profile.name,
                    "median_abs_error": validation.medianAbsError() ?? NSNull(),
                    "median_abs_error_decode": validation.medianAbsError(.decode) ?? NSNull(),
                    "median_abs_error_prefill": validation.medianAbsError(.prefill) ?? NSNull(),
                    "rows": validation.rows.map { r in
                        ["config": Self.configJSON(r.config), "phase": r.phase.rawValue, "measured_ts": r.measured,
                         "predicted_ts": r.predicted ?? NSNull(), "error": r.error ?? NSNull()] as [String: Any]
                    },
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
            } else {
                print("validate predictions for \(profile.name) against \(validate)")
                print("")
                print(validation.markdown())
                print("")
                print(PredictionTable.validationLines(predictor).joined(separator: "\n"))
            }
            return
        }
        let predictions = predictor.configurations(for: profile).filter { c in
            (model == nil || c.model == model) && (type == nil || c.modelType == type?.lowercased()) && (threads == nil || c.nThreads == threads)
        }.map { predictor.predict($0, on: profile) }
        guard !predictions.isEmpty else {
            throw CLIError("no configuration to predict: the predictions cover the llama.cpp batch-1 configurations measured in \(try measured.source.described) (run a sweep with backend llama.cpp first), filtered by --model, --type, --threads")
        }
        if json {
            let out: [String: Any] = ["schema": "slmbench.predictions/1", "target": profile.name, "fingerprint": profile.fingerprint,
                                      "error_basis": predictor.errorLabel, "predictions": predictions.map(Self.predictionJSON)]
            print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
        } else {
            print(PredictionTable.markdown(predictions, predictor: predictor, target: profile))
        }
    }

    /// The cross-device predictor: the corpus, and the measured llama.cpp runs of profiled machines.
    static func predictor(_ measured: ResultsSource, corpus folder: String = "profiles/validation", hardware: String = "profiles/hardware",
                          extraShapes: [String: ModelGeometry] = [:]) throws -> Predictor {
        // Local runs add this machine to the fit; without a store yet the corpus alone serves.
        let entries = measured.folders.isEmpty && !measured.store.mayHoldResults ? [] : try measured.load(kinds: [.run])
        return try predictor(entries: entries, source: measured, corpus: folder, hardware: hardware, extraShapes: extraShapes)
    }

    /// The same, from runs already loaded (`source` finds their machines' profiles).
    static func predictor(entries: [StoredRun], source measured: ResultsSource, corpus folder: String = "profiles/validation",
                          hardware: String = "profiles/hardware", extraShapes: [String: ModelGeometry] = [:]) throws -> Predictor {
        let corpus: ValidationCorpus
        do { corpus = try ValidationCorpus(folder: folder, hardwareFolder: hardware) } catch { throw CLIError("--corpus \(folder): \(error)") }
        let shapes = ModelGeometries.presets.merging(corpus.shapes) { a, _ in a }.merging(extraShapes) { _, b in b }
        let predictor = Predictor(corpus: corpus.measurements, corpusProfiles: corpus.profiles, corpusSkipped: corpus.skipped,
                                  measured: entries, localProfiles: measured.profiles(for: entries), shapes: shapes)
        guard predictor.model.decode.rows > 0 else {
            throw CLIError("--corpus \(folder): no usable row to fit the cross-device model (\(corpus.skipped.first ?? "no CSV files"))")
        }
        return predictor
    }

    static func readMeasurements(_ path: String) throws -> [StoredRun] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CLIError("--validate \(path): no such file") }
        if isDirectory.boolValue {
            do { return try SweepMerge.read(URL(fileURLWithPath: path)).entries } catch { throw CLIError("--validate \(path): \(error)") }
        }
        if path.hasSuffix("journal.jsonl") {
            do { return try Journal.read(path: path, tolerateTornTail: false).0 } catch { throw CLIError("--validate \(path): \(error)") }
        }
        do { return try ImportedResults.read(URL(fileURLWithPath: path)) } catch { throw CLIError("--validate \(error)") }
    }

    static func configJSON(_ c: RunConfig) -> [String: Any] {
        ["model": c.model, "model_type": c.modelType, "backend": c.backend, "n_threads": c.nThreads, "n_seq": c.nSeq,
         "n_prompt": c.nPrompt, "n_gen": c.nGen, "n_depth": c.nDepth, "kv_type": c.kvType]
    }

    static func predictionJSON(_ p: Prediction) -> [String: Any] {
        ["config": configJSON(p.config), "pp_ts": p.prefillTps ?? NSNull(), "tg_ts": p.decodeTps ?? NSNull(), "ttft_ms": p.ttftMs ?? NSNull(),
         "itl_ms": p.itlMs ?? NSNull(), "peak_rss_bytes": p.peakRssBytes ?? NSNull(), "tg_error_p90": p.decodeError ?? NSNull(),
         "pp_error_p90": p.prefillError ?? NSNull(), "notes": p.notes]
    }
}
