import ArgumentParser
import DeviceProbe
import Foundation
import Reporter
import ResultStore
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

    func load(kinds: [String] = ["run", "quality"]) throws -> [StoredRun] {
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

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict speed, latency and memory on a target profile with the calibrated roofline model.",
        discussion: """
            The roofline bound is the target's read bandwidth ÷ bytes per decode step (weights, plus KV
            cache at the mean context) and its f32 FMA peak ÷ FLOPs per prompt token. Efficiency factors
            (measured ÷ bound) are fitted per backend × type from the measured runs in --store or
            --results, on the machines whose profiles are known; every prediction carries the 90th
            percentile of the leave-one-out errors of that fit. Memory is the peak RSS measured for
            the same configuration. Without --validate, predicts every measured configuration at the
            thread counts the target offers; filter with --model, --type, --backend, --threads.

            --validate FILE reads measurements taken on the target (llama-bench -o json|jsonl|csv, a
            sweep folder or a journal.jsonl) and reports each prediction's error and the median
            absolute error.
            """)

    @Option(help: "The target's hardware profile (profiles/hardware/X.json).") var target: String
    @OptionGroup var measured: MeasuredResultsOptions
    @Option(help: "Measurements on the target to check the predictions against.") var validate: String?
    @Option(help: "Only this model.") var model: String?
    @Option(help: "Only this tensor type.") var type: String?
    @Option(help: "Only this backend.") var backend: String?
    @Option(help: "Only this thread count.") var threads: Int?
    @Flag(help: "Print one JSON document.") var json = false

    func run() throws {
        let profile = try MachineProfile.load(target)
        let predictor = try Self.predictor(try measured.source)
        if let validate {
            let rows = try Self.readMeasurements(validate)
            let validation = PredictionValidation(measured: rows, target: profile, predictor: predictor)
            guard validation.rows.contains(where: { $0.predicted != nil }) else {
                throw CLIError("--validate \(validate): no row matches a calibrated backend (calibration covers \(Set(predictor.calibration.samples.map(\.run.config.backend)).sorted().joined(separator: ", ")))")
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
                print(PredictionTable.calibrationLines(predictor.calibration).joined(separator: "\n"))
            }
            return
        }
        let predictions = predictor.configurations(for: profile).filter { c in
            (model == nil || c.model == model) && (type == nil || c.modelType == type?.lowercased()) && (backend == nil || c.backend == backend)
                && (threads == nil || c.nThreads == threads)
        }.map { predictor.predict($0, on: profile) }
        guard !predictions.isEmpty else { throw CLIError("no calibrated configuration matches the filters") }
        if json {
            let out: [String: Any] = ["schema": "slmbench.predictions/1", "target": profile.name, "fingerprint": profile.fingerprint,
                                      "predictions": predictions.map(Self.predictionJSON)]
            print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
        } else {
            print(PredictionTable.markdown(predictions, calibration: predictor.calibration, target: profile))
        }
    }

    /// The calibrated predictor from measured results; an error says what is missing.
    static func predictor(_ measured: ResultsSource) throws -> Predictor {
        let entries = try measured.load(kinds: ["run"])
        let calibration = Calibration(entries: entries, profiles: measured.profiles(for: entries))
        guard !calibration.samples.isEmpty else {
            let why = calibration.unused.first.map { " (e.g. \($0))" } ?? ""
            throw CLIError("no measured run in \(measured.described) can calibrate the roofline model\(why); "
                + "run a sweep on a probed machine first (slmbench probe --bandwidth --save profiles/hardware/NAME.json, then slmbench sweep)")
        }
        return Predictor(calibration: calibration)
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
