@testable import Engine
import Foundation
import ModelFormat
import TestSupport
import Testing

@Suite("GPTQ Hessians from the native engine")
struct HessianCollectorTests {
    /// The real SmolLM2-135M on a 64-token context, and this repository's README as its tokens.
    static func realModelOnReadme() throws -> (tokens: [Int], engine: Transformer, bos: Int?) {
        let file = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let text = TestPaths.packageRoot.appendingPathComponent("README.md").path
        let tokenizer = try Tokenizer(file: file)
        let tokens = tokenizer.encode(try String(contentsOfFile: text, encoding: .utf8), addSpecial: true)
        let engine = try Transformer(weights: try ModelWeights(file: file), options: EngineOptions(threads: 2, context: 64, batchTokens: 64))
        return (tokens, engine, tokenizer.addBOS ? tokenizer.bos : nil)
    }

    /// The Hessians' diagonals are the importance matrix's sums (both are Σx² per channel over the
    /// same chunks); q/k/v and gate/up share one matrix; the matrix is symmetric positive
    /// semi-definite on its diagonal.
    @Test func diagonalsAreTheImportanceSumsAndGroupsAreShared() throws {
        let (tokens, engine, bos) = try Self.realModelOnReadme()
        var reported: [Int] = []
        let set = try HessianCollector.collect(engine, tokens: tokens, bos: bos, context: 64, chunks: 2, dataset: "README.md") { done, _ in reported.append(done) }
        #expect(reported == [1, 2] && engine.activationObserver == nil)
        let imatrix = try ImportanceCollector.collect(engine, tokens: tokens, bos: bos, context: 64, chunks: 2, dataset: "README.md")
        #expect(set.index["blk.0.attn_q.weight"] == set.index["blk.0.attn_v.weight"])
        #expect(set.index["blk.0.ffn_gate.weight"] == set.index["blk.0.ffn_up.weight"])
        #expect(set.index["blk.0.ffn_gate.weight"] != set.index["blk.0.attn_q.weight"])
        #expect(set.index.count == imatrix.entries.count && set.hessians.count == 4 * 30)
        for (name, entry) in imatrix.entries {
            let h = try #require(set.hessian(for: name), "\(name) has a Hessian")
            #expect(h.tokens == 128 && h.columns == entry.sums.count)
            let m = h.symmetric()
            var worst = 0.0
            for c in 0..<h.columns {
                let d = m[c * h.columns + c], s = Double(entry.sums[c])
                worst = max(worst, abs(d - s) / max(abs(s), 1e-6))
            }
            #expect(worst < 1e-3, "\(name): diagonal vs importance sums, worst relative gap \(worst)")
            #expect(m[1 * h.columns + 2] == m[2 * h.columns + 1])
        }
    }

    /// With `processOutput` the tied head's input (the final norm's output) gets a Hessian of its
    /// own under token_embd.weight, whose diagonal is the --process-output importance sums.
    @Test func theOutputHeadsInputIsCollectedUnderTheEmbedding() throws {
        let (tokens, engine, bos) = try Self.realModelOnReadme()
        let plain = try HessianCollector.collect(engine, tokens: tokens, bos: bos, context: 64, chunks: 2, dataset: "README.md")
        #expect(plain.hessian(for: "token_embd.weight") == nil)
        let set = try HessianCollector.collect(engine, tokens: tokens, bos: bos, context: 64, chunks: 2, dataset: "README.md", processOutput: true)
        #expect(set.hessians.count == 4 * 30 + 1 && !engine.observesOutput)
        let head = try #require(set.hessian(for: "token_embd.weight"))
        let imatrix = try ImportanceCollector.collect(engine, tokens: tokens, bos: bos, context: 64, chunks: 2, dataset: "README.md", processOutput: true)
        let sums = try #require(imatrix.entries["token_embd.weight"]).sums
        #expect(head.tokens == 128 && head.columns == 576 && sums.count == 576)
        let m = head.symmetric()
        var worst = 0.0
        for c in 0..<576 {
            let d: Double = m[c * 577], s = Double(sums[c])
            worst = max(worst, abs(d - s) / max(abs(s), 1e-6))
        }
        #expect(worst < 1e-3, "head diagonal vs importance sums, worst relative gap \(worst)")
    }

    /// `wanted` keeps only the groups it names, each equal to the full collection's; the set
    /// written to a file reads back equal.
    @Test func onlyTheWantedGroupsAreSummedAndTheSetSurvivesAFile() throws {
        let (tokens, engine, bos) = try Self.realModelOnReadme()
        let all = try HessianCollector.collect(engine, tokens: tokens, bos: bos, context: 64, chunks: 1, dataset: "README.md", processOutput: true)
        let some = try HessianCollector.collect(engine, tokens: tokens, bos: bos, context: 64, chunks: 1, dataset: "README.md", processOutput: true,
                                                wanted: ["token_embd.weight", "blk.3.attn_k.weight"])
        #expect(some.hessians.count == 2)
        #expect(Set(some.index.keys) == ["token_embd.weight", "blk.3.attn_q.weight", "blk.3.attn_k.weight", "blk.3.attn_v.weight"])
        for name in ["token_embd.weight", "blk.3.attn_v.weight"] {
            #expect(some.hessian(for: name)?.sums == all.hessian(for: name)?.sums, "\(name) differs from the full collection's")
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hessians-\(ProcessInfo.processInfo.processIdentifier).hess").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try some.write(to: path)
        let read = try HessianSet(path: path)
        #expect(read.index == some.index && read.dataset == "README.md" && read.chunkSize == 64 && read.chunkCount == 1)
        #expect(read.hessians.map(\.sums) == some.hessians.map(\.sums) && read.hessians.map(\.tokens) == some.hessians.map(\.tokens))
        // A cut file is an error naming it, not a trap.
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 8).write(to: URL(fileURLWithPath: path))
        #expect(throws: HessianSet.FileError.self) { try HessianSet(path: path) }
    }
}
