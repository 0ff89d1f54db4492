import DeviceProbe
import Engine
import Foundation
import Measures
import ModelFormat
import Worker

/// The shape facts of a model that memory prediction needs, from a preset or a GGUF header.
public struct ModelShape: Sendable, Equatable {
    /// Every tensor's shape, and its stored type where a file exists.
    public var tensors: [(shape: [Int], stored: TensorType?)]
    public var layers: Int
    public var kvHeads: Int
    public var headDimension: Int
    public var embedding: Int
    public var feedForward: Int
    public var vocabulary: Int
    public var contextLength: Int
    /// Tensor names and the hyperparameters llama.cpp's recipes read, for a mix's types.
    public var mixModel: MixModel

    public static func == (a: ModelShape, b: ModelShape) -> Bool {
        a.layers == b.layers && a.kvHeads == b.kvHeads && a.embedding == b.embedding && a.vocabulary == b.vocabulary
            && a.tensors.map(\.shape) == b.tensors.map(\.shape)
    }

    public init(preset p: ArchitecturePreset) {
        tensors = p.tensorShapes.map { ($0.shape, nil) }
        layers = p.layers; kvHeads = p.kvHeads; headDimension = p.headDimension; embedding = p.embedding
        feedForward = p.feedForward; vocabulary = p.vocabulary; contextLength = p.contextLength
        mixModel = MixModel(preset: p)
    }

    public init(file: GGUFFile) throws(GGUFError) {
        let arch = try file.string("general.architecture")
        tensors = file.tensors.map { ($0.shape, $0.type) }
        layers = try file.int("\(arch).block_count")
        embedding = try file.int("\(arch).embedding_length")
        let heads = try file.int("\(arch).attention.head_count")
        kvHeads = (try? file.int("\(arch).attention.head_count_kv")) ?? heads
        headDimension = embedding / max(1, heads)
        feedForward = (try? file.int("\(arch).feed_forward_length")) ?? 0
        contextLength = (try? file.int("\(arch).context_length")) ?? 2048
        vocabulary = file.tensor(named: "token_embd.weight")?.shape.last ?? 0
        mixModel = MixModel(file: file)
    }

    public var parameters: Int { tensors.map { $0.shape.reduce(1, *) }.reduce(0, +) }

    /// Weight bytes once converted to `type` (nil: as stored), with the quantizer's fallbacks.
    public func weightBytes(type: TensorType?) -> Int? { weightBytes(mix: type.map(QuantMix.init(type:))) }

    /// Weight bytes once converted to the types `mix` assigns (nil: as stored).
    public func weightBytes(mix: QuantMix?) -> Int? {
        let assigned = mix?.assign(mixModel).types
        var total = 0
        for (index, t) in tensors.enumerated() {
            let row = t.shape.first ?? 1
            let rows = t.shape.dropFirst().reduce(1, *)
            let target: TensorType
            if let assigned, index < mixModel.tensors.count, let type = assigned[mixModel.tensors[index].name] { target = type }
            else if assigned == nil, let stored = t.stored { target = stored }
            else if assigned == nil, t.shape.count == 1 { target = .f32 }
            else { return nil }
            guard let bytes = target.rowBytes(row) else { return nil }
            total += bytes * rows
        }
        return total
    }

    /// Resident bytes a run is expected to need: weights, the KV cache of every sequence, the
    /// engine's scratch for a token batch, logits, and the process itself.
    public func predictedBytes(type: TensorType?, batch: Int, context: Int, kvBytes: Double, batchTokens: Int) -> Int? {
        predictedBytes(mix: type.map(QuantMix.init(type:)), batch: batch, context: context, kvBytes: kvBytes, batchTokens: batchTokens)
    }

    public func predictedBytes(mix: QuantMix?, batch: Int, context: Int, kvBytes: Double, batchTokens: Int) -> Int? {
        guard let weights = weightBytes(mix: mix) else { return nil }
        // In floating point: a file's metadata may claim any layer or head count, and the
        // product of those with the spec's context and batch can pass Int.max.
        let (layers, kvWidth, context) = (Double(layers), Double(kvHeads) * Double(headDimension), Double(context))
        let (batch, tokens) = (Double(batch), Double(batchTokens))
        let kv = 2 * layers * kvWidth * context * batch * kvBytes
        let activations = tokens * (4 * Double(embedding) + 3 * Double(feedForward) + 2 * kvWidth) * 4
        let attention = tokens * context * 4 * 2
        let logits = Double(vocabulary) * max(batch, 1) * 4 * 2
        let process = Double(48 << 20)
        let total = Double(weights) + kv + activations + attention + logits + process
        return total < Double(Int.max) ? Int(max(total, 0)) : Int.max
    }
}

/// One entry of a sweep's plan: a configuration to run, a drift reference, or a quality evaluation.
public struct PlannedRun: Sendable, Equatable {
    public var kind: EntryKind
    public var key: String
    /// Position in the whole plan (stable across shards).
    public var seq: Int
    /// The grid point: the spec's own vocabulary, which filters, keys and the dry-run table use.
    public var point: SweepSpec.Point
    /// What the worker is asked to do (the model's path is filled in when it is prepared).
    public var run: RunSpec
    /// CPUs the run's threads are pinned to.
    public var cpus: [Int] { run.cpus }
    public var predictedBytes: Int?
    /// Why the run will not execute (does not fit, cannot be placed, backend cannot run it).
    public var skip: String?
}

/// The expanded sweep: every grid point after filters, with memory and placement decided.
public struct SweepPlan: Sendable {
    public var spec: SweepSpec
    /// Grid points in grid order, each with its position.
    public var runs: [PlannedRun]
    /// Quality evaluations (one per real model and type) when the spec asks for them.
    public var quality: [PlannedRun]
    public var availableBytes: Int?
    /// Points the filters removed.
    public var filtered: Int

    /// Expands `spec` on the machine `profile` describes. `shape` gives a model's shape facts.
    public static func make(_ spec: SweepSpec, profile: HardwareProfile,
                            shape: (ModelReference) throws -> ModelShape) throws -> SweepPlan {
        let topology = PlacementTopology(profile: profile)
        let available = profile.memory.usableBytes ?? profile.memory.availableBytes ?? profile.memory.totalBytes
        var shapes: [String: ModelShape] = [:]
        var runs: [PlannedRun] = []
        var filtered = 0
        // (model, type, method) that the filters keep at some point of the grid: a method's quality
        // evaluation covers those types only.
        var kept: Set<String> = []
        for model in spec.models {
            let reference = try ModelReference.parse(model)
            for type in spec.types {
                if case .synthetic = reference, type == "stored" {
                    throw SpecError(file: spec.file, line: nil, column: nil, key: "axes.type",
                                    message: "synthetic model \(model) has no stored weights; list the types to generate it in")
                }
                for backend in spec.backends { for threads in spec.threads { for batch in spec.batches {
                    for prompt in spec.prompts { for gen in spec.gens { for kv in spec.kvTypes {
                        for placement in spec.placements { for depth in spec.depths { for method in spec.quantMethods {
                            let p = SweepSpec.Point(model: model, type: type, backend: backend, threads: threads, batch: batch,
                                                    prompt: prompt, gen: gen, kv: kv, placement: placement, depth: depth, quantMethod: method)
                            if !spec.include.isEmpty && !spec.include.contains(where: { $0.matches(p) }) { filtered += 1; continue }
                            if spec.exclude.contains(where: { $0.matches(p) }) { filtered += 1; continue }
                            kept.insert("\(model)|\(type)|\(method)")
                            if prompt == 0 && gen == 0 { filtered += 1; continue }
                            var run = PlannedRun(kind: .run, key: p.key, seq: runs.count, point: p,
                                                 run: Self.runSpec(p, cpus: [], measurement: spec.measurement, calibration: spec.calibration),
                                                 predictedBytes: nil, skip: nil)
                            if shapes[model] == nil { shapes[model] = try shape(reference) }
                            let s = shapes[model]!
                            var mix: QuantMix?
                            if type != "stored" { mix = try? QuantMix.named(type, flag: "type") }
                            let context = depth + prompt + max(gen, 1) + 1
                            run.predictedBytes = s.predictedBytes(mix: mix, batch: batch, context: context, kvBytes: (KVType(rawValue: kv) ?? .f32).bytesPerElement,
                                                                  batchTokens: RunSpec.batchTokens(prompt: prompt, depth: depth, batch: batch))
                            run.skip = skipReason(p, mix: mix, shape: s, context: context, predicted: run.predictedBytes,
                                                  available: available)
                            if run.skip == nil {
                                switch Placement(placement)!.cpus(threads: threads, on: topology) {
                                case let .success(cpus): run.run.cpus = cpus
                                case let .failure(problem): run.skip = "placement \(placement): \(problem)"
                                }
                            }
                            runs.append(run)
                        }}}
                    }}}
                }}}
            }
        }
        var quality: [PlannedRun] = []
        if spec.quality.enabled {
            // One evaluation per real model: every listed type against its F32 conversion.
            let types = spec.types.filter { $0 != "stored" }
            // One per model and method: each method's types against the same F32 conversion.
            for model in spec.models where !types.isEmpty {
                guard case .known = try ModelReference.parse(model) else { continue }
                for method in spec.quantMethods {
                    // The types the filters keep for this model and method (an include that lists a
                    // method's types limits its evaluation to them).
                    let chosen = types.filter { kept.contains("\(model)|\($0)|\(method)") }
                    guard !chosen.isEmpty else { continue }
                    let p = SweepSpec.Point(model: model, type: chosen.joined(separator: ","), backend: "native", threads: spec.quality.threads,
                                            batch: 1, prompt: spec.quality.context, gen: 0, kv: "f32", placement: "none", depth: 0,
                                            quantMethod: method)
                    let run = Self.runSpec(p, cpus: [], measurement: spec.measurement, calibration: spec.calibration)
                    quality.append(PlannedRun(kind: .quality, key: "quality|\(model)" + (p.quantMethod.map { "|m-\($0)" } ?? ""),
                                              seq: 2_000_000 + quality.count, point: p, run: run, predictedBytes: nil, skip: nil))
                }
            }
        }
        return SweepPlan(spec: spec, runs: runs, quality: quality, availableBytes: available, filtered: filtered)
    }

    static func skipReason(_ p: SweepSpec.Point, mix: QuantMix?, shape: ModelShape, context: Int, predicted: Int?,
                           available: Int?) -> String? {
        if p.backend == "llama.cpp", let mix {
            let lab = Set(mix.assign(shape.mixModel).types.values).filter(\.isLab).map(\.name).sorted()
            if !lab.isEmpty { return "llama.cpp cannot run lab type \(lab.joined(separator: ", "))" }
        }
        if p.backend == "llama.cpp" {
            if p.placement != "none" { return "llama.cpp backend cannot pin threads (placement \(p.placement))" }
        }
        if context > shape.contextLength { return "context \(context) exceeds the model's \(shape.contextLength)" }
        if let predicted, let available, Double(predicted) > 0.9 * Double(available) {
            return "predicted \(predicted / 1_048_576) MiB does not fit in \(available / 1_048_576) MiB available (90% rule)"
        }
        return nil
    }

    /// The reference configuration: the spec's `reference.config` laid over the first runnable point.
    public var referencePoint: PlannedRun? {
        guard spec.reference.every > 0, var base = runs.first(where: { $0.skip == nil }) else { return nil }
        var p = base.point
        for (axis, value) in spec.reference.config {
            switch axis {
            case "model": p.model = value
            case "type": p.type = value
            case "backend": p.backend = value
            case "threads": p.threads = Int(value) ?? p.threads
            case "batch": p.batch = Int(value) ?? p.batch
            case "prompt": p.prompt = Int(value) ?? p.prompt
            case "gen": p.gen = Int(value) ?? p.gen
            case "kv": p.kv = value
            case "placement": p.placement = value
            case "quant_method": p.quantMethod = value == QuantMethod.rtn.rawValue ? nil : value
            default: p.depth = Int(value) ?? p.depth
            }
        }
        if let match = runs.first(where: { $0.point == p && $0.skip == nil }) { base = match }
        base.point = p
        base.run = Self.runSpec(p, cpus: base.cpus, measurement: spec.measurement, calibration: spec.calibration)
        base.kind = .reference
        return base
    }

    /// The runs of shard `index` of `count` (1-based): every `count`-th run, so each shard gets
    /// a similar mix of configurations. Shards 1…n together hold each run exactly once.
    public func shard(_ index: Int, of count: Int) -> [PlannedRun] {
        runs.filter { $0.seq % count == index - 1 }
    }

    /// What executes, in order: a reference before the first run and after every `every` runs
    /// (and at the end), the runs, then the quality evaluations.
    public func executionOrder(runs selected: [PlannedRun], shardLabel: String?) -> [PlannedRun] {
        let prefix = shardLabel.map { "ref|\($0)|" } ?? "ref|"
        var order: [PlannedRun] = []
        let reference = referencePoint
        var refIndex = 0
        func addReference() {
            guard var r = reference else { return }
            r.key = "\(prefix)\(refIndex)"
            r.seq = 1_000_000 + refIndex
            order.append(r)
            refIndex += 1
        }
        addReference()
        var sinceReference = 0
        for run in selected {
            order.append(run)
            if run.skip == nil { sinceReference += 1 }
            if reference != nil && sinceReference >= spec.reference.every {
                addReference()
                sinceReference = 0
            }
        }
        if sinceReference > 0 { addReference() }
        return order
    }
}
