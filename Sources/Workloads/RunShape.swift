import Engine
import Foundation
import ResultStore
import Worker

/// The one shape a run takes on its way from a sweep spec to a stored row:
///
///     SweepSpec.Point ──SweepPlan.runSpec──▶ RunSpec ──(model prepared)──▶ worker
///                                               └──RunConfig(run:…)──▶ stored row
///
/// The plan turns each grid point into the `RunSpec` the worker receives (here, once); the
/// runner fills in the prepared model's path; the stored configuration is derived from that
/// same `RunSpec` (here, once). `slmbench run` builds a `RunSpec` from its flags and derives its
/// configuration the same way.
extension SweepPlan {
    /// The worker's run for grid point `p`, with `cpus` from placement. The model file is not
    /// known until the runner prepares it: `model` is empty and `modelName` is the spec's reference.
    /// `calibration` is the spec's calibration text, recorded for a calibrated method (the default text when nil).
    public static func runSpec(_ p: SweepSpec.Point, cpus: [Int], measurement m: SweepSpec.MeasurementSettings, calibration: String? = nil) -> RunSpec {
        var spec = RunSpec(backend: BackendKind(label: p.backend), model: "", modelName: p.model, type: p.type == "stored" ? nil : p.type,
                threads: p.threads, batch: p.batch, promptTokens: p.prompt, genTokens: p.gen,
                kvType: KVType(rawValue: p.kv) ?? .f32, warmup: m.warmup, repetitions: m.minRepetitions, seed: m.seed,
                cpus: cpus, depth: p.depth == 0 ? nil : p.depth, maxRepetitions: m.maxRepetitions, targetHalfWidth: m.targetHalfWidth)
        spec.sustainSeconds = m.sustainSeconds
        spec.quantMethod = p.quantMethod
        spec.calibration = p.quantMethod == nil ? nil : calibration ?? Corpus.calibrationPath
        return spec
    }
}

extension BackendKind {
    /// The kind of a `--backend` or `axes.backend` value: `cmd:PROGRAM` is `cmd`. A value that
    /// names no backend is refused before a run is launched (`WorkerCommand.parse`); it maps to
    /// `native` here only so that a plan can hold it. `llama-bench` runs in an external worker too.
    public init(label: String) {
        self = label.hasPrefix("cmd:") || label == LlamaBench.backendName ? .cmd : BackendKind(rawValue: label) ?? .native
    }
}

extension RunConfig {
    /// The stored configuration of `run`. `backend` is the label the user gave (`cmd:PROGRAM`
    /// keeps its program), `placement` the spec's placement; `model` is the prepared file's
    /// facts, nil for a run that never got that far (its name is then the spec's reference).
    public init(run: RunSpec, backend: String, placement: String, model: PreparedModel?) {
        self.init(model: model?.name ?? run.modelName, modelType: run.type ?? "stored", backend: backend, nThreads: run.threads,
                  nSeq: run.batch, nPrompt: run.promptTokens, nGen: run.genTokens, nDepth: run.depth ?? 0,
                  kvType: run.kvType.rawValue, placement: placement, cpus: run.cpus, modelSize: model?.sizeBytes,
                  modelNParams: model?.parameters,
                  synthetic: model?.synthetic ?? (try? ModelReference.parse(run.modelName))?.isSynthetic ?? false,
                  quantMethod: run.quantMethod, calibration: run.calibration)
    }
}
