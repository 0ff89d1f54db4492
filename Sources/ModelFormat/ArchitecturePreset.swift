/// The shapes of a real model, for synthetic files with its exact parameter count and memory.
public struct ArchitecturePreset: Sendable, Equatable {
    public let name: String
    /// GGUF `general.architecture`: `llama` or `qwen2` (attention biases).
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

    public var headDimension: Int { embedding / heads }
    public var hasAttentionBias: Bool { architecture == "qwen2" }

    /// The tensors of the model, in llama.cpp's names and GGUF shape order (row length first).
    public var tensorShapes: [(name: String, shape: [Int])] {
        let kv = kvHeads * headDimension
        var tensors: [(String, [Int])] = [("token_embd.weight", [embedding, vocabulary])]
        for layer in 0..<layers {
            let p = "blk.\(layer)."
            tensors.append((p + "attn_norm.weight", [embedding]))
            tensors.append((p + "attn_q.weight", [embedding, embedding]))
            tensors.append((p + "attn_k.weight", [embedding, kv]))
            tensors.append((p + "attn_v.weight", [embedding, kv]))
            if hasAttentionBias {
                tensors.append((p + "attn_q.bias", [embedding]))
                tensors.append((p + "attn_k.bias", [kv]))
                tensors.append((p + "attn_v.bias", [kv]))
            }
            tensors.append((p + "attn_output.weight", [embedding, embedding]))
            tensors.append((p + "ffn_norm.weight", [embedding]))
            tensors.append((p + "ffn_gate.weight", [embedding, feedForward]))
            tensors.append((p + "ffn_up.weight", [embedding, feedForward]))
            tensors.append((p + "ffn_down.weight", [feedForward, embedding]))
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
                           source: "Qwen/Qwen2.5-0.5B config.json (0.49B)"),
        ArchitecturePreset(name: "llama-3.2-1b", architecture: "llama", layers: 16, embedding: 2048, heads: 32, kvHeads: 8,
                           feedForward: 8192, vocabulary: 128_256, contextLength: 131_072, ropeTheta: 500_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: true, publishedParameters: 1_235_814_400,
                           source: "meta-llama/Llama-3.2-1B config.json (1.24B)"),
        ArchitecturePreset(name: "tinyllama-1.1b", architecture: "llama", layers: 22, embedding: 2048, heads: 32, kvHeads: 4,
                           feedForward: 5632, vocabulary: 32000, contextLength: 2048, ropeTheta: 10_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: false, publishedParameters: 1_100_048_384,
                           source: "TinyLlama/TinyLlama-1.1B config.json (1.1B)"),
        // Test shapes: small enough for unit tests, still GQA with several layers.
        ArchitecturePreset(name: "tiny", architecture: "llama", layers: 2, embedding: 64, heads: 4, kvHeads: 2,
                           feedForward: 128, vocabulary: 512, contextLength: 256, ropeTheta: 10_000, rmsEpsilon: 1e-5,
                           tiedEmbeddings: true, publishedParameters: nil, source: "slmbench test shape"),
        ArchitecturePreset(name: "tiny-qwen2", architecture: "qwen2", layers: 2, embedding: 64, heads: 4, kvHeads: 2,
                           feedForward: 128, vocabulary: 512, contextLength: 256, ropeTheta: 1_000_000, rmsEpsilon: 1e-6,
                           tiedEmbeddings: false, publishedParameters: nil, source: "slmbench test shape"),
    ]

    public static func named(_ name: String) -> ArchitecturePreset? { all.first { $0.name == name.lowercased() } }
}
