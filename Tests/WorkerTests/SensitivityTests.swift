import Engine
import Foundation
import ModelFormat
import Testing
import TestSupport
@testable import Worker

/// `models sensitivity` on a synthetic F32 model with one tensor made fragile on purpose: every
/// 32-element block of `blk.0.ffn_down` (its weights ten times the others') holds one outlier 40 times
/// its largest weight, so a 4-bit block scale set by it rounds the block's other 31 weights to zero.
/// That tensor must rank first.
@Suite("sensitivity")
struct SensitivityTests {
    static let damaged = "blk.0.ffn_down.weight"

    static func model(damage: Bool) throws -> String {
        var shape = GGUFFixtures.ModelShape()
        shape.layers = 2; shape.width = 64; shape.heads = 4; shape.kvHeads = 2; shape.feedForward = 128; shape.vocabulary = 96
        shape.type = .f32
        let clean = try GGUFFile(bytes: GGUFFixtures.model(shape), name: "fixture.gguf")
        var writer = GGUFWriter()
        writer.metadata = clean.metadata
        for t in clean.tensors {
            var floats = try Quantization.dequantize(Array(clean.data(for: t)), type: .f32, count: t.elementCount)
            if damage && t.name == damaged {
                // Ten times louder than its neighbours in the residual stream, so its error is what the logits see.
                for i in floats.indices { floats[i] *= 10 }
                let scale = floats.map(abs).max()!
                for block in stride(from: 0, to: floats.count, by: 32) { floats[block] = 40 * scale }
            }
            writer.tensors.append(GGUFTensorSpec(name: t.name, shape: t.shape, type: .f32, bytes: floats.withUnsafeBytes { Array($0) }))
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sens-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        return path
    }

    static let tokens: [Int32] = (0..<128).map { Int32(($0 * 37 + 11) % 96) }

    @Test func theDamagedTensorRanksFirstAndTheWeightsArePutBack() throws {
        let path = try Self.model(damage: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try GGUFFile(path: path)
        let units = SensitivityAnalysis.units(of: file, by: .tensor)
        #expect(units.count == 1 + 2 * 7, "embedding (tied) and seven matrices per layer: \(units.map(\.name))")
        let analysis = SensitivityAnalysis(context: 64, chunks: 2, threads: 1)
        let measured = try analysis.run(f32Path: path, tokens: Self.tokens, units: units, types: [.q4_0], progress: { _ in })
        let ranked = measured.entries.sorted { $0.meanKLD > $1.meanKLD }
        #expect(ranked[0].unit == Self.damaged, "ranked: \(ranked.prefix(4).map { "\($0.unit) \($0.meanKLD)" })")
        #expect(ranked[0].meanKLD > 1.5 * ranked[1].meanKLD, "\(ranked[0].meanKLD) vs \(ranked[1].meanKLD)")
        #expect(measured.entries.allSatisfy { $0.meanKLD >= 0 && $0.meanKLD.isFinite && $0.tensors.count == 1 })
        #expect(measured.scored == 2 * (64 - 1 - 32))
        // Each unit is restored after its run: measuring the same unit twice, alone, gives the same figure.
        let again = try analysis.run(f32Path: path, tokens: Self.tokens, units: [units.last!, units.last!], types: [.q4_0], progress: { _ in })
        #expect(again.entries[0].meanKLD == again.entries[1].meanKLD)
        #expect(again.entries[0].meanKLD == measured.entries.last!.meanKLD)
        // F32 "quantization" is the identity: no loss at all.
        let identity = try analysis.run(f32Path: path, tokens: Self.tokens, units: [units[0]], types: [.f32], progress: { _ in })
        #expect(identity.entries[0].meanKLD == 0 && identity.entries[0].top1Agreement == 1)
    }

    /// With Hessians, a unit of a type GPTQ fills is quantized by GPTQ: its row is tagged gptq and
    /// differs from the round trip; a unit without a Hessian keeps the round trip, untagged; the
    /// weights are put back either way.
    @Test func gptqRowsAreTaggedAndTheWeightsArePutBack() throws {
        let path = try Self.model(damage: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try GGUFFile(path: path)
        let engine = try Transformer(weights: try ModelWeights(file: file), options: EngineOptions(threads: 1, context: 64, batchTokens: 64))
        let hessians = try HessianCollector.collect(engine, tokens: Self.tokens.map(Int.init), bos: nil, context: 64, chunks: 2, dataset: "tokens",
                                                    wanted: ["blk.1.attn_v.weight"])
        let units = SensitivityAnalysis.units(of: file, by: .tensor).filter { ["blk.1.attn_v.weight", "blk.1.ffn_up.weight"].contains($0.name) }
        let type = try #require(TensorType(name: "lab3g32a"))
        let analysis = SensitivityAnalysis(context: 64, chunks: 2, threads: 1)
        let rounded = try analysis.run(f32Path: path, tokens: Self.tokens, units: units, types: [type])
        let compensated = try analysis.run(f32Path: path, tokens: Self.tokens, units: units, types: [type], hessians: hessians)
        let again = try analysis.run(f32Path: path, tokens: Self.tokens, units: units, types: [type], hessians: hessians)
        #expect(compensated.entries.map(\.method) == ["rtn", "gptq"] || compensated.entries.map(\.method) == ["gptq", "rtn"])
        for (r, g) in zip(rounded.entries, compensated.entries) {
            #expect(r.unit == g.unit)
            if g.method == "gptq" { #expect(g.meanKLD != r.meanKLD, "\(g.unit): GPTQ gave the round trip's figure") }
            else { #expect(g.meanKLD == r.meanKLD) }
        }
        #expect(again.entries.map(\.meanKLD) == compensated.entries.map(\.meanKLD), "the weights were not put back")
    }

    @Test func unitsGroupByLayerAndKind() throws {
        let path = try Self.model(damage: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try GGUFFile(path: path)
        let layers = SensitivityAnalysis.units(of: file, by: .layer)
        #expect(layers.map(\.name) == ["token_embd.weight", "layer 0", "layer 1"])
        #expect(layers[1].tensors.count == 7 && layers[1].tensors.allSatisfy { $0.hasPrefix("blk.0.") })
        let kinds = SensitivityAnalysis.units(of: file, by: .kind)
        #expect(kinds.map(\.name) == ["attn_q", "attn_k", "attn_v", "attn_o", "ffn_gate", "ffn_up", "ffn_down", "embedding"])
        #expect(kinds.allSatisfy { $0.kind != nil && ($0.kind == .embedding ? $0.tensors.count == 1 : $0.tensors.count == 2) })
        // --tensors keeps the units with a tensor it finds: the embedding alone, or one kind across layers.
        let tensors = SensitivityAnalysis.units(of: file, by: .tensor)
        #expect(try SensitivityAnalysis.units(tensors, matching: "^token_embd").map(\.name) == ["token_embd.weight"])
        #expect(try SensitivityAnalysis.units(tensors, matching: "ffn_down").map(\.name) == ["blk.0.ffn_down.weight", "blk.1.ffn_down.weight"])
        #expect(try SensitivityAnalysis.units(layers, matching: "blk\\.1\\.").map(\.name) == ["layer 1"])
        #expect(try SensitivityAnalysis.units(tensors, matching: "^nothing$").isEmpty)
        #expect { try SensitivityAnalysis.units(tensors, matching: "([") } throws: { "\($0)".contains("--tensors '([' is not a valid regular expression") }
        // A quantized file is refused: the round trip needs F32 values to overwrite.
        let q8 = FileManager.default.temporaryDirectory.appendingPathComponent("sens-q8-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: q8) }
        try ModelQuantizer.quantize(file, to: .q8_0, output: q8)
        #expect { try SensitivityAnalysis(context: 64, chunks: 1).run(f32Path: q8, tokens: Self.tokens, units: [layers[0]], types: [.q4_0]) } throws: { error in
            "\(error)".contains("needs the F32 conversion")
        }
    }
}
