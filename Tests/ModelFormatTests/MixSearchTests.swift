import Foundation
import Testing
@testable import ModelFormat

/// `models mix`'s search on SmolLM2-135M's shapes: 576-wide rows (not whole 256-element
/// K blocks, so K types fall back) and 1536-wide ffn_down rows (whole blocks).
@Suite("mixed-precision search")
struct MixSearchTests {
    static let model = MixModel(architecture: "llama", layers: 2, heads: 9, kvHeads: 3, tensors: [
        .init(name: "token_embd.weight", shape: [576, 4096]),
        .init(name: "blk.0.attn_norm.weight", shape: [576]),
        .init(name: "blk.0.attn_q.weight", shape: [576, 576]),
        .init(name: "blk.0.attn_v.weight", shape: [576, 192]),
        .init(name: "blk.0.ffn_down.weight", shape: [1536, 576]),
        .init(name: "blk.1.attn_q.weight", shape: [576, 576]),
        .init(name: "blk.1.ffn_down.weight", shape: [1536, 576]),
        .init(name: "output_norm.weight", shape: [576]),
    ])
    static let types: [TensorType] = [.q3_K, .q4_K, .q5_K, .q6_K]

    /// Sensitivities that fall with bits: each tensor's ΔKLD is its weight × 2^-bits of the type used.
    static func report(weights: [String: Double], types: [TensorType] = types, skip: [(String, TensorType)] = []) -> SensitivityReport {
        var entries: [SensitivityReport.Entry] = []
        for type in types {
            for t in model.tensors where t.shape.count > 1 {
                let used = ModelQuantizer.effectiveType(type, rowLength: t.shape[0])
                if skip.contains(where: { $0.0 == t.name && $0.1 == type }) { continue }
                let bits = used.bitsPerWeight!
                entries.append(.init(unit: t.name, layer: TensorKind.layer(of: t.name), kind: TensorKind(tensorName: t.name), type: type.name.lowercased(),
                                     tensors: [.init(name: t.name, type: used.name.lowercased(), parameters: t.shape.reduce(1, *),
                                                     bytes: used.rowBytes(t.shape[0])! * t.shape[1])],
                                     meanKLD: (weights[t.name] ?? 1) * pow(2, -bits), deltaPerplexity: 0, top1Agreement: 1))
            }
        }
        return SensitivityReport(model: "m.gguf", modelSHA256: "00", grouping: .tensor, tiedOutput: true, corpus: "c", context: 64, chunks: 1,
                                 scoredPositions: 31, baselinePerplexity: 10, method: "test", sourceWeightsCaveat: nil, entries: entries)
    }

    @Test(arguments: [4.2, 4.5, 5.0, 6.0])
    func theMixRespectsTheBudgetAndEachTensorsRows(budget: Double) throws {
        let search = try MixSearch(model: Self.model, types: Self.types, sensitivity: Self.report(weights: ["blk.0.attn_v.weight": 50]), file: "s.json")
        let result = try search.solve(budgetBytes: search.budgetBytes(bitsPerWeight: budget))
        #expect(result.bytes <= result.budgetBytes && result.bitsPerWeight <= budget, "\(result.bitsPerWeight) over \(budget)")
        for t in Self.model.tensors where t.shape.count > 1 {
            let type = try #require(result.types[t.name])
            #expect(type.rowBytes(t.shape[0]) != nil, "\(t.name) got \(type.name), whose blocks do not divide its rows of \(t.shape[0])")
            #expect(t.shape[0] != 576 || ![TensorType.q3_K, .q4_K, .q5_K, .q6_K].contains(type), "\(t.name): \(type.name)")
        }
        // The bytes the search counts are the bytes the mix file makes: its rules give every tensor the chosen type.
        let assigned = result.mix.assign(Self.model).types
        for (name, type) in result.types { #expect(assigned[name] == type, "\(name): mix assigns \(assigned[name]?.name ?? "nil"), chose \(type.name)") }
        let counted = Self.model.tensors.reduce(0) { $0 + (assigned[$1.name]!.rowBytes($1.shape[0])! * $1.shape.dropFirst().reduce(1, *)) }
        #expect(counted == result.bytes)
        // The additive prediction is the sum of the chosen tensors' measured ΔKLD.
        #expect(abs(result.predictedKLD - (search.predictedKLD(of: result.mix.assign(Self.model)) ?? -1)) < 1e-12)
    }

    /// lab4g32q's rows carry a 4-byte header (4.56 b/w on 576-wide rows, no fixed bits per
    /// weight): the search counts its row bytes, stays within the budget, and takes it where the
    /// budget allows over IQ4_NL at 4.5.
    @Test(arguments: [4.5, 4.53, 4.6, 5.2])
    func aTypeWithARowHeaderIsCountedByItsRowBytes(budget: Double) throws {
        let scaled = TensorType(name: "lab4g32q")!, small = TensorType(name: "lab3g32q")!, types = [small, .iq4_NL, scaled, .q4_1]
        let cost: [TensorType: Double] = [small: 0.1, .iq4_NL: 0.01, scaled: 0.008, .q4_1: 0.0079]
        var entries: [SensitivityReport.Entry] = []
        for type in types {
            for t in Self.model.tensors where t.shape.count > 1 {
                entries.append(.init(unit: t.name, layer: TensorKind.layer(of: t.name), kind: TensorKind(tensorName: t.name), type: type.name.lowercased(),
                                     tensors: [.init(name: t.name, type: type.name.lowercased(), parameters: t.shape.reduce(1, *),
                                                     bytes: type.rowBytes(t.shape[0])! * t.shape[1])],
                                     meanKLD: cost[type]!, deltaPerplexity: 0, top1Agreement: 1))
            }
        }
        let report = SensitivityReport(model: "m.gguf", modelSHA256: "00", grouping: .tensor, tiedOutput: true, corpus: "c", context: 64, chunks: 1,
                                       scoredPositions: 31, baselinePerplexity: 10, method: "test", sourceWeightsCaveat: nil, entries: entries)
        let search = try MixSearch(model: Self.model, types: types, sensitivity: report, file: "s.json")
        let result = try search.solve(budgetBytes: search.budgetBytes(bitsPerWeight: budget))
        #expect(result.bytes <= result.budgetBytes, "\(result.bitsPerWeight) over \(budget)")
        let assigned = result.mix.assign(Self.model).types
        let counted = Self.model.tensors.reduce(0) { $0 + (assigned[$1.name]!.rowBytes($1.shape[0])! * $1.shape.dropFirst().reduce(1, *)) }
        #expect(counted == result.bytes, "the search's bytes are the file's")
        #expect(scaled.rowBytes(576) == 328)
        let chosen = Set(result.types.values)
        if budget >= 4.53 && budget < 5 { #expect(chosen.contains(scaled), "at \(budget) some tensor takes lab4g32q: \(chosen.map(\.name))") }
        if budget >= 5.2 { #expect(chosen == [.q4_1], "at \(budget) every tensor fits the least lossy type: \(chosen.map(\.name))") }
        if budget == 4.5 { #expect(chosen.contains(small), "at 4.5 (with the F32 norms) some tensor must go below 4.5 b/w") }
    }

    @Test func anAmpleBudgetTakesTheLargestTypeEverywhere() throws {
        let search = try MixSearch(model: Self.model, types: Self.types, sensitivity: Self.report(weights: [:]), file: "s.json")
        let result = try search.solve(budgetBytes: search.budgetBytes(bitsPerWeight: 16))
        for t in Self.model.tensors where t.shape.count > 1 {
            #expect(result.types[t.name] == ModelQuantizer.effectiveType(.q6_K, rowLength: t.shape[0]), "\(t.name)")
        }
    }

    @Test func moreBudgetNeverPredictsMoreLossAndTheSensitiveTensorIsRaisedFirst() throws {
        let search = try MixSearch(model: Self.model, types: Self.types, sensitivity: Self.report(weights: ["blk.0.attn_v.weight": 1000]), file: "s.json")
        var previous = Double.infinity
        for budget in stride(from: 4.4, through: 8.6, by: 0.2) {
            let result = try search.solve(budgetBytes: search.budgetBytes(bitsPerWeight: budget))
            #expect(result.predictedKLD <= previous + 1e-15, "budget \(budget)")
            previous = result.predictedKLD
        }
        // Just above the smallest mix: the one very sensitive tensor gets the extra bytes.
        let smallest = Double(search.smallestBytes * 8) / Double(search.parameters)
        let tight = try search.solve(budgetBytes: search.budgetBytes(bitsPerWeight: smallest + 0.15))
        #expect(tight.types["blk.0.attn_v.weight"] == .q8_0, "\(tight.types)")
        #expect(tight.types["blk.1.attn_q.weight"] == .q4_0)
    }

    @Test func impossibleBudgetsAndMissingMeasurementsAreNamed() throws {
        let search = try MixSearch(model: Self.model, types: Self.types, sensitivity: Self.report(weights: [:]), file: "s.json")
        #expect { try search.solve(budgetBytes: search.budgetBytes(bitsPerWeight: 2)) } throws: { error in
            "\(error)".contains("--budget-bpw") && "\(error)".contains("smallest mix")
        }
        // A type measured for no tensor of a shape is an error; measured for some, it is offered to those only, and said.
        let noQ5K = Self.report(weights: [:], skip: [("blk.0.ffn_down.weight", .q5_K), ("blk.1.ffn_down.weight", .q5_K)])
        #expect { try MixSearch(model: Self.model, types: Self.types, sensitivity: noQ5K, file: "s.json") } throws: { error in
            "\(error)".contains("s.json has no measurement of blk.0.ffn_down.weight in q5_k")
        }
        let oneQ5K = try MixSearch(model: Self.model, types: Self.types, sensitivity: Self.report(weights: [:], skip: [("blk.1.ffn_down.weight", .q5_K)]), file: "s.json")
        #expect(oneQ5K.candidates.first { $0.name == "blk.1.ffn_down.weight" }?.options.contains { $0.type == .q5_K } == false)
        #expect(oneQ5K.candidates.first { $0.name == "blk.0.ffn_down.weight" }?.options.contains { $0.type == .q5_K } == true)
        #expect(oneQ5K.coverageNote == "q5_k offered to the 1 of 2 tensors it was measured for", "\(oneQ5K.coverageNote ?? "nil")")
        // Per kind: a unit's ΔKLD is spread over its tensors by parameters, and the search says so.
        var byKind = Self.report(weights: [:])
        byKind.grouping = .kind
        byKind.entries = Dictionary(grouping: byKind.entries, by: { "\($0.kind!.rawValue)|\($0.type)" }).values.map { group in
            var e = group[0]
            e.unit = e.kind!.rawValue; e.layer = nil
            e.tensors = group.flatMap(\.tensors)
            e.meanKLD = group.reduce(0) { $0 + $1.meanKLD }
            return e
        }
        let spread = try MixSearch(model: Self.model, types: Self.types, sensitivity: byKind, file: "s.json")
        #expect(spread.spreadNote?.contains("per kind") == true)
        let exact = try MixSearch(model: Self.model, types: Self.types, sensitivity: Self.report(weights: [:]), file: "s.json")
        #expect(exact.spreadNote == nil)
        // Both attn_q tensors have the same shape, so each gets half of the kind's figure: what each measured alone.
        #expect(abs(spread.measured["blk.0.attn_q.weight"]!["q4_0"]! - exact.measured["blk.0.attn_q.weight"]!["q4_0"]!) < 1e-15)
    }

    @Test func aSavedSensitivityFileRoundTripsAndBadOnesNameTheFileAndField() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sens-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let report = Self.report(weights: [:])
        try report.write(to: path)
        #expect(try SensitivityReport.load(path: path) == report)
        try #"{"schema": "slmbench.sensitivity/1", "model": "m"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try SensitivityReport.load(path: path) } throws: { error in "\(error)".hasPrefix(path) && "\(error)".contains("missing field") }
        try "[]".write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try SensitivityReport.load(path: path) } throws: { error in "\(error)".hasPrefix(path) }
        #expect { try SensitivityReport.load(path: path + ".missing") } throws: { error in "\(error)".contains("cannot read") }
    }

    /// Files of other types measured the same way merge into one search; a file measured another
    /// way, or one that measures a type again, is refused naming it.
    @Test func sensitivityFilesOfOtherTypesMerge() throws {
        let a = Self.report(weights: [:], types: [.q3_K, .q4_K]), b = Self.report(weights: [:], types: [.q5_K, .q6_K])
        let merged = try SensitivityReport.merged([a, b], names: ["a.json", "b.json"])
        #expect(merged.types == ["q3_k", "q4_k", "q5_k", "q6_k"])
        #expect(merged.entries.count == a.entries.count + b.entries.count)
        let search = try MixSearch(model: Self.model, types: Self.types, sensitivity: merged, file: "a.json + b.json")
        let whole = try MixSearch(model: Self.model, types: Self.types, sensitivity: Self.report(weights: [:]), file: "s.json")
        #expect(try search.solve(budgetBytes: search.budgetBytes(bitsPerWeight: 5)).types
                == whole.solve(budgetBytes: whole.budgetBytes(bitsPerWeight: 5)).types)
        var other = b
        other.importance = "x.imatrix"
        #expect { try SensitivityReport.merged([a, other], names: ["a.json", "b.json"]) } throws: { "\($0)".contains("importance matrix") }
        #expect { try SensitivityReport.merged([a, a], names: ["a.json", "c.json"]) } throws: { "\($0)".contains("c.json: q3_k by rtn is also measured in a.json") }
    }

    /// Files of different samples merge unit by unit: a tensor measured again on a larger sample
    /// takes all its rows from there (so a misranked small-sample figure cannot win), the other
    /// tensors keep theirs, every entry names its sample, and the note says what replaced what.
    /// Two samples of as many positions measuring one tensor are refused.
    @Test func aLargerSampleReplacesATensorsFiguresFromASmallOne() throws {
        let small = Self.report(weights: ["token_embd.weight": 400], types: [.q4_0, .q8_0])
        var large = Self.report(weights: [:], types: [.q4_0, .q5_0])
        large.entries = large.entries.filter { $0.unit == "token_embd.weight" }.map { var e = $0; e.meanKLD /= 100; return e }
        large.corpus = "other.txt"; large.chunks = 4; large.context = 512; large.scoredPositions = 1020
        let merged = try SensitivityReport.merged([small, large], names: ["small.json", "large.json"])
        let embedding = merged.entries.filter { $0.unit == "token_embd.weight" }
        #expect(Set(embedding.map(\.type)) == ["q4_0", "q5_0"] && embedding.allSatisfy { $0.sample?.contains("1020 positions") == true })
        let blocks = merged.entries.filter { $0.unit != "token_embd.weight" }
        #expect(blocks.count == small.entries.count - 2 && blocks.allSatisfy { $0.sample?.contains("31 positions") == true })
        #expect(merged.sampleNote?.contains("token_embd.weight from other.txt, 4 × 512 tokens, 1020 positions (large.json), over smaller samples") == true)
        // The search reads the large sample's figure for the embedding.
        let search = try MixSearch(model: Self.model, types: [.q4_0, .q5_0, .q8_0], sensitivity: merged, file: "m")
        let q4 = try #require(search.measured["token_embd.weight"]?["q4_0"])
        let wanted = try #require(large.entries.first { $0.type == "q4_0" }?.meanKLD)
        #expect(abs(q4 - wanted) <= 1e-12 * wanted)
        // The order of the files does not matter.
        let reversed = try SensitivityReport.merged([large, small], names: ["large.json", "small.json"])
        #expect(Set(reversed.entries.map { "\($0.unit) \($0.type) \($0.meanKLD)" }) == Set(merged.entries.map { "\($0.unit) \($0.type) \($0.meanKLD)" }))
        var tie = large
        tie.scoredPositions = small.scoredPositions
        #expect { try SensitivityReport.merged([small, tie], names: ["small.json", "tie.json"]) } throws: {
            "\($0)".contains("tie.json: token_embd.weight is also measured in small.json on another sample of as many positions")
        }
    }

    /// GPTQ's rows for the embedding (`models sensitivity --method gptq`) merge beside the round
    /// trips of the same type; `.rtn` never reads them, `.gptq` prefers them, and they can turn the
    /// search's choice for the embedding.
    @Test func gptqRowsAreReadByAGPTQSearchOnly() throws {
        let rtn = Self.report(weights: ["token_embd.weight": 400], types: [.q4_0, .q8_0])
        var gptq = Self.report(weights: ["token_embd.weight": 400], types: [.q4_0])
        gptq.entries = gptq.entries.filter { $0.unit == "token_embd.weight" }.map { e in
            var e = e
            e.quantMethod = "gptq"
            e.meanKLD /= 20 // compensation: the 4.5-bit embedding at a twentieth of its round trip's loss
            return e
        }
        gptq.calibration = "text.txt"
        let merged = try SensitivityReport.merged([rtn, gptq], names: ["rtn.json", "gptq.json"])
        #expect(merged.calibration == "text.txt" && merged.entries.count == rtn.entries.count + 1)
        let model = Self.model
        let types: [TensorType] = [.q4_0, .q8_0]
        let byRTN = try MixSearch(model: model, types: types, sensitivity: merged, file: "m", method: .rtn)
        let byGPTQ = try MixSearch(model: model, types: types, sensitivity: merged, file: "m", method: .gptq)
        let plain = try MixSearch(model: model, types: types, sensitivity: rtn, file: "m")
        #expect(byRTN.measured == plain.measured && byRTN.gptqNote == nil)
        let embeddingRTN = try #require(plain.measured["token_embd.weight"]?["q4_0"])
        #expect(byGPTQ.measured["token_embd.weight"]?["q4_0"] == embeddingRTN / 20)
        #expect(byGPTQ.measured["blk.0.attn_q.weight"] == plain.measured["blk.0.attn_q.weight"])
        #expect(byGPTQ.gptqNote?.contains("1 GPTQ row") == true)
        // A budget that affords Q8_0 for the embedding or for the blocks, not both: the round trips
        // spend it on the embedding, GPTQ's cheap Q4_0 embedding leaves it to the blocks.
        let budget = byRTN.fixedBytes + byRTN.candidates.reduce(0) { sum, c in
            sum + (c.name == "token_embd.weight" ? c.options.map(\.bytes).max()! : c.options.map(\.bytes).min()!)
        }
        #expect(try byRTN.solve(budgetBytes: budget).types["token_embd.weight"] == .q8_0)
        let chosen = try byGPTQ.solve(budgetBytes: budget)
        #expect(chosen.types["token_embd.weight"] == .q4_0 && chosen.types.values.contains(.q8_0))
        // One method's rows of a type come from one file, and GPTQ rows from one text.
        #expect { try SensitivityReport.merged([rtn, gptq, gptq], names: ["r", "g", "h"]) } throws: { "\($0)".contains("h: q4_0 by gptq is also measured in g") }
        var other = gptq
        other.calibration = "other.txt"
        other.entries = other.entries.map { var e = $0; e.type = "q8_0"; return e }
        #expect { try SensitivityReport.merged([rtn, gptq, other], names: ["r", "g", "o"]) } throws: { "\($0)".contains("o: its GPTQ rows are calibrated on other.txt") }
    }

    /// The greedy alone strands bytes when the step it must refuse is the embedding's: a small
    /// block step with a better ratio takes bytes first and the embedding's wider type no longer
    /// fits. The search also fixes each option of the largest tensor and fills around it.
    @Test func theSearchTradesTheEmbeddingsBitsAgainstTheBlocks() throws {
        let embedding = MixSearch.Candidate(name: "token_embd.weight", options: [
            .init(type: TensorType(name: "lab4g64q")!, bytes: 1000, cost: 0.13),
            .init(type: TensorType(name: "lab6g32q")!, bytes: 1500, cost: 0.01),
        ])
        let blocks = (0..<4).map { i in
            MixSearch.Candidate(name: "blk.\(i).attn_q.weight", options: [
                .init(type: TensorType(name: "lab3g32q")!, bytes: 100, cost: 0.0105),
                .init(type: TensorType(name: "lab4g32q")!, bytes: 130, cost: 0.0005),
            ])
        }
        let search = MixSearch(candidates: [embedding] + blocks, fixedBytes: 10, parameters: 8000)
        #expect(search.smallestBytes == 1410)
        // A block step saves 0.01 per 30 bytes (3.3e-4 per byte), the embedding's 0.12 per 500 (2.4e-4): at 1940
        // bytes the greedy takes the four block steps (1530), and then the embedding's 500 no longer fit.
        let plain = try #require(search.greedy(search.candidates.map { MixSearch.hull($0.options) }, budgetBytes: 1940))
        #expect(plain.chosen[0].type.name.lowercased() == "lab4g64q")
        let result = try search.solve(budgetBytes: 1940)
        #expect(result.bytes <= 1940)
        #expect(result.types["token_embd.weight"]?.name.lowercased() == "lab6g32q", "\(result.types)")
        #expect(result.predictedKLD < plain.predicted)
        #expect(abs(result.predictedKLD - (0.01 + 0.0105 * 3 + 0.0005)) < 1e-12, "\(result.predictedKLD)")
        // Every budget: within it, never worse than the greedy alone, never worse with more bytes.
        var previous = Double.infinity
        for budget in stride(from: 1410, through: 2100, by: 10) {
            let r = try search.solve(budgetBytes: budget)
            #expect(r.bytes <= budget && r.bytes == 10 + search.candidates.map { c in c.options.first { $0.type == r.types[c.name] }!.bytes }.reduce(0, +))
            let g = try #require(search.greedy(search.candidates.map { MixSearch.hull($0.options) }, budgetBytes: budget))
            #expect(r.predictedKLD <= g.predicted + 1e-15, "budget \(budget)")
            #expect(r.predictedKLD <= previous + 1e-15, "budget \(budget)")
            previous = r.predictedKLD
        }
    }

    @Test func kindsAndLayersComeFromNames() {
        #expect(TensorKind(tensorName: "blk.12.attn_output.weight") == .attentionOutput)
        #expect(TensorKind(tensorName: "token_embd.weight") == .embedding)
        #expect(TensorKind(tensorName: "blk.0.attn_norm.weight") == nil)
        #expect(TensorKind.layer(of: "blk.12.ffn_down.weight") == 12)
        #expect(TensorKind.layer(of: "output.weight") == nil)
    }
}
