import Engine
import ModelFormat

/// The native Swift engine as a backend.
public final class NativeBackend: InferenceBackend {
    private var transformer: Transformer?
    private var rows: LogitRows?

    public init() {}

    /// Whether the native engine has the architecture a GGUF file names (`general.architecture`).
    public static func runs(architecture: String) -> Bool { ArchitectureRegistry.named(architecture) != nil }

    public var identity: BackendIdentity {
        BackendIdentity(name: "native", version: SlmbenchVersion.string,
                        build: ["kernels": (transformer?.options.kernels ?? KernelLevel.best).rawValue])
    }

    public var capabilities: BackendCapabilities {
        BackendCapabilities(types: ["*"], maxSequences: 256, kvTypes: KVType.allCases.map(\.rawValue),
                            threads: true, perTokenTimes: true, logits: true)
    }

    public func load(modelPath: String, options: LoadOptions) throws(BackendError) {
        do {
            let weights = try ModelWeights(path: modelPath)
            transformer = try Transformer(weights: weights, options: EngineOptions(
                threads: options.threads, cpus: options.cpus, context: options.context, sequences: options.sequences,
                batchTokens: options.batchTokens, kvType: options.kvType, kernels: options.kernels ?? .best, numa: options.numa,
                activationQuant: options.activationQuant ?? .none))
        } catch {
            throw BackendError(Self.code(error), "\(modelPath): \(error)")
        }
    }

    static func code(_ error: EngineError) -> String {
        switch error {
        case .unsupportedType: return "unsupported-type"
        case .unsupportedArchitecture: return "unsupported-architecture"
        case .missingTensor, .badShape, .gguf: return "bad-model"
        case .contextFull: return "context-full"
        case .invalidOption, .binding: return "bad-option"
        }
    }

    private func engine() throws(BackendError) -> Transformer {
        guard let transformer else { throw BackendError("not-loaded", "no model is loaded") }
        return transformer
    }

    public var vocabularySize: Int { transformer?.config.vocabulary ?? 0 }

    public func prefill(_ tokens: [Int32], sequence: Int, allLogits: Bool) throws(BackendError) -> CallTiming {
        let engine = try engine()
        let start = MonotonicClock.now()
        do { rows = try engine.prefill(tokens, slot: sequence, allLogits: allLogits) }
        catch { throw BackendError(Self.code(error), error.description) }
        return CallTiming(startNanoseconds: start, endNanoseconds: MonotonicClock.now())
    }

    public func decode(_ steps: [(sequence: Int, token: Int32)]) throws(BackendError) -> CallTiming {
        let engine = try engine()
        let start = MonotonicClock.now()
        do { rows = try engine.decode(steps.map { (slot: $0.sequence, token: $0.token) }) }
        catch { throw BackendError(Self.code(error), error.description) }
        return CallTiming(startNanoseconds: start, endNanoseconds: MonotonicClock.now())
    }

    public func logits(_ i: Int) -> UnsafeBufferPointer<Float> { rows![i] }

    public func clear(sequence: Int) { transformer?.clear(slot: sequence) }

    public var memory: BackendMemory {
        guard let m = transformer?.memory else { return BackendMemory() }
        return BackendMemory(weightsBytes: m.weights, kvCacheBytes: m.kvCache, scratchBytes: m.scratch)
    }

    public func unload() {
        rows = nil
        transformer = nil
    }
}
