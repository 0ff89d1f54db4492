import Foundation
import ModelFormat
import Reporter
import TestSupport
import Testing
import Workloads

/// `report --sensitivity FILE.json` with a file measured per tensor (or per layer): the saved
/// document round-trips, and the heat map it makes has a cell per layer × kind.
@Suite("sensitivity heat map from a saved file")
struct SensitivityHeatMapFileTests {
    static let kinds: [TensorKind] = [.attentionQ, .attentionK, .attentionV, .attentionOutput, .ffnGate, .ffnUp, .ffnDown]
    static let suffix: [TensorKind: String] = [.attentionQ: "attn_q", .attentionK: "attn_k", .attentionV: "attn_v",
                                               .attentionOutput: "attn_output", .ffnGate: "ffn_gate", .ffnUp: "ffn_up", .ffnDown: "ffn_down"]

    /// SmolLM2-135M's units per tensor: 30 layers × 7 kinds and the tied embedding, in two types.
    static func byTensor(layers: Int = 30) -> SensitivityReport {
        var entries: [SensitivityReport.Entry] = []
        for (t, type) in ["iq4_nl", "lab4g32q"].enumerated() {
            for layer in 0..<layers {
                for (k, kind) in kinds.enumerated() {
                    let name = "blk.\(layer).\(suffix[kind]!).weight"
                    entries.append(.init(unit: name, layer: layer, kind: kind, type: type,
                                         tensors: [.init(name: name, type: type, parameters: 576 * 576, bytes: 1000)],
                                         meanKLD: 1e-4 * Double(k + 1) * Double(layer + 1) / Double(t + 1), deltaPerplexity: 0.01, top1Agreement: 0.99))
                }
            }
            entries.append(.init(unit: "token_embd.weight", layer: nil, kind: .embedding, type: type,
                                 tensors: [.init(name: "token_embd.weight", type: type, parameters: 49152 * 576, bytes: 1000)],
                                 meanKLD: 0.05, deltaPerplexity: 0.5, top1Agreement: 0.9))
        }
        return SensitivityReport(model: "SmolLM2-135M-Instruct.Q4_1.gguf", modelSHA256: "ab", grouping: .tensor, tiedOutput: true,
                                 corpus: "GFDL-1.3", context: 128, chunks: 1, scoredPositions: 63, baselinePerplexity: 12.5,
                                 method: "round trip", sourceWeightsCaveat: "the source weights are Q4_1", importance: "m.imatrix.gguf",
                                 entries: entries)
    }

    @Test func aPerTensorFileRoundTripsAndDrawsLayersTimesKinds() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.json").path
        let report = Self.byTensor()
        try report.write(to: path)
        #expect(try SensitivityReport.load(path: path) == report)

        let maps = try ReportInputs.heatMaps(sensitivityFile: path)
        #expect(maps.map(\.type) == ["iq4_nl", "lab4g32q"])
        for map in maps {
            let svg = map.render()
            #expect(svg.components(separatedBy: "class=\"cell\"").count - 1 == 30 * 7 + 1, "\(map.type): a cell per layer × kind and the embedding")
            for kind in ["attn_q", "attn_k", "attn_v", "attn_o", "ffn_gate", "ffn_up", "ffn_down", "embedding"] {
                #expect(svg.contains(">\(kind)</text>"), "\(map.type): column \(kind)")
            }
            #expect(svg.contains(">layer 0</text>") && svg.contains(">outside blocks</text>"))
            #expect(svg.contains("blk.29.ffn_down.weight in \(map.type)"))
            #expect(svg.contains("mean KLD †") && svg.contains("nats, log scale"), "the legend names the measure, its unit and the source mark")
            #expect(svg.contains("1 chunk of 128 tokens, 63 scored positions, scale searches weighted by m.imatrix.gguf"), "the caption says what each figure rests on")
            #expect(svg.contains("† the source weights are Q4_1"))
        }
    }

    @Test func aPerLayerFileDrawsOneCellPerLayer() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var report = Self.byTensor()
        report.grouping = .layer
        report.entries = (0..<30).map { layer in
            .init(unit: "layer \(layer)", layer: layer, kind: nil, type: "q4_0", tensors: [], meanKLD: 0.001 * Double(layer + 1),
                  deltaPerplexity: 0, top1Agreement: 1)
        }
        let path = dir.appendingPathComponent("l.json").path
        try report.write(to: path)
        let svg = try #require(try ReportInputs.heatMaps(sensitivityFile: path).first).render()
        #expect(svg.components(separatedBy: "class=\"cell\"").count - 1 == 30)
        #expect(svg.contains(">all kinds</text>"))
    }
}
