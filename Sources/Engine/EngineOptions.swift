/// The element type of the KV cache.
public enum KVType: String, Sendable, Codable, CaseIterable {
    case f32, f16
    public var bytes: Int { self == .f32 ? 4 : 2 }
}

/// Where the engine's memory goes on NUMA machines.
public enum NumaPolicy: String, Sendable, Codable, CaseIterable {
    /// The kernel's default (first touch).
    case `default`
    /// Pages spread round-robin over every node (libnuma interleave).
    case interleave
    /// Pages on the node of the thread that touches them (libnuma local allocation).
    case local
}

/// How a model runs: threads and where they go, context, batch and cache layout.
public struct EngineOptions: Sendable, Equatable {
    public var threads: Int
    /// Logical CPUs (OS indexes) to pin threads to, in member order; empty leaves them unpinned.
    public var cpus: [Int]
    /// Positions each sequence can hold.
    public var context: Int
    /// Sequences decoded together, each with its own cache slot.
    public var sequences: Int
    /// Most tokens one forward pass processes; longer prompts go in several passes.
    public var batchTokens: Int
    public var kvType: KVType
    public var kernels: KernelLevel
    public var numa: NumaPolicy

    public init(threads: Int = 1, cpus: [Int] = [], context: Int = 2048, sequences: Int = 1,
                batchTokens: Int = 512, kvType: KVType = .f32, kernels: KernelLevel = .best, numa: NumaPolicy = .default) {
        self.threads = threads
        self.cpus = cpus
        self.context = context
        self.sequences = sequences
        self.batchTokens = batchTokens
        self.kvType = kvType
        self.kernels = kernels
        self.numa = numa
    }

    func validate() throws(EngineError) {
        guard threads >= 1 else { throw .invalidOption("threads must be at least 1, got \(threads)") }
        guard context >= 1 else { throw .invalidOption("context must be at least 1 position, got \(context)") }
        guard sequences >= 1 else { throw .invalidOption("sequences must be at least 1, got \(sequences)") }
        guard batchTokens >= 1 else { throw .invalidOption("batch tokens must be at least 1, got \(batchTokens)") }
        guard kernels.isSupported else { throw .invalidOption("this CPU cannot run \(kernels.rawValue) kernels") }
    }
}
