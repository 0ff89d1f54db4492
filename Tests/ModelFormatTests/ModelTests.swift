import Foundation
@testable import ModelFormat
import TestSupport
import Testing

@Suite("presets, synthetic models, quantize, inspect")
struct ModelTests {
    func realModel() throws -> GGUFFile {
        try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
    }

    @Test(arguments: ArchitecturePreset.all.filter { $0.publishedParameters != nil })
    func presetMatchesPublishedCount(preset: ArchitecturePreset) throws {
        // Exact where the figure was read from a real file; within the model card's rounding otherwise.
        let published = try #require(preset.publishedParameters)
        #expect(abs(preset.parameterCount - published) <= preset.publishedRounding, "\(preset.name): \(preset.parameterCount) against \(published)")
    }

    @Test func presetShapesMatchTheRealModel() throws {
        let file = try realModel()
        let preset = try #require(ArchitecturePreset.named("smollm2-135m"))
        let real = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.shape) })
        let synthetic = Dictionary(uniqueKeysWithValues: preset.tensorShapes.map { ($0.name, $0.shape) })
        #expect(real == synthetic)
        #expect(try file.int("llama.attention.head_count_kv") == preset.kvHeads)
    }

    @Test func inspectRealModel() throws {
        let summary = ModelSummary(file: try realModel())
        #expect(summary.architecture == "llama")
        #expect(summary.layers == 30 && summary.embedding == 576 && summary.heads == 9 && summary.kvHeads == 3)
        #expect(summary.feedForward == 1536 && summary.vocabulary == 49152)
        #expect(summary.parameters == 134_515_008)
        #expect(!summary.synthetic)
        #expect(summary.tensorTypes == ["F32": 61, "Q4_1": 210, "Q8_0": 1])
        // Tied embeddings: decoding reads the whole file's tensors once per token.
        #expect(summary.decodeBytesPerToken == summary.tensorBytes)
        #expect(abs(summary.bitsPerWeight - 5.744) < 0.001)
    }

    @Test func syntheticTinyModel() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokenizer = try realModel()
        let preset = try #require(ArchitecturePreset.named("tiny"))
        let a = dir.appendingPathComponent("a.gguf").path, b = dir.appendingPathComponent("b.gguf").path
        try SyntheticModel.generate(preset: preset, type: .q4_0, seed: 7, tokenizer: tokenizer, output: a)
        try SyntheticModel.generate(preset: preset, type: .q4_0, seed: 7, tokenizer: tokenizer, output: b)
        #expect(FileManager.default.contents(atPath: a) == FileManager.default.contents(atPath: b), "generation is not deterministic")
        let file = try GGUFFile(path: a)
        #expect(file["slmbench.synthetic"]?.bool == true)
        #expect(file["slmbench.preset"]?.string == "tiny")
        let summary = ModelSummary(file: file)
        #expect(summary.synthetic && summary.parameters == preset.parameterCount)
        #expect(summary.layers == 2 && summary.vocabulary == 512)
        #expect(file.tensor(named: "blk.0.attn_norm.weight")?.type == .f32)
        #expect(file.tensor(named: "blk.1.ffn_down.weight")?.type == .q4_0)
        // Merges kept for a cut vocabulary refer only to tokens that exist.
        let tokens = Set(try #require(file["tokenizer.ggml.tokens"]?.array?.strings))
        let merges = try #require(file["tokenizer.ggml.merges"]?.array?.strings)
        #expect(!merges.isEmpty)
        for merge in merges {
            let parts = merge.split(separator: " ").map(String.init)
            #expect(tokens.contains(parts[0]) && tokens.contains(parts[1]) && tokens.contains(parts[0] + parts[1]))
        }
        // Norms are ones; matrices have the spread of a 0.02 initialisation.
        let norm = try Quantization.dequantize(Array(file.data(for: file.tensor(named: "output_norm.weight")!)), type: .f32, count: 64)
        #expect(norm.allSatisfy { $0 == 1 })
        let q = file.tensor(named: "blk.0.attn_q.weight")!
        let w = try Quantization.dequantize(Array(file.data(for: q)), type: .q4_0, count: q.elementCount)
        let std = (w.map { Double($0 * $0) }.reduce(0, +) / Double(w.count)).squareRoot()
        #expect(std > 0.015 && std < 0.025)
        // Another seed gives other weights.
        try SyntheticModel.generate(preset: preset, type: .q4_0, seed: 8, tokenizer: tokenizer, output: b)
        #expect(FileManager.default.contents(atPath: a) != FileManager.default.contents(atPath: b))
    }

    @Test func syntheticQwen2HasBiasesAndUntiedHead() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("q.gguf").path
        let preset = try #require(ArchitecturePreset.named("tiny-qwen2"))
        try SyntheticModel.generate(preset: preset, type: .q8_0, tokenizer: try realModel(), output: path)
        let file = try GGUFFile(path: path)
        #expect(file["general.architecture"]?.string == "qwen2")
        #expect(file.tensor(named: "blk.0.attn_k.bias")?.shape == [32])
        #expect(file.tensor(named: "output.weight")?.type == .q8_0)
        #expect(ModelSummary(file: file).parameters == preset.parameterCount)
    }

    @Test func paddedVocabularyUsesUnusedPlaceholders() throws {
        var writer = GGUFWriter()
        let source = try realModel()
        try SyntheticModel.borrowTokenizer(from: source, vocabulary: 49152 + 100, into: &writer)
        let file = try GGUFFile(bytes: try writer.bytes())
        let tokens = try #require(file["tokenizer.ggml.tokens"]?.array?.strings)
        let types = try #require(file["tokenizer.ggml.token_type"]?.array?.ints)
        #expect(tokens.count == 49252 && types.count == 49252)
        #expect(tokens[49200] == "<|slmbench_pad_49200|>" && types[49200] == 5)
        #expect(file["tokenizer.ggml.merges"]?.array?.count == source["tokenizer.ggml.merges"]?.array?.count)
        #expect(file["tokenizer.ggml.pre"]?.string == "smollm")
    }

    /// Each preset's family vocabulary (llama.cpp's vocabulary file) has the preset's published
    /// vocabulary size, so synthetic files need no placeholder tokens, and its special tokens.
    @Test(arguments: ArchitecturePreset.all.filter { $0.vocabularySource != .smolLM2 })
    func familyVocabularyHasThePresetsSize(preset: ArchitecturePreset) throws {
        try #require(LlamaCppVocabularies.isPresent, Comment(rawValue: LlamaCppVocabularies.missingMessage))
        let source = try preset.vocabularySource.open(cache: .fromEnvironment(), for: preset.name)
        #expect(source["tokenizer.ggml.tokens"]?.array?.count == preset.vocabulary, "\(preset.name)")
        #expect(source["tokenizer.ggml.bos_token_id"] != nil && source["tokenizer.ggml.eos_token_id"] != nil, "\(preset.name)")
        var writer = GGUFWriter()
        try SyntheticModel.borrowTokenizer(from: source, vocabulary: preset.vocabulary, into: &writer)
        let file = try GGUFFile(bytes: try writer.bytes())
        #expect(file["tokenizer.ggml.token_type"] == source["tokenizer.ggml.token_type"], "\(preset.name)")
        #expect(file["tokenizer.ggml.scores"] == source["tokenizer.ggml.scores"], "\(preset.name)")
        #expect(file["tokenizer.ggml.bos_token_id"] == source["tokenizer.ggml.bos_token_id"], "\(preset.name)")
        _ = try Tokenizer(file: file)
    }

    @Test func aMissingFamilyVocabularyIsNamed() throws {
        let preset = try #require(ArchitecturePreset.named("qwen3-0.6b"))
        let empty = ModelCache(root: try TestPaths.temporaryDirectory())
        #expect {
            _ = try preset.vocabularySource.open(cache: empty, for: preset.name)
        } throws: { error in
            let text = "\(error)"
            return text.contains("ggml-vocab-qwen2.gguf") && text.contains("qwen3-0.6b") && text.contains("bootstrap.sh")
        }
    }

    @Test func quantizeRealModelToQ8_0() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try realModel()
        let out = dir.appendingPathComponent("q8.gguf").path
        let fallbacks = try ModelQuantizer.quantize(source, to: .q8_0, output: out)
        #expect(fallbacks.isEmpty)
        let file = try GGUFFile(path: out)
        #expect(ModelSummary(file: file).parameters == 134_515_008)
        #expect(file.tensors.filter { $0.shape.count == 2 }.allSatisfy { $0.type == .q8_0 })
        #expect(file.tensors.filter { $0.shape.count == 1 }.allSatisfy { $0.type == .f32 })
        #expect(file["tokenizer.ggml.tokens"]?.array?.count == 49152)
        #expect(file["slmbench.quantized_to"]?.string == "Q8_0")
        // Q8_0 of Q4_1 weights loses almost nothing.
        let name = "blk.3.ffn_up.weight"
        let original = try Quantization.dequantize(Array(source.data(for: source.tensor(named: name)!)), type: .q4_1, count: 576 * 1536)
        let requantized = try Quantization.dequantize(Array(file.data(for: file.tensor(named: name)!)), type: .q8_0, count: 576 * 1536)
        let rms = (original.map { Double($0 * $0) }.reduce(0, +) / Double(original.count)).squareRoot()
        let err = (zip(original, requantized).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / Double(original.count)).squareRoot()
        #expect(err < 0.01 * rms)
    }

    @Test func derivedModelsAreCachedByContent() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = ModelCache(root: dir)
        let source = dir.appendingPathComponent("tiny.gguf")
        try SyntheticModel.generate(preset: ArchitecturePreset.named("tiny")!, type: .f32, tokenizer: try realModel(), output: source.path)
        let first = try ModelQuantizer.ensure(source: source, type: .q4_0, cache: cache)
        let stamp = try FileManager.default.attributesOfItem(atPath: first.path)[.modificationDate] as? Date
        let again = try ModelQuantizer.ensure(source: source, type: .q4_0, cache: cache)
        #expect(again == first)
        #expect(try FileManager.default.attributesOfItem(atPath: again.path)[.modificationDate] as? Date == stamp, "the cached file was rewritten")
        #expect(try GGUFFile(path: first.path).tensor(named: "blk.0.attn_q.weight")?.type == .q4_0)
        // Other weights (another seed) get another file.
        try SyntheticModel.generate(preset: ArchitecturePreset.named("tiny")!, type: .f32, seed: 2, tokenizer: try realModel(), output: source.path)
        #expect(try ModelQuantizer.ensure(source: source, type: .q4_0, cache: cache) != first)
    }

    @Test func kTypesFallBackOnNarrowRows() {
        #expect(ModelQuantizer.effectiveType(.q4_K, rowLength: 576) == .q5_0)
        #expect(ModelQuantizer.effectiveType(.q6_K, rowLength: 576) == .q8_0)
        #expect(ModelQuantizer.effectiveType(.q4_K, rowLength: 1536) == .q4_K)
        #expect(ModelQuantizer.effectiveType(.q4_0, rowLength: 576) == .q4_0)
    }

    @Test func cacheFollowsTheEnvironment() {
        #expect(ModelCache.fromEnvironment(["SLMBENCH_CACHE": "/x/y"]).root.path == "/x/y")
        #expect(ModelCache.fromEnvironment(["HOME": "/home/u"]).root.path == "/home/u/.cache/slmbench")
        #expect(SyntheticModel.cacheName(preset: ArchitecturePreset.named("tiny")!, type: .q4_0, seed: 1) == "synthetic-tiny-q4_0-s1-g2.gguf")
    }
}
