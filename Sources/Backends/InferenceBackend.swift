import Engine
import Foundation

/// What a backend can do, so a sweep skips what it cannot run instead of failing it.
public struct BackendCapabilities: Sendable, Codable, Equatable {
    /// Tensor type names it runs ("*" for every type slmbench reads).
    public var types: [String]
    /// Most sequences it decodes together.
    public var maxSequences: Int
    public var kvTypes: [String]
    /// Whether the thread count is a real option.
    public var threads: Bool
    /// Whether it reports one timestamp per decode step (else only a total).
    public var perTokenTimes: Bool
    /// Whether it returns logits (needed for quality runs).
    public var logits: Bool
}

/// Identity recorded in every result.
public struct BackendIdentity: Sendable, Codable, Equatable {
    public var name: String
    public var version: String
    /// Build details: build number, commit, compiler, kernel set.
    public var build: [String: String]

    public init(name: String, version: String, build: [String: String] = [:]) {
        self.name = name
        self.version = version
        self.build = build
    }
}

/// How a model is loaded for a run.
public struct LoadOptions: Sendable, Codable, Equatable {
    public var threads: Int
    public var cpus: [Int]
    public var context: Int
    public var sequences: Int
    public var batchTokens: Int
    public var kvType: KVType
    public var numa: NumaPolicy
    /// The native engine's kernel set (nil: the best this CPU runs); other backends choose their own.
    public var kernels: KernelLevel?
    /// The native engine's 8-bit activation rounding (nil: none); llama.cpp refuses any other.
    public var activationQuant: ActivationQuant?

    public init(threads: Int = 1, cpus: [Int] = [], context: Int = 2048, sequences: Int = 1, batchTokens: Int = 512,
                kvType: KVType = .f32, numa: NumaPolicy = .default, kernels: KernelLevel? = nil, activationQuant: ActivationQuant? = nil) {
        self.threads = threads
        self.cpus = cpus
        self.context = context
        self.sequences = sequences
        self.batchTokens = batchTokens
        self.kvType = kvType
        self.numa = numa
        self.kernels = kernels
        self.activationQuant = activationQuant
    }
}

/// Bytes a loaded model holds, as the backend accounts them (nil where it cannot tell).
public struct BackendMemory: Sendable, Codable, Equatable {
    public var weightsBytes: Int?
    public var kvCacheBytes: Int?
    public var scratchBytes: Int?

    public init(weightsBytes: Int? = nil, kvCacheBytes: Int? = nil, scratchBytes: Int? = nil) {
        self.weightsBytes = weightsBytes
        self.kvCacheBytes = kvCacheBytes
        self.scratchBytes = scratchBytes
    }
}

/// A monotonic-clock interval a backend took around one of its own calls.
public struct CallTiming: Sendable, Equatable {
    public var startNanoseconds: UInt64
    public var endNanoseconds: UInt64
    public var seconds: Double { Double(endNanoseconds &- startNanoseconds) / 1e9 }

    /// Times `body` with the monotonic clock.
    public static func measure(_ body: () throws -> Void) rethrows -> CallTiming {
        let start = MonotonicClock.now()
        try body()
        return CallTiming(startNanoseconds: start, endNanoseconds: MonotonicClock.now())
    }
}

public enum MonotonicClock {
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// Why a backend cannot do what was asked. `code` goes into the worker's error line.
public struct BackendError: Error, Sendable, CustomStringConvertible, Equatable {
    public var code: String
    public var message: String
    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// One inference engine behind slmbench's measurement code. Backends execute and time their
/// own calls; warm-up, repetitions and metrics belong to the caller (`Workloads`).
public protocol InferenceBackend: AnyObject {
    var identity: BackendIdentity { get }
    var capabilities: BackendCapabilities { get }
    /// Loads the model; after this the backend can prefill and decode.
    func load(modelPath: String, options: LoadOptions) throws(BackendError)
    var vocabularySize: Int { get }
    /// Runs `tokens` into the cache of `sequence`. Logits: for the last token, or every token.
    func prefill(_ tokens: [Int32], sequence: Int, allLogits: Bool) throws(BackendError) -> CallTiming
    /// One step for several sequences, one token each; logits row i belongs to steps[i].
    func decode(_ steps: [(sequence: Int, token: Int32)]) throws(BackendError) -> CallTiming
    /// Row `i` of the logits the last call produced (valid until the next call).
    func logits(_ i: Int) -> UnsafeBufferPointer<Float>
    /// Forgets a sequence's cache.
    func clear(sequence: Int)
    var memory: BackendMemory { get }
    func unload()
}
