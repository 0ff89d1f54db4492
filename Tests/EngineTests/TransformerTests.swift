@testable import Engine
import Foundation
import ModelFormat
import TestSupport
import Testing

@Suite("transformer", .serialized)
struct TransformerTests {
    static let tokens: [Int32] = [1, 17, 300, 42, 5, 511, 77, 8, 230, 99, 3]

    /// A synthetic model of a test preset in `type`, written to a temporary folder.
    static func model(_ preset: String, _ type: TensorType) throws -> ModelWeights {
        let tokenizer = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let dir = try TestPaths.temporaryDirectory()
        let path = dir.appendingPathComponent("\(preset)-\(type.name).gguf").path
        try SyntheticModel.generate(preset: ArchitecturePreset.named(preset)!, type: type, seed: 3, tokenizer: tokenizer, output: path)
        return try ModelWeights(path: path)
    }

    /// Largest |a − b| over all logits, relative to the largest |b|.
    static func relativeError(_ a: LogitRows, _ b: [[Double]]) -> Double {
        var worst = 0.0, scale = 0.0
        for i in 0..<b.count {
            for (j, reference) in b[i].enumerated() {
                worst = max(worst, abs(Double(a[i][j]) - reference))
                scale = max(scale, abs(reference))
            }
        }
        return worst / scale
    }

    @Test(arguments: [("tiny", 2e-5), ("tiny-qwen2", 2e-5), ("tiny-qwen3", 2e-5), ("tiny-smollm3", 2e-5), ("tiny-phi3", 2e-5)])
    func f32ModelMatchesDoublePrecisionReference(preset: String, tolerance: Double) throws {
        let weights = try Self.model(preset, .f32)
        let reference = ReferenceForward(weights: weights).logits(Self.tokens)
        for level in KernelLevel.allCases where level.isSupported {
            let engine = try Transformer(weights: weights, options: EngineOptions(threads: 2, context: 32, kernels: level))
            let logits = try engine.prefill(Self.tokens, allLogits: true)
            let error = Self.relativeError(logits, reference)
            #expect(error < tolerance, "\(preset) \(level): relative error \(error)")
        }
    }

    @Test(arguments: [TensorType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .f16, TensorType(name: "lab4g32a")!, TensorType(name: "lab4g32s")!,
                      TensorType(name: "lab6g32s")!])
    func quantizedModelsStayCloseToTheReferenceOfTheirOwnWeights(type: TensorType) throws {
        // The same dequantized weights in double precision: what is left is the engine's
        // 8-bit activations and float arithmetic.
        let weights = try Self.model("tiny", type)
        let reference = ReferenceForward(weights: weights).logits(Self.tokens)
        let engine = try Transformer(weights: weights, options: EngineOptions(threads: 2, context: 32))
        let error = Self.relativeError(try engine.prefill(Self.tokens, allLogits: true), reference)
        let bound = weights.embedding.directFormat == .f32 || weights.embedding.directFormat == nil ? 2e-5 : 2e-2
        #expect(error < bound, "\(type.name): relative error \(error)")
    }

    @Test func prefillInChunksAndTokenByTokenAgree() throws {
        let weights = try Self.model("tiny", .q8_0)
        let whole = try Transformer(weights: weights, options: EngineOptions(threads: 2, context: 32, batchTokens: 64))
        let all = try whole.prefill(Self.tokens, allLogits: true)
        let wholeRows = (0..<Self.tokens.count).map { Array(all[$0]) }
        let chunked = try Transformer(weights: weights, options: EngineOptions(threads: 1, context: 32, batchTokens: 4))
        let chunkRows = try chunked.prefill(Self.tokens, allLogits: true)
        let stepwise = try Transformer(weights: weights, options: EngineOptions(threads: 2, context: 32))
        for (i, token) in Self.tokens.enumerated() {
            let step = i == 0 ? try stepwise.prefill([token]) : try stepwise.decode([(slot: 0, token: token)])
            #expect(Array(step[0]) == wholeRows[i], "token \(i): one at a time differs from the whole prompt")
            #expect(Array(chunkRows[i]) == wholeRows[i], "token \(i): chunks of 4 differ from one pass")
        }
    }

    @Test func sequencesDecodedTogetherMatchEachDecodedAlone() throws {
        let weights = try Self.model("tiny", .q4_0)
        let prompts: [[Int32]] = [[5, 6, 7], [100, 200], [9, 9, 9, 9, 9]]
        let together = try Transformer(weights: weights, options: EngineOptions(threads: 2, context: 32, sequences: 3))
        var next: [Int32] = []
        for (s, p) in prompts.enumerated() { next.append(Sampler.argmax(try together.prefill(p, slot: s)[0])) }
        var batched: [[Int32]] = [[], [], []]
        for _ in 0..<6 {
            let rows = try together.decode((0..<3).map { (slot: $0, token: next[$0]) })
            for s in 0..<3 {
                next[s] = Sampler.argmax(rows[s])
                batched[s].append(next[s])
            }
        }
        for (s, p) in prompts.enumerated() {
            let alone = try Transformer(weights: weights, options: EngineOptions(threads: 1, context: 32))
            var token = Sampler.argmax(try alone.prefill(p)[0])
            var tokens: [Int32] = []
            for _ in 0..<6 {
                token = Sampler.argmax(try alone.decode([(slot: 0, token: token)])[0])
                tokens.append(token)
            }
            #expect(tokens == batched[s], "sequence \(s)")
        }
    }

    @Test func f16CacheStaysCloseToF32() throws {
        let weights = try Self.model("tiny", .f32)
        let a = try Transformer(weights: weights, options: EngineOptions(context: 32, kvType: .f32))
        let b = try Transformer(weights: weights, options: EngineOptions(context: 32, kvType: .f16))
        let x = try a.prefill(Self.tokens, allLogits: true)
        let reference = (0..<Self.tokens.count).map { i in x[i].map(Double.init) }
        let error = Self.relativeError(try b.prefill(Self.tokens, allLogits: true), reference)
        #expect(error > 0 && error < 2e-3, "f16 cache relative error \(error)")
        #expect(b.memory.kvCache * 2 == a.memory.kvCache)
    }

    @Test func memoryIsCountedFromWhatIsHeld() throws {
        let weights = try Self.model("tiny", .q8_0)
        let engine = try Transformer(weights: weights, options: EngineOptions(context: 40, sequences: 2))
        let c = weights.config
        #expect(engine.memory.kvCache == 2 * c.layers * 2 * 40 * c.kvWidth * 4)
        let fileTensorBytes = weights.file.tensors.reduce(0) { $0 + $1.byteCount }
        #expect(engine.memory.weights == fileTensorBytes) // 1-D tensors are F32 in the file and as copies
    }

    @Test func contextOverflowAndBadTokensAreErrors() throws {
        let weights = try Self.model("tiny", .q8_0)
        let engine = try Transformer(weights: weights, options: EngineOptions(context: 4))
        #expect(throws: EngineError.contextFull(sequence: 0, needed: 5, context: 4)) { try engine.prefill([1, 2, 3, 4, 5]) }
        #expect(engine.lengths == [0], "a refused batch leaves the cache as it was")
        #expect(throws: EngineError.self) { try engine.prefill([512]) }
        #expect(throws: EngineError.self) { try engine.decode([(slot: 1, token: 3)]) }
    }

    @Test func realModelContinuesAFactualPromptCoherently() throws {
        let file = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let weights = try ModelWeights(file: file)
        let tokenizer = try Tokenizer(file: file)
        let engine = try Transformer(weights: weights, options: EngineOptions(threads: 2, context: 64))
        var token = Sampler.argmax(try engine.prefill(tokenizer.encode("The capital of France is").map(Int32.init))[0])
        var out: [Int] = [Int(token)]
        for _ in 0..<6 {
            token = Sampler.argmax(try engine.decode([(slot: 0, token: token)])[0])
            out.append(Int(token))
        }
        let text = try tokenizer.decode(out)
        #expect(text.contains("Paris"), "continuation: \(text.debugDescription)")
    }
}

@Suite("sampler")
struct SamplerTests {
    static let logits: [Float] = [0.1, 2.5, -1, 2.4, 0, 1.9, -3, 2.45]

    @Test func greedyIsArgmax() {
        var s = Sampler(.greedy)
        Self.logits.withUnsafeBufferPointer { #expect(s.next($0) == 1) }
    }

    @Test func sameSeedSameTokensAndTopKOneIsGreedy() {
        let options = SamplingOptions(temperature: 1.0, topK: 0, topP: 1, seed: 9)
        var a = Sampler(options), b = Sampler(options)
        var first: [Int32] = [], second: [Int32] = []
        Self.logits.withUnsafeBufferPointer { l in
            for _ in 0..<50 { first.append(a.next(l)); second.append(b.next(l)) }
        }
        #expect(first == second)
        #expect(Set(first).count > 2, "temperature 1 draws several tokens: \(first)")
        var k1 = Sampler(SamplingOptions(temperature: 1.0, topK: 1, seed: 3))
        Self.logits.withUnsafeBufferPointer { l in for _ in 0..<20 { #expect(k1.next(l) == 1) } }
    }

    @Test func topPKeepsOnlyTheNucleus() {
        // Probabilities at temperature 1: tokens 1, 7, 3 hold ~70%; p = 0.5 keeps at most those.
        var s = Sampler(SamplingOptions(temperature: 1.0, topP: 0.5, seed: 4))
        Self.logits.withUnsafeBufferPointer { l in
            for _ in 0..<100 { #expect([1, 7, 3].contains(s.next(l))) }
        }
    }

    @Test func badOptionsAreRefused() {
        #expect(throws: EngineError.self) { try SamplingOptions(temperature: -1).validate() }
        #expect(throws: EngineError.self) { try SamplingOptions(topP: 0).validate() }
        #expect(throws: EngineError.self) { try SamplingOptions(topK: -2).validate() }
    }
}
