import ModelFormat

/// How rotary embeddings pair the dimensions of a head.
public enum RopeStyle: String, Sendable {
    /// Adjacent pairs (2i, 2i+1): llama.cpp's "normal" mode, for Llama files whose Q/K rows
    /// the converter permuted.
    case adjacent
    /// Pairs (i, i + d/2): llama.cpp's "neox" mode (Qwen2 and others).
    case halves
}

/// What differs between Llama-family architectures. One file per architecture defines one of
/// these; `ArchitectureRegistry.all` lists them.
public struct Architecture: Sendable {
    /// `general.architecture` in GGUF; also the prefix of its hyperparameter keys.
    public let name: String
    public let rope: RopeStyle
    /// Q, K and V projections carry biases (`blk.N.attn_q.bias`, …).
    public let attentionBiases: Bool
    /// Each query and key head is RMS-normalised before RoPE (`blk.N.attn_q_norm.weight`, …).
    public var queryKeyNorms = false
    /// Layer i skips RoPE when (i + 1) is a multiple of this (SmolLM3's NoPE layers).
    public var noRopeLayerStep: Int? = nil
    /// Q, K and V come from one `attn_qkv` matrix (in that row order) and gate and up from one
    /// `ffn_up` matrix (gate rows first), as Phi-3 stores them. The engine reads each part as a
    /// matrix of its own: a row range of a GGUF matrix is itself a matrix.
    public var fusedProjections = false
    /// Gemma's extras: the embedding scaled by √width, RMSNorms on the attention and FFN outputs
    /// before their residual adds, GELU (tanh form) on the gate instead of SiLU, and layers of
    /// sliding-window attention (window and RoPE base from the file) with every
    /// `slidingWindowPattern`-th layer global.
    public var gemma = false
    public var slidingWindowPattern = 6
    /// The queries are multiplied by 1/√head_dim after RoPE and before attention, whose own
    /// scale is then 1, as llama.cpp's graphs for Phi-3 and Gemma 3 do. Not the same float steps
    /// as scaling the scores: the keys are f16, so each query is rounded to f16 after the scale.
    public var scalesQueries = false

    /// Whether layer `index` attends within a sliding window (Gemma 3's local layers).
    public func slides(layer index: Int, pattern: Int) -> Bool {
        gemma && pattern > 1 && index % pattern < pattern - 1
    }

    /// Whether layer `index` rotates its queries and keys.
    public func ropes(layer index: Int) -> Bool {
        guard let step = noRopeLayerStep, step > 0 else { return true }
        return (index + 1) % step != 0
    }
}

public enum ArchitectureRegistry {
    public static let all: [Architecture] = [.llama, .qwen2, .qwen3, .smollm3, .phi3, .gemma3]

    public static func named(_ name: String) -> Architecture? { all.first { $0.name == name } }
}

/// Hyperparameters of a loaded model, read from GGUF metadata.
public struct ModelConfig: Sendable, Equatable {
    public let architecture: String
    public let layers: Int
    public let width: Int
    public let heads: Int
    public let kvHeads: Int
    public let headDim: Int
    public let ffnWidth: Int
    public let vocabulary: Int
    public let trainedContext: Int
    public let ropeTheta: Float
    public let ropeDimensions: Int
    public let rmsEpsilon: Float
    /// Sliding-window attention (Gemma 3): the window, and the RoPE base of the windowed layers.
    public let slidingWindow: Int?
    public let slidingRopeTheta: Float
    /// Every this-many-th layer is global; the others are windowed (llama.cpp's default 6).
    public let slidingPattern: Int

    /// Rows of the query projection: heads × head size (checked at load not to overflow).
    public let queryWidth: Int
    /// Rows of the key and value projections: KV heads × head size.
    public let kvWidth: Int

    /// Errors name the metadata key, not the file: the caller that opened the file names it.
    init(file: GGUFFile, architecture: Architecture) throws(EngineError) {
        let a = architecture.name
        func int(_ key: String) throws(EngineError) -> Int {
            do { return try file.int("\(a).\(key)") } catch { throw .gguf(error.description) }
        }
        self.architecture = a
        layers = try int("block_count")
        width = try int("embedding_length")
        heads = try int("attention.head_count")
        kvHeads = file["\(a).attention.head_count_kv"]?.int ?? heads
        ffnWidth = try int("feed_forward_length")
        headDim = file["\(a).attention.key_length"]?.int ?? (heads > 0 ? width / heads : 0)
        trainedContext = file["\(a).context_length"]?.int ?? 2048
        ropeTheta = Float(file["\(a).rope.freq_base"]?.double ?? 10000)
        ropeDimensions = file["\(a).rope.dimension_count"]?.int ?? headDim
        rmsEpsilon = Float(file["\(a).attention.layer_norm_rms_epsilon"]?.double ?? 1e-5)
        if architecture.gemma, let window = file["\(a).attention.sliding_window"]?.int, window > 0 {
            slidingWindow = window
            if let pattern = file["\(a).attention.sliding_window_pattern"] {
                // A per-layer array of flags is llama.cpp's other form; only the period is read here.
                guard let n = pattern.int, n >= 1 else { throw .gguf("\(a).attention.sliding_window_pattern is not a positive integer (a per-layer array is not supported)") }
                slidingPattern = n
            } else {
                slidingPattern = architecture.slidingWindowPattern
            }
        } else {
            slidingWindow = nil
            slidingPattern = 1
        }
        slidingRopeTheta = Float(file["\(a).rope.freq_base_swa"]?.double ?? 10000)
        guard let embedding = file.tensor(named: "token_embd.weight"), embedding.shape.count == 2 else {
            throw .missingTensor("token_embd.weight")
        }
        vocabulary = embedding.shape[1]
        guard layers > 0, width > 0, heads > 0, kvHeads > 0, heads % kvHeads == 0, headDim > 0, headDim % 2 == 0,
              ropeDimensions > 0, ropeDimensions <= headDim, ropeDimensions % 2 == 0, ffnWidth > 0 else {
            throw .gguf("inconsistent hyperparameters (layers \(layers), width \(width), heads \(heads)/\(kvHeads), head size \(headDim), rope dims \(ropeDimensions), ffn \(ffnWidth))")
        }
        // Metadata may claim any head count and size; their products size the projections and
        // must not wrap (the tensors' shapes are compared with them next).
        let (queryWidth, queryOverflow) = heads.multipliedReportingOverflow(by: headDim)
        let (kvWidth, kvOverflow) = kvHeads.multipliedReportingOverflow(by: headDim)
        guard !queryOverflow, !kvOverflow else {
            throw .gguf("\(a).attention.head_count (\(heads)) × head size (\(headDim)) does not fit a 64-bit integer")
        }
        self.queryWidth = queryWidth
        self.kvWidth = kvWidth
        guard slidingRopeTheta.isFinite, slidingRopeTheta > 0 else { throw .gguf("\(a).rope.freq_base_swa is \(slidingRopeTheta); it must be a positive number") }
        guard ropeTheta.isFinite, ropeTheta > 0 else { throw .gguf("\(a).rope.freq_base is \(ropeTheta); it must be a positive number") }
        guard rmsEpsilon.isFinite, rmsEpsilon >= 0 else {
            throw .gguf("\(a).attention.layer_norm_rms_epsilon is \(rmsEpsilon); it must be a non-negative number")
        }
    }
}
