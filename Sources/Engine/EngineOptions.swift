/// The element type of the KV cache: f32 or f16 elements, or q8_0 / q4_0 blocks of 32 along
/// the head dimension (llama.cpp's `-ctk`/`-ctv` types of the same names).
public enum KVType: String, Sendable, Codable, CaseIterable {
    case f32, f16, q8_0, q4_0

    /// Bytes of one cache row of `width` elements (a multiple of 32 for the block types).
    public func rowBytes(_ width: Int) -> Int {
        switch self {
        case .f32: return width * 4
        case .f16: return width * 2
        case .q8_0: return width / 32 * 34
        case .q4_0: return width / 32 * 18
        }
    }

    /// Bytes per element on average (34/32 for q8_0, 18/32 for q4_0).
    public var bytesPerElement: Double { Double(rowBytes(32)) / 32 }

    /// Stored as blocks of 32 that attention reads as integers.
    public var isBlock: Bool { self == .q8_0 || self == .q4_0 }

    /// ggml's type id, as llama.cpp's `type_k`/`type_v` take it.
    public var ggmlType: Int32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q8_0: return 8
        }
    }

    /// The names, for messages: "f32, f16, q8_0 or q4_0".
    public static var namesForMessages: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
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
