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

/// Where the cross-device model's corpus lives.
struct CorpusOptions: ParsableArguments {
    @Option(help: "The validation corpus: published llama-bench results, one CSV per device, and models*.yaml.")
    var corpus = "profiles/validation"
    @Option(help: "Where the corpus devices' spec profiles are (DEVICE.json).") var hardware = "profiles/hardware"
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict speed, latency and memory on a device not at hand, with the validated cross-device model.",
        discussion: reflow("""
            Time per token: bytes read ÷ the device's read bandwidth (B) and operations ÷ the peak
            of the kernel the tensor type runs on (C: int8 dot products for quantized types, f16 or
            f32 FMAs), combined as (Bᵖ + Cᵖ)^(1/p) — p = 1 adds them, a large p approaches the larger,
            as reading and multiplying overlap; the fit picks p — plus a fixed cost per layer scaled
            by one core's speed. Bytes and operations come
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
            """))

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
        let predictor = try Predictors.make(try measured.source, corpus: corpus.corpus, hardware: corpus.hardware)
        if validateAll {
            let v = predictor.validation
            if json { return try JSONOutput.print(CrossDeviceValidationDocument(v)) }
            print(v.markdown(profiles: predictor.profiles))
            print("")
            print(PredictionTable.validationLines(predictor).joined(separator: "\n"))
            return
        }
        let profile = try ProfileLibrary.load(target!, flag: "--target")
        if let validate = validateFile {
            let rows = try ImportedResults.measurements(validate, flag: "--validate")
            let validation = PredictionValidation(measured: rows, target: profile, predictor: predictor)
            guard validation.rows.contains(where: { $0.predicted != nil }) else {
                throw CLIError("--validate \(validate): no row could be predicted (only llama.cpp rows at batch 1 of models with a known shape can be)")
            }
            if json { return try JSONOutput.print(ValidationDocument(validation)) }
            print("validate predictions for \(profile.name) against \(validate)")
            print("")
            print(validation.markdown())
            print("")
            print(PredictionTable.validationLines(predictor).joined(separator: "\n"))
            return
        }
        let predictions = predictor.configurations(for: profile).filter { c in
            (model == nil || c.model == model) && (type == nil || c.modelType == type?.lowercased()) && (threads == nil || c.nThreads == threads)
        }.map { predictor.predict($0, on: profile) }
        guard !predictions.isEmpty else {
            throw CLIError("no configuration to predict: the predictions cover the llama.cpp batch-1 configurations measured in \(try measured.source.described) (run a sweep with backend llama.cpp first), filtered by --model, --type, --threads")
        }
        if json { return try JSONOutput.print(PredictionsDocument(predictions, target: profile, predictor: predictor)) }
        print(PredictionTable.markdown(predictions, predictor: predictor, target: profile))
    }
}
