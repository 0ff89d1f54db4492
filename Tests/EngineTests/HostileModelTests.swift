import Engine
import Foundation
import ModelFormat
import TestSupport
import Testing

/// Model files whose metadata lies: loading them must give an EngineError naming the key, never
/// a trap (an overflowing product), and never name the file (the caller does, once).
@Suite("hostile model metadata")
struct HostileModelTests {
    static func load(_ metadata: [(String, GGUFValue)]) throws -> ModelWeights {
        try ModelWeights(file: GGUFFile(bytes: GGUFFixtures.model(metadata: metadata), name: "hostile.gguf"))
    }

    @Test func theFixtureItselfLoads() throws {
        let weights = try Self.load([])
        #expect(weights.layers[0].query.rows == 32 && weights.config.kvWidth == 16)
    }

    /// (metadata laid over a valid model, a word the error must contain)
    static let lies: [([(String, GGUFValue)], String)] = [
        // heads × head size wraps a 64-bit integer: 2^32 × 2^32.
        ([("llama.attention.head_count", .uint64(1 << 32)), ("llama.attention.head_count_kv", .uint64(1 << 32)),
          ("llama.attention.key_length", .uint64(1 << 32))], "head_count"),
        ([("llama.attention.head_count", .uint64(3_037_000_500)), ("llama.attention.head_count_kv", .uint64(3_037_000_500)),
          ("llama.attention.key_length", .uint64(3_037_000_500))], "head_count"),
        ([("llama.attention.head_count", .uint32(2)), ("llama.attention.head_count_kv", .int64(-1))], "inconsistent hyperparameters"),
        ([("llama.attention.head_count", .uint32(0))], "inconsistent hyperparameters"),
        ([("llama.block_count", .int64(Int64.min))], "inconsistent hyperparameters"),
        ([("llama.rope.dimension_count", .uint32(0))], "inconsistent hyperparameters"),
        ([("llama.rope.freq_base", .float32(.nan))], "rope.freq_base"),
        ([("llama.rope.freq_base", .float64(1e300))], "rope.freq_base"),
        ([("llama.rope.freq_base", .float32(-1))], "rope.freq_base"),
        ([("llama.attention.layer_norm_rms_epsilon", .float32(.infinity))], "layer_norm_rms_epsilon"),
        ([("llama.embedding_length", .string("wide"))], "embedding_length"),
    ]

    @Test(arguments: lies.indices)
    func lyingMetadataIsAnErrorNamingTheKey(index: Int) throws {
        let (metadata, word) = Self.lies[index]
        do {
            _ = try Self.load(metadata)
            Issue.record("loaded a model whose metadata says \(metadata)")
        } catch {
            #expect("\(error)".contains(word), "\(error)")
            #expect(!"\(error)".contains("hostile.gguf"), "the caller names the file: \(error)")
        }
    }
}
