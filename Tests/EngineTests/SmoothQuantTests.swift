@testable import Engine
import Foundation
import ModelFormat
import TestSupport
import Testing

@Suite("8-bit activations and SmoothQuant", .serialized)
struct SmoothQuantTests {
    static let tokens: [Int32] = [1, 17, 300, 42, 5, 511, 77, 8, 230, 99, 3]

    /// A synthetic F32 model of a test preset, written to a temporary folder.
    static func model(_ preset: String) throws -> (path: String, weights: ModelWeights) {
        let tokenizer = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("\(preset)-f32.gguf").path
        try SyntheticModel.generate(preset: ArchitecturePreset.named(preset)!, type: .f32, seed: 3, tokenizer: tokenizer, output: path)
        return (path, try ModelWeights(path: path))
    }

    static func logits(_ weights: ModelWeights, _ quant: ActivationQuant = .none) throws -> [[Float]] {
        let engine = try Transformer(weights: weights, options: EngineOptions(threads: 2, context: 32, activationQuant: quant))
        let rows = try engine.prefill(Self.tokens, allLogits: true)
        return (0..<rows.count).map { Array(rows[$0]) }
    }

    /// Largest |a − b| relative to the largest |b|.
    static func relative(_ a: [[Float]], _ b: [[Float]]) -> Float {
        var worst: Float = 0, scale: Float = 0
        for (x, y) in zip(a.joined(), b.joined()) { worst = max(worst, abs(x - y)); scale = max(scale, abs(y)) }
        return worst / scale
    }

    @Test func activationRoundingIsWithinHalfAStep() {
        let rows = 5, columns = 96
        var x = GGUFFixtures.values(rows * columns, seed: 21, scale: 3)
        x[7] = 250; x[3 * columns + 1] = -40 // outliers in rows 0 and 3
        for c in 0..<columns { x[2 * columns + c] = 0 } // a silent row
        for mode in [ActivationQuant.perToken, .perTensor] {
            var y = x
            y.withUnsafeMutableBufferPointer { mode.apply($0.baseAddress!, rows: rows, columns: columns) }
            for r in 0..<rows {
                let slice = mode == .perToken ? x[(r * columns)..<((r + 1) * columns)] : x[...]
                let scale = slice.map(abs).max()! / 127
                for c in 0..<columns {
                    let (a, b) = (x[r * columns + c], y[r * columns + c])
                    #expect(abs(a - b) <= scale / 2 * (1 + 1e-5), "\(mode) row \(r): |\(a) − \(b)| > \(scale / 2)")
                    if scale > 0 {
                        let code = b / scale
                        #expect(abs(code - code.rounded()) < 1e-3 && abs(code) <= 127.001, "\(mode): \(b) is not on the int8 grid")
                    }
                }
            }
            #expect(y[(2 * columns)..<(3 * columns)].allSatisfy { $0 == 0 }, "a zero row stays zero")
            #expect(y != x, "\(mode) rounded nothing")
        }
        // Per token, a row without the outlier keeps a fine grid; per tensor it shares the outlier's.
        var perToken = x, perTensor = x
        perToken.withUnsafeMutableBufferPointer { ActivationQuant.perToken.apply($0.baseAddress!, rows: rows, columns: columns) }
        perTensor.withUnsafeMutableBufferPointer { ActivationQuant.perTensor.apply($0.baseAddress!, rows: rows, columns: columns) }
        let row4 = (4 * columns)..<(5 * columns)
        let tokenError = zip(x[row4], perToken[row4]).map { abs($0 - $1) }.max()!
        let tensorError = zip(x[row4], perTensor[row4]).map { abs($0 - $1) }.max()!
        #expect(tensorError > 10 * tokenError, "per tensor \(tensorError) vs per token \(tokenError)")
    }

    @Test func theEngineRoundsBlockInputsOnlyWhenAsked() throws {
        let (_, weights) = try Self.model("tiny")
        let exact = try Self.logits(weights)
        let again = try Self.logits(weights, .none)
        #expect(Self.relative(again, exact) == 0)
        for mode in [ActivationQuant.perToken, .perTensor] {
            let rounded = try Self.logits(weights, mode)
            let error = Self.relative(rounded, exact)
            #expect(error > 0 && error < 0.05, "\(mode): relative logit error \(error)")
        }
    }

    @Test func factorsFollowThePaper() {
        let s = SmoothQuant.factors(activationMax: [4, 9, 0, 1, .infinity], weightMax: [1, 1, 2, 0, 1], alpha: 0.5)
        #expect(s == [2, 3, 1, 1, 1])
        #expect(SmoothQuant.factors(activationMax: [8], weightMax: [2], alpha: 1) == [8])
        #expect(SmoothQuant.factors(activationMax: [8], weightMax: [2], alpha: 0) == [0.5])
        for bad: Float in [-0.1, 1.5, .nan, .infinity] {
            #expect(throws: SmoothQuant.Failure.self) { try SmoothQuant.check(alpha: bad) }
        }
    }

    /// Hand-made activation maxima with a wide spread and outliers, for every block matrix.
    static func maxima(_ weights: ModelWeights) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (i, layer) in weights.layers.enumerated() {
            for (names, width) in [([layer.query, layer.key, layer.value], layer.query.columns), ([layer.attentionOutput], layer.attentionOutput.columns),
                                   ([layer.gate, layer.up], layer.gate.columns), ([layer.down], layer.down.columns)] {
                var m = GGUFFixtures.values(width, seed: UInt64(i * 10 + width)).map { abs($0) * 3 + 0.05 }
                m[1] = 60; m[width / 2] = 25
                for w in names { out[w.name] = m }
            }
        }
        return out
    }

    /// Smoothing is an equivalence: before quantization the smoothed F32 model computes the same
    /// logits, on a GQA model (tiny), one with q/k/v biases (tiny-qwen2), one with per-head q/k
    /// norms (tiny-qwen3), and one with fused q/k/v and gate/up tensors (tiny-phi3).
    @Test(arguments: ["tiny", "tiny-qwen2", "tiny-qwen3", "tiny-phi3"])
    func foldingKeepsTheF32Logits(preset: String) throws {
        let (path, weights) = try Self.model(preset)
        let plan = try SmoothQuant.plan(weights: weights, maxima: Self.maxima(weights), alpha: 0.5)
        let scales = plan.edits.values.flatMap { ($0.columnScale ?? []) + ($0.rowScale ?? []) }
        #expect(scales.contains { $0 > 2 || $0 < 0.5 }, "the factors move something")
        #expect(plan.skipped.isEmpty && plan.scaled.count == 7 * weights.layers.count, "\(plan.skipped)")
        if preset == "tiny-phi3" { #expect(plan.edits.keys.contains("blk.0.attn_qkv.weight") && plan.edits["blk.0.ffn_up.weight"]?.rowScale != nil) }
        let output = path.replacingOccurrences(of: ".gguf", with: "-smoothed.gguf")
        try ModelQuantizer.quantize(try GGUFFile(path: path), mix: QuantMix(type: .f32), output: output, edits: plan.edits)
        let smoothed = try ModelWeights(path: output)
        let reference = try Self.logits(weights)
        let error = Self.relative(try Self.logits(smoothed), reference)
        #expect(error < 1e-4, "\(preset): smoothing changed the F32 logits by \(error)")
        // The control: the matrices scaled without the folds is a different model.
        let unfolded = plan.edits.filter { !$0.key.contains("norm") }
        let broken = path.replacingOccurrences(of: ".gguf", with: "-unfolded.gguf")
        try ModelQuantizer.quantize(try GGUFFile(path: path), mix: QuantMix(type: .f32), output: broken, edits: unfolded)
        #expect(Self.relative(try Self.logits(try ModelWeights(path: broken)), reference) > 1e-2)
    }

    @Test func calibrationMaximaCoverEveryBlockMatrix() throws {
        let (_, weights) = try Self.model("tiny")
        let engine = try Transformer(weights: weights, options: EngineOptions(threads: 2, context: 32))
        let tokens = (0..<70).map { ($0 * 37) % 500 + 3 }
        var done: [Int] = []
        let (maxima, chunks) = try SmoothQuant.activationMaxima(engine, tokens: tokens, bos: 1, context: 32, chunks: nil) { n, _ in done.append(n) }
        #expect(chunks == 2 && done == [1, 2] && engine.activationObserver == nil)
        for layer in weights.layers {
            for w in [layer.query, layer.key, layer.value, layer.attentionOutput, layer.gate, layer.up, layer.down] {
                let m = try #require(maxima[w.name], "\(w.name) has no maxima")
                #expect(m.count == w.columns && m.allSatisfy { $0 >= 0 && $0.isFinite } && m.contains { $0 > 0 })
            }
        }
        #expect(throws: SmoothQuant.Failure.self) { try SmoothQuant.activationMaxima(engine, tokens: [1, 2, 3], bos: nil, context: 32, chunks: nil) }
    }
}
