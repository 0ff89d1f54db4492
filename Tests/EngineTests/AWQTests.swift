@testable import Engine
import Foundation
import ModelFormat
import TestSupport
import Testing

/// AWQ: its factors fold into the model without changing what it computes, the α search keeps
/// round to nearest when the activations give it nothing to work with and beats it on an
/// outlier channel.
@Suite("AWQ", .serialized)
struct AWQTests {
    /// Pseudo-random values in [-1, 1) (SplitMix64).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float((z ^ (z >> 31)) >> 40) / Float(1 << 23) - 1
        }
    }

    /// A synthetic F32 model of a test preset, its own file (SmoothQuant's suite may run beside this one).
    static func model(_ preset: String) throws -> (path: String, weights: ModelWeights) {
        let tokenizer = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("awq-\(preset)-f32.gguf").path
        try SyntheticModel.generate(preset: ArchitecturePreset.named(preset)!, type: .f32, seed: 3, tokenizer: tokenizer, output: path)
        return (path, try ModelWeights(path: path))
    }

    /// Hand-made mean |x| per channel with a wide spread and outliers, for every block matrix.
    static func meanAbs(_ weights: ModelWeights) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (i, layer) in weights.layers.enumerated() {
            for (names, width) in [([layer.query, layer.key, layer.value], layer.query.columns), ([layer.attentionOutput], layer.attentionOutput.columns),
                                   ([layer.gate, layer.up], layer.gate.columns), ([layer.down], layer.down.columns)] {
                var m = values(width, seed: UInt64(i * 10 + width)).map { abs($0) * 2 + 0.01 }
                m[1] = 40; m[width / 2] = 15
                for w in names { out[w.name] = m }
            }
        }
        return out
    }

    /// Folding AWQ's factors (1/s into the norms, V's and up's rows) leaves the F32 model's logits
    /// as they were, on a GQA model (tiny), one with q/k/v biases (tiny-qwen2) and one with fused
    /// q/k/v and gate/up tensors (tiny-phi3).
    @Test(arguments: ["tiny", "tiny-qwen2", "tiny-phi3"])
    func foldingKeepsTheF32Logits(preset: String) throws {
        let (path, weights) = try Self.model(preset)
        let means = Self.meanAbs(weights)
        let plan = ChannelScaling.plan(weights: weights) { input in
            AWQ.factors(meanAbs: means[input.matrices[0].name]!, channel: input.channel, count: input.factorCount, alpha: 0.6)
        }
        #expect(plan.skipped.isEmpty && plan.scaled.count == 7 * weights.layers.count, "\(plan.skipped)")
        let scales = plan.edits.values.flatMap { ($0.columnScale ?? []) + ($0.rowScale ?? []) }
        #expect(scales.contains { $0 > 3 || $0 < 1 / 3 }, "the factors move something")
        let output = path.replacingOccurrences(of: ".gguf", with: "-awq.gguf")
        try ModelQuantizer.quantize(try GGUFFile(path: path), mix: QuantMix(type: .f32), output: output, edits: plan.edits)
        let reference = try SmoothQuantTests.logits(weights)
        let error = SmoothQuantTests.relative(try SmoothQuantTests.logits(try ModelWeights(path: output)), reference)
        #expect(error < 1e-4, "\(preset): AWQ's scaling changed the F32 logits by \(error)")
    }

    @Test func factorsAreNormalisedPowersOfTheMeans() throws {
        let s = try #require(AWQ.factors(meanAbs: [1, 4, 16, 0], channel: [0, 1, 2, 3], count: 4, alpha: 0.5))
        // Means floored at 1e-4 of the largest: 16^0.5 = 4, 0.0016^0.5 = 0.04, √(4 · 0.04) = 0.4.
        for (a, b) in zip(s, [1 / 0.4, 2 / 0.4, 4 / 0.4, 0.04 / 0.4] as [Float]) { #expect(abs(a - b) < 1e-4 * b, "\(s)") }
        #expect(AWQ.factors(meanAbs: [3, 3], channel: [0, 1], count: 2, alpha: 0.7) == [1, 1])
        #expect(AWQ.factors(meanAbs: [0, 0], channel: [0, 1], count: 2, alpha: 0.7) == nil)
        // Channels that share a factor average their means.
        let shared = try #require(AWQ.factors(meanAbs: [1, 3, 4], channel: [0, 0, 1], count: 2, alpha: 1))
        #expect(abs(shared[0] * shared[1] - 1) < 1e-5 && abs(shared[1] / shared[0] - 2) < 1e-5, "\(shared)")
    }

    /// One matrix of `rows` × `columns` F32 weights and sampled input rows, searched at `type`.
    static func search(type: TensorType, meanAbs: [Float], samples: [Float], rows: Int, seed: UInt64) throws -> AWQ.Choice? {
        let columns = meanAbs.count
        let w = values(rows * columns, seed: seed).map { $0 * 0.05 }
        return try w.withUnsafeBytes { bytes in
            let matrix = try WeightMatrix(name: "blk.0.attn_output.weight", type: .f32, rows: rows, columns: columns, bytes: bytes)
            let input = ChannelScaling.SharedInput(layer: 0, kind: .attentionOutput, matrices: [matrix], channel: Array(0..<columns), factorCount: columns)
            return try AWQ.search(input, activations: AWQ.Activations(meanAbs: meanAbs, rows: samples), types: [type], threads: 2)
        }
    }

    /// With every channel equally active the factors are 1 at every α: the search keeps α = 0
    /// (round to nearest), and its error is round to nearest's.
    @Test(arguments: [TensorType.q4_0, TensorType(name: "lab3g64a")!])
    func uniformActivationsKeepRoundToNearest(type: TensorType) throws {
        let columns = 128
        let samples = Self.values(32 * columns, seed: 4)
        let choice = try #require(try Self.search(type: type, meanAbs: Array(repeating: 0.5, count: columns), samples: samples, rows: 48, seed: 9))
        #expect(choice.alpha == 0 && choice.error == choice.roundToNearestError && choice.factors.allSatisfy { $0 == 1 }, "\(choice.alpha)")
    }

    /// A few channels far more active than the rest: a positive α protects their weights, and the
    /// output error drops below round to nearest's.
    @Test(arguments: [TensorType.q4_0, TensorType(name: "lab3g64a")!, TensorType(name: "lab4g128a")!])
    func outlierChannelsGetScaledUp(type: TensorType) throws {
        let columns = 128, sampleRows = 64
        let loud: Set<Int> = [3, 70, 101]
        var samples = Self.values(sampleRows * columns, seed: 8).map { $0 * 0.2 }
        for r in 0..<sampleRows { for c in loud { samples[r * columns + c] *= 60 } }
        var meanAbs = [Float](repeating: 0, count: columns)
        for r in 0..<sampleRows { for c in 0..<columns { meanAbs[c] += abs(samples[r * columns + c]) / Float(sampleRows) } }
        let choice = try #require(try Self.search(type: type, meanAbs: meanAbs, samples: samples, rows: 64, seed: 12))
        #expect(choice.alpha > 0, "\(type.name): α \(choice.alpha)")
        #expect(choice.error < 0.8 * choice.roundToNearestError, "\(type.name): \(choice.error) vs round to nearest's \(choice.roundToNearestError)")
        #expect(loud.allSatisfy { choice.factors[$0] > choice.factors[0] })
    }

    @Test func calibrationCoversEveryBlockMatrixWithSampledRows() throws {
        let (_, weights) = try Self.model("tiny")
        let engine = try Transformer(weights: weights, options: EngineOptions(threads: 2, context: 32))
        let tokens = (0..<70).map { ($0 * 37) % 500 + 3 }
        var done: [Int] = []
        let (activations, chunks) = try AWQ.activations(engine, tokens: tokens, bos: 1, context: 32, chunks: nil, sampleRows: 10) { n, _ in done.append(n) }
        #expect(chunks == 2 && done == [1, 2] && engine.activationObserver == nil)
        for layer in weights.layers {
            for w in [layer.query, layer.key, layer.value, layer.attentionOutput, layer.gate, layer.up, layer.down] {
                let a = try #require(activations[w.name], "\(w.name) has no activations")
                #expect(a.columns == w.columns && a.rowCount == 10 && a.meanAbs.allSatisfy { $0 >= 0 && $0.isFinite } && a.meanAbs.contains { $0 > 0 })
            }
        }
        #expect(throws: AWQ.Failure.self) { try AWQ.activations(engine, tokens: [1, 2, 3], bos: nil, context: 32, chunks: nil) }
    }
}
