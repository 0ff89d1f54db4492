import Backends
import Engine
import Foundation
import Measures

/// Which backend a run asks for: one of slmbench's own, or `cmd` (an external program, which is
/// the launcher's business: the worker never sees the program's name).
public enum BackendKind: String, Codable, Sendable, CaseIterable {
    case native
    case llamaCpp = "llama.cpp"
    case cmd
}

/// One run's configuration: what the worker is asked to do. Carried as the `run` object of the
/// worker protocol (snake_case keys, see docs/worker-protocol.md). A sweep's plan emits it
/// (`SweepPlan`), `slmbench run` builds it from its flags, and the stored configuration of the
/// run is derived from it in one place (`RunConfig(run:…)` in Workloads).
public struct RunSpec: Codable, Sendable, Equatable {
    public var backend: BackendKind
    /// Path of the GGUF file the worker loads; empty in a plan, until the model is prepared.
    public var model: String
    /// The model's name for reports (a known model or the file's stem).
    public var modelName: String
    /// The tensor type the weights were converted to, or nil for the file as it is.
    public var type: String?
    public var threads: Int
    /// Sequences decoded together.
    public var batch: Int
    /// Prompt tokens per sequence (0: no prefill; decoding starts from BOS).
    public var promptTokens: Int
    /// Tokens generated per sequence (0: prefill only).
    public var genTokens: Int
    public var kvType: KVType
    public var warmup: Int
    public var repetitions: Int
    public var seed: UInt64
    /// CPUs to pin threads to (empty: the probe's spread order is used by the engine if it wants).
    public var cpus: [Int]
    public var numa: NumaPolicy
    /// Tokens already in each sequence's context before the timed prompt (filled untimed). Optional on the wire.
    public var depth: Int?
    /// Adaptive stopping: after `repetitions`, keep repeating until the 95% CI half-width of the
    /// primary metric is at most `targetHalfWidth` of its mean, up to `maxRepetitions`. Optional on the wire.
    public var maxRepetitions: Int?
    public var targetHalfWidth: Double?
    /// Energy, heat and clock sampling during the run (nil: none). Optional on the wire.
    public var sampling: SamplingRequest?
    /// Sustained mode (`slmbench soak`): measured repetitions back to back for this many seconds,
    /// instead of `repetitions` and adaptive stopping. Optional on the wire.
    public var sustainSeconds: Double?
    /// How the weights were quantized (`rtn`, `imatrix`, `awq`, `gptq`, `smoothquant`; nil: rtn or
    /// stored) and the calibration text a calibrated method read. The worker does not read them:
    /// the file is already made; they travel so that the stored configuration is derived from
    /// this one value. Optional on the wire.
    public var quantMethod: String?
    public var calibration: String?

    public init(backend: BackendKind, model: String, modelName: String, type: String? = nil, threads: Int = 1, batch: Int = 1,
                promptTokens: Int = 128, genTokens: Int = 64, kvType: KVType = .f32, warmup: Int = 1, repetitions: Int = 3,
                seed: UInt64 = 42, cpus: [Int] = [], numa: NumaPolicy = .default, depth: Int? = nil,
                maxRepetitions: Int? = nil, targetHalfWidth: Double? = nil) {
        self.backend = backend
        self.model = model
        self.modelName = modelName
        self.type = type
        self.threads = threads
        self.batch = batch
        self.promptTokens = promptTokens
        self.genTokens = genTokens
        self.kvType = kvType
        self.warmup = warmup
        self.repetitions = repetitions
        self.seed = seed
        self.cpus = cpus
        self.numa = numa
        self.depth = depth
        self.maxRepetitions = maxRepetitions
        self.targetHalfWidth = targetHalfWidth
    }

    /// Positions each sequence needs.
    public var context: Int { (depth ?? 0) + promptTokens + max(genTokens, 1) + 1 }

    /// Problems with the spec, each naming its field. The bounds are the sweep spec's
    /// (`SpecLimits`): a request from anywhere else gets no more, and `context` cannot overflow.
    public func problems() -> [String] {
        var p: [String] = []
        func check(_ field: String, _ value: Int, _ bounds: ClosedRange<Int>) {
            if !bounds.contains(value) { p.append("\(field) must be \(bounds.lowerBound) to \(bounds.upperBound) (got \(value))") }
        }
        check("threads", threads, 1...SpecLimits.threads)
        check("batch", batch, 1...SpecLimits.batch)
        check("prompt_tokens", promptTokens, 0...SpecLimits.tokens)
        check("gen_tokens", genTokens, 0...SpecLimits.tokens)
        if promptTokens == 0 && genTokens == 0 { p.append("prompt_tokens and gen_tokens are both 0: nothing to run") }
        check("warmup", warmup, 0...SpecLimits.warmup)
        check("repetitions", repetitions, 1...SpecLimits.repetitions)
        if let depth { check("depth", depth, 0...SpecLimits.tokens) }
        if let maxRepetitions {
            check("max_repetitions", maxRepetitions, 1...SpecLimits.repetitions)
            if maxRepetitions < repetitions { p.append("max_repetitions (\(maxRepetitions)) must be at least repetitions (\(repetitions))") }
        }
        if let targetHalfWidth, !(targetHalfWidth >= 0 && targetHalfWidth.isFinite) {
            p.append("target_half_width must be a number, 0 or more (got \(targetHalfWidth))")
        }
        if let cpu = cpus.first(where: { $0 < 0 || $0 > 65_535 }) { p.append("cpus must be CPU numbers 0 to 65535 (got \(cpu))") }
        if let sampling { p += sampling.problems() }
        if let sustainSeconds, !(sustainSeconds >= 1 && sustainSeconds <= SpecLimits.timeoutSeconds) {
            p.append("sustain_seconds must be 1 to \(Int(SpecLimits.timeoutSeconds)) (got \(sustainSeconds))")
        }
        return p
    }

    public var loadOptions: LoadOptions {
        LoadOptions(threads: threads, cpus: cpus, context: context, sequences: batch,
                    batchTokens: Self.batchTokens(prompt: promptTokens, depth: depth ?? 0, batch: batch), kvType: kvType, numa: numa)
    }

    /// Tokens one forward pass may take: the prompt (or the depth fill) up to 512, and never
    /// fewer than the sequences a decode step advances together (llama.cpp asserts on a step
    /// with more outputs than its batch size).
    public static func batchTokens(prompt: Int, depth: Int, batch: Int) -> Int {
        max(min(512, max(prompt, depth, 1)), batch)
    }
}

/// JSON coding used on the protocol: snake_case keys, sorted for stable files.
public enum ProtocolJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    /// Converts a Codable value to the protocol's JSON value.
    public static func value<T: Encodable>(_ v: T) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: encoder().encode(v))
    }

    /// Reads a Codable value out of a protocol JSON value; the error names the missing field.
    public static func read<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try decoder().decode(T.self, from: JSONEncoder().encode(value))
    }

    /// "field `a.b`: what is wrong", for a decoding failure.
    public static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        // Keys as they appear on the wire (snake_case), not as Swift spells them.
        func wire(_ key: String) -> String {
            key.reduce(into: "") { out, c in
                if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
            }
        }
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? wire($0.stringValue) }.joined(separator: ".")
            return p.isEmpty ? "top level" : p
        }
        switch error {
        case let .keyNotFound(key, context):
            let parent = path(context)
            return "missing field '\(parent == "top level" ? wire(key.stringValue) : parent + "." + wire(key.stringValue))'"
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return "field '\(path(context))': \(context.debugDescription)"
        case let .dataCorrupted(context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// What a spec may ask for. A mistyped or hostile spec (`prompt: 0..9223372036854775807`) is an
/// error naming its key, not a trap or an attempt to build billions of runs. docs/sweep-spec.md
/// states these bounds.
public enum SpecLimits {
    /// Values one axis may list or a range may produce.
    public static let valuesPerAxis = 1024
    /// Grid points (the product of the axes' value counts, before filters).
    public static let gridPoints = 100_000
    public static let threads = 4096
    public static let batch = 4096
    /// Prompt, generated and depth tokens per sequence.
    public static let tokens = 1 << 20
    public static let warmup = 1000
    public static let repetitions = 10_000
    public static let timeoutSeconds = 7 * 86_400.0
    public static let cooldownSeconds = 3600.0
    /// Quality chunk length: the baseline's log-probabilities for half a chunk are held in memory.
    public static let qualityContext = QualityEvaluation.maxContext
    public static let qualityChunks = 10_000

    /// `168h`, `1h` or `90s`.
    public static func duration(_ seconds: Double) -> String {
        seconds.truncatingRemainder(dividingBy: 3600) == 0 ? "\(Int(seconds / 3600))h" : "\(Int(seconds))s"
    }
}
