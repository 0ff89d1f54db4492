/// The shapes of a real model, for synthetic files with its exact parameter count and memory.
public struct ArchitecturePreset: Sendable, Equatable {
    public let name: String
    /// GGUF `general.architecture`: `llama`, `qwen2` (attention biases), `qwen3` (per-head Q/K
    /// norms), `smollm3` (Llama tensors; every fourth layer without RoPE), `phi3` (fused QKV
    /// and gate-up matrices), `gemma3` (Q/K norms, post-norms, GeGLU, sliding-window layers) or
    /// `olmo2` (norms after attention and FFN only, Q/K norms over the whole width; a test shape
    /// of an architecture only llama.cpp runs).
    public let architecture: String
    public let layers: Int
    public let embedding: Int
    public let heads: Int
    public let kvHeads: Int
    public let feedForward: Int
    public let vocabulary: Int
    public let contextLength: Int
    public let ropeTheta: Double
    public let rmsEpsilon: Double
    /// True when the output head reuses the token embedding.
    public let tiedEmbeddings: Bool
    /// Parameter count the model's authors publish (model card / config), for checking the
    /// shapes; nil for slmbench's own test shapes.
    public let publishedParameters: Int?
    /// Where the shapes come from.
    public let source: String
    /// The size of one attention head where it is not `embedding / heads` (Qwen3: 128).
    public var keyLength: Int? = nil
    /// How far `publishedParameters` may be from the count of these shapes: 0 where the count is
    /// exact (read from a real file), else the rounding of the model card's figure ("0.6B").
    public var publishedRounding: Int = 0
    /// Gemma 3: the window of its local attention layers (five of every six).
    public var slidingWindow: Int? = nil
    /// The tokenizer synthetic files of this preset carry (its real family's; SmolLM2's for
    /// SmolLM2 and the test shapes).
    public var vocabularySource: SyntheticVocabulary = .smolLM2

    public var headDimension: Int { keyLength ?? embedding / heads }
    public var hasAttentionBias: Bool { architecture == "qwen2" }
    /// Per-head RMSNorm weights on queries and keys (`attn_q_norm`, `attn_k_norm`).
    public var hasQueryKeyNorms: Bool { architecture == "qwen3" || architecture == "gemma3" }
    /// RMSNorms on the attention and feed-forward outputs before each residual add.
    public var hasPostNorms: Bool { architecture == "gemma3" || architecture == "olmo2" }
    /// OLMo 2 normalises only after attention and FFN, and its Q/K norms span all heads.
    var isOLMo2: Bool { architecture == "olmo2" }
    /// One `attn_qkv` matrix (Q rows, then K, then V) and one `ffn_up` holding gate then up.
    public var hasFusedProjections: Bool { architecture == "phi3" }

    /// The tensors of the model, in llama.cpp's names and GGUF shape order (row length first).
    public var tensorShapes: [(name: String, shape: [Int])] {
        let kv = kvHeads * headDimension, queries = heads * headDimension
        var tensors: [(String, [Int])] = [("token_embd.weight", [embedding, vocabulary])]
        for layer in 0..<layers {
            let p = "blk.\(layer)."
            if !isOLMo2 { tensors.append((p + "attn_norm.weight", [embedding])) }
            if hasFusedProjections {
                tensors.append((p + "attn_qkv.weight", [embedding, queries + 2 * kv]))
            } else {
                tensors.append((p + "attn_q.weight", [embedding, queries]))
                tensors.append((p + "attn_k.weight", [embedding, kv]))
                tensors.append((p + "attn_v.weight", [embedding, kv]))
            }
            if hasAttentionBias {
                tensors.append((p + "attn_q.bias", [queries]))
                tensors.append((p + "attn_k.bias", [kv]))
                tensors.append((p + "attn_v.bias", [kv]))
            }
            if isOLMo2 {
                tensors.append((p + "attn_q_norm.weight", [queries]))
                tensors.append((p + "attn_k_norm.weight", [kv]))
            }
            if hasQueryKeyNorms {
                tensors.append((p + "attn_q_norm.weight", [headDimension]))
                tensors.append((p + "attn_k_norm.weight", [headDimension]))
            }
            tensors.append((p + "attn_output.weight", [queries, embedding]))
            if hasPostNorms { tensors.append((p + "post_attention_norm.weight", [embedding])) }
            if !isOLMo2 { tensors.append((p + "ffn_norm.weight", [embedding])) }
            if hasFusedProjections {
                tensors.append((p + "ffn_up.weight", [embedding, 2 * feedForward]))
            } else {
                tensors.append((p + "ffn_gate.weight", [embedding, feedForward]))
                tensors.append((p + "ffn_up.weight", [embedding, feedForward]))
            }
            tensors.append((p + "ffn_down.weight", [feedForward, embedding]))
            if hasPostNorms { tensors.append((p + "post_ffw_norm.weight", [embedding])) }
        }
        tensors.append(("output_norm.weight", [embedding]))
        if !tiedEmbeddings { tensors.append(("output.weight", [embedding, vocabulary])) }
        return tensors
    }

    public var parameterCount: Int { tensorShapes.map { $0.shape.reduce(1, *) }.reduce(0, +) }

    public static let all: [ArchitecturePreset] = [
        ArchitecturePreset(name: "smollm2-135m", architecture: "llama", layers: 30, embedding: 576, heads: 9, kvHeads: 3,
                           feedForward: 1536, vocabulary: 49152, contextLength: 8192, ropeTheta: 100_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: true, publishedParameters: 134_515_008,
                           source: "HuggingFaceTB/SmolLM2-135M config.json; count as the real GGUF has it"),
        ArchitecturePreset(name: "smollm2-360m", architecture: "llama", layers: 32, embedding: 960, heads: 15, kvHeads: 5,
                           feedForward: 2560, vocabulary: 49152, contextLength: 8192, ropeTheta: 100_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: true, publishedParameters: 361_821_120,
                           source: "HuggingFaceTB/SmolLM2-360M config.json (362M)"),
        ArchitecturePreset(name: "smollm2-1.7b", architecture: "llama", layers: 24, embedding: 2048, heads: 32, kvHeads: 32,
                           feedForward: 8192, vocabulary: 49152, contextLength: 8192, ropeTheta: 130_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: true, publishedParameters: 1_711_376_384,
                           source: "HuggingFaceTB/SmolLM2-1.7B config.json (1.71B)"),
        ArchitecturePreset(name: "qwen2.5-0.5b", architecture: "qwen2", layers: 24, embedding: 896, heads: 14, kvHeads: 2,
                           feedForward: 4864, vocabulary: 151_936, contextLength: 32768, ropeTheta: 1_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: 494_032_768,
                           source: "Qwen/Qwen2.5-0.5B config.json (0.49B)",
                           vocabularySource: .llamaCpp("qwen2")),
        ArchitecturePreset(name: "llama-3.2-1b", architecture: "llama", layers: 16, embedding: 2048, heads: 32, kvHeads: 8,
                           feedForward: 8192, vocabulary: 128_256, contextLength: 131_072, ropeTheta: 500_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: true, publishedParameters: 1_235_814_400,
                           source: "meta-llama/Llama-3.2-1B config.json (1.24B)",
                           vocabularySource: .llamaCpp("llama-bpe")),
        ArchitecturePreset(name: "tinyllama-1.1b", architecture: "llama", layers: 22, embedding: 2048, heads: 32, kvHeads: 4,
                           feedForward: 5632, vocabulary: 32000, contextLength: 2048, ropeTheta: 10_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: false, publishedParameters: 1_100_048_384,
                           source: "TinyLlama/TinyLlama-1.1B config.json (1.1B)",
                           vocabularySource: .llamaCpp("llama-spm")),
        ArchitecturePreset(name: "qwen2.5-1.5b", architecture: "qwen2", layers: 28, embedding: 1536, heads: 12, kvHeads: 2,
                           feedForward: 8960, vocabulary: 151_936, contextLength: 32768, ropeTheta: 1_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: 1_540_000_000,
                           source: "Qwen/Qwen2.5-1.5B config.json; model card: 1.54B", publishedRounding: 5_000_000,
                           vocabularySource: .llamaCpp("qwen2")),
        ArchitecturePreset(name: "llama-3.2-3b", architecture: "llama", layers: 28, embedding: 3072, heads: 24, kvHeads: 8,
                           feedForward: 8192, vocabulary: 128_256, contextLength: 131_072, ropeTheta: 500_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: true, publishedParameters: 3_210_000_000,
                           source: "meta-llama/Llama-3.2-3B config.json; model card: 3.21B", publishedRounding: 5_000_000,
                           vocabularySource: .llamaCpp("llama-bpe")),
        ArchitecturePreset(name: "qwen3-0.6b", architecture: "qwen3", layers: 28, embedding: 1024, heads: 16, kvHeads: 8,
                           feedForward: 3072, vocabulary: 151_936, contextLength: 40960, ropeTheta: 1_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: 600_000_000,
                           source: "Qwen/Qwen3-0.6B config.json (head_dim 128); model card: 0.6B, 0.44B without embeddings",
                           keyLength: 128, publishedRounding: 50_000_000,
                           vocabularySource: .llamaCpp("qwen2")),
        ArchitecturePreset(name: "qwen3-1.7b", architecture: "qwen3", layers: 28, embedding: 2048, heads: 16, kvHeads: 8,
                           feedForward: 6144, vocabulary: 151_936, contextLength: 40960, ropeTheta: 1_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: 1_700_000_000,
                           source: "Qwen/Qwen3-1.7B config.json (head_dim 128); model card: 1.7B, 1.4B without embeddings",
                           keyLength: 128, publishedRounding: 50_000_000,
                           vocabularySource: .llamaCpp("qwen2")),
        ArchitecturePreset(name: "smollm3-3b", architecture: "smollm3", layers: 36, embedding: 2048, heads: 16, kvHeads: 4,
                           feedForward: 11008, vocabulary: 128_256, contextLength: 65536, ropeTheta: 5_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: 3_080_000_000,
                           source: "HuggingFaceTB/SmolLM3-3B config.json (no RoPE in every fourth layer); model card: 3.08B",
                           publishedRounding: 5_000_000,
                           vocabularySource: .llamaCpp("llama-bpe")),
        // Gemma 3's own vocabulary (SentencePiece) is not among llama.cpp's vocabulary files; Gemma 4's
        // has its size (262,144), its special-token ids (<pad> 0, <eos> 1, <bos> 2, <unk> 3, <mask> 4)
        // and its 256 byte tokens, so synthetic Gemma 3 files carry that.
        ArchitecturePreset(name: "gemma3-270m", architecture: "gemma3", layers: 18, embedding: 640, heads: 4, kvHeads: 1,
                           feedForward: 2048, vocabulary: 262_144, contextLength: 32768, ropeTheta: 1_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: 270_000_000,
                           source: "google/gemma-3-270m config.json (head_dim 256, sliding_window 512, local RoPE base 10000); "
                               + "model card: 270M (170M embedding, 100M transformer)", keyLength: 256, publishedRounding: 5_000_000,
                           slidingWindow: 512,
                           vocabularySource: .llamaCpp("gemma-4")),
        ArchitecturePreset(name: "gemma3-1b", architecture: "gemma3", layers: 26, embedding: 1152, heads: 4, kvHeads: 1,
                           feedForward: 6912, vocabulary: 262_144, contextLength: 32768, ropeTheta: 1_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: 1_000_000_000,
                           source: "google/gemma-3-1b-pt config.json (head_dim 256, sliding_window 512, local RoPE base 10000); model card: 1B",
                           keyLength: 256, publishedRounding: 50_000_000, slidingWindow: 512,
                           vocabularySource: .llamaCpp("gemma-4")),
        ArchitecturePreset(name: "phi-3.5-mini", architecture: "phi3", layers: 32, embedding: 3072, heads: 32, kvHeads: 32,
                           feedForward: 8192, vocabulary: 32064, contextLength: 131_072, ropeTheta: 10_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: false, publishedParameters: 3_820_000_000,
                           source: "microsoft/Phi-3.5-mini-instruct config.json (fused qkv_proj, gate_up_proj); model card: 3.8B; "
                               + "synthetic files carry no LongRoPE factors", publishedRounding: 5_000_000,
                           vocabularySource: .llamaCpp("phi-3")),
        // Test shapes: small enough for unit tests, still GQA with several layers.
        ArchitecturePreset(name: "tiny", architecture: "llama", layers: 2, embedding: 64, heads: 4, kvHeads: 2,
                           feedForward: 128, vocabulary: 512, contextLength: 256, ropeTheta: 10_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: true, publishedParameters: nil, source: "slmbench test shape"),
        ArchitecturePreset(name: "tiny-qwen2", architecture: "qwen2", layers: 2, embedding: 64, heads: 4, kvHeads: 2,
                           feedForward: 128, vocabulary: 512, contextLength: 256, ropeTheta: 1_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: false, publishedParameters: nil, source: "slmbench test shape"),
        ArchitecturePreset(name: "tiny-qwen3", architecture: "qwen3", layers: 2, embedding: 64, heads: 4, kvHeads: 2,
                           feedForward: 128, vocabulary: 512, contextLength: 256, ropeTheta: 1_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: nil, source: "slmbench test shape", keyLength: 32),
        ArchitecturePreset(name: "tiny-smollm3", architecture: "smollm3", layers: 4, embedding: 64, heads: 4, kvHeads: 2,
                           feedForward: 128, vocabulary: 512, contextLength: 256, ropeTheta: 5_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: nil, source: "slmbench test shape"),
        // Gemma 3-1B's attention shapes in six layers (five local, one global) with a 64-token
        // window, so that a 256-token test context reaches past it.
        ArchitecturePreset(name: "mini-gemma3", architecture: "gemma3", layers: 6, embedding: 1152, heads: 4, kvHeads: 1,
                           feedForward: 2048, vocabulary: 4096, contextLength: 512, ropeTheta: 1_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: nil, source: "slmbench test shape", keyLength: 256,
                           slidingWindow: 64),
        ArchitecturePreset(name: "tiny-olmo2", architecture: "olmo2", layers: 2, embedding: 64, heads: 4, kvHeads: 4,
                           feedForward: 128, vocabulary: 4096, contextLength: 256, ropeTheta: 500_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: false, publishedParameters: nil, source: "slmbench test shape (llama.cpp only)"),
        ArchitecturePreset(name: "tiny-phi3", architecture: "phi3", layers: 2, embedding: 64, heads: 4, kvHeads: 2,
                           feedForward: 128, vocabulary: 512, contextLength: 256, ropeTheta: 10_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: false, publishedParameters: nil, source: "slmbench test shape"),
        // Phi-3's width (GQA instead of its 32 KV heads, so that the fused matrix's K and V parts
        // differ in size from Q) in two layers, for the agreement with llama.cpp.
        ArchitecturePreset(name: "mini-phi3", architecture: "phi3", layers: 2, embedding: 3072, heads: 32, kvHeads: 8,
                           feedForward: 2048, vocabulary: 4096, contextLength: 512, ropeTheta: 10_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: false, publishedParameters: nil, source: "slmbench test shape"),
        // SmolLM3's attention width with four layers (the fourth without RoPE): at a tiny width,
        // random weights leave attention so flat that RoPE's presence barely moves the logits.
        ArchitecturePreset(name: "mini-smollm3", architecture: "smollm3", layers: 4, embedding: 2048, heads: 16, kvHeads: 4,
                           feedForward: 2048, vocabulary: 4096, contextLength: 512, ropeTheta: 5_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: true, publishedParameters: nil, source: "slmbench test shape"),
    ]

    public static func named(_ name: String) -> ArchitecturePreset? { all.first { $0.name == name.lowercased() } }
}
