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

/// 8-bit activations (W8A8 studies): each block matrix's input quantized to int8, symmetric,
/// and back to floats before the matrix multiplies it (a simulation of the rounding: the
/// multiply itself stays the weight type's kernel). The output matrix's input is not quantized.
public enum ActivationQuant: String, Sendable, Codable, CaseIterable {
    /// Floats as they are (the default).
    case none
    /// One scale per token (per row of the input): largest |x| of the row / 127.
    case perToken = "per-token"
    /// One scale for the whole input of the forward pass: every token of the batch. Dynamic, so
    /// it depends on how tokens are batched (a one-token decode step is per token).
    case perTensor = "per-tensor"

    /// The names, for messages: "none, per-token or per-tensor".
    public static var namesForMessages: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// Quantizes `rows` × `columns` floats at `x` to int8 and back, in place: scale s = largest
    /// |x| (of the row or of all) / 127, x ← round(x / s) · s, so |x − q(x)| ≤ s/2. Rows that
    /// are all zero stay zero.
    public func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        func roundTrip(_ base: UnsafeMutablePointer<Float>, count: Int, amax: Float) {
            guard amax > 0, amax.isFinite else { return }
            let scale = amax / 127, inverse = 127 / amax
            for i in 0..<count { base[i] = max(-127, min(127, (base[i] * inverse).rounded())) * scale }
        }
        func largest(_ base: UnsafeMutablePointer<Float>, count: Int) -> Float {
            var amax: Float = 0
            for i in 0..<count { amax = max(amax, abs(base[i])) }
            return amax
        }
        switch self {
        case .none: return
        case .perToken:
            for r in 0..<rows { roundTrip(x + r * columns, count: columns, amax: largest(x + r * columns, count: columns)) }
        case .perTensor:
            roundTrip(x, count: rows * columns, amax: largest(x, count: rows * columns))
        }
    }
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
    /// 8-bit rounding of each block matrix's input (`ActivationQuant`); `.none` by default.
    public var activationQuant: ActivationQuant

    public init(threads: Int = 1, cpus: [Int] = [], context: Int = 2048, sequences: Int = 1,
                batchTokens: Int = 512, kvType: KVType = .f32, kernels: KernelLevel = .best, numa: NumaPolicy = .default,
                activationQuant: ActivationQuant = .none) {
        self.threads = threads
        self.cpus = cpus
        self.context = context
        self.sequences = sequences
        self.batchTokens = batchTokens
        self.kvType = kvType
        self.kernels = kernels
        self.numa = numa
        self.activationQuant = activationQuant
    }

    func validate() throws(EngineError) {
        guard threads >= 1 else { throw .invalidOption("threads must be at least 1, got \(threads)") }
        guard context >= 1 else { throw .invalidOption("context must be at least 1 position, got \(context)") }
        guard sequences >= 1 else { throw .invalidOption("sequences must be at least 1, got \(sequences)") }
        guard batchTokens >= 1 else { throw .invalidOption("batch tokens must be at least 1, got \(batchTokens)") }
        guard kernels.isSupported else { throw .invalidOption("this CPU cannot run \(kernels.rawValue) kernels") }
    }
}
