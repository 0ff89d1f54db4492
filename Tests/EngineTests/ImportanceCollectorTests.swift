@testable import Engine
import Foundation
import ModelFormat
import TestSupport
import Testing

@Suite("importance matrix from the native engine")
struct ImportanceCollectorTests {
    /// The native engine's importance matrix against llama-imatrix's on the same model, text,
    /// chunking and threads: the same entries and counts, and means that agree to within the two
    /// engines' arithmetic (measured 2026-12-04 on SmolLM2-135M, README.md, 2 chunks of 128: the
    /// worst entry's Σ|ours − theirs| ÷ Σ|theirs| 1.6%, the median channel 0.4%; the bound is 5%).
    @Test func agreesWithLlamaImatrix() throws {
        try #require(LlamaCppTools.isPresent("llama-imatrix"), Comment(rawValue: LlamaCppTools.missingMessage("llama-imatrix")))
        let file = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let text = TestPaths.packageRoot.appendingPathComponent("README.md").path
        let theirsPath = FileManager.default.temporaryDirectory.appendingPathComponent("imatrix-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: theirsPath) }
        let r = try LlamaCppTools.run("llama-imatrix", ["-m", RealModel.path.path, "-f", text, "-c", "128", "--chunks", "2", "-t", "2",
                                                         "--no-ppl", "-o", theirsPath])
        try #require(r.status == 0, "llama-imatrix: \(r.output.suffix(600))")
        let theirs = try ImportanceMatrix(path: theirsPath)

        let tokenizer = try Tokenizer(file: file)
        let tokens = tokenizer.encode(try String(contentsOfFile: text, encoding: .utf8), addSpecial: true)
        let engine = try Transformer(weights: try ModelWeights(file: file), options: EngineOptions(threads: 2, context: 128, batchTokens: 128))
        var reported: [Int] = []
        let ours = try ImportanceCollector.collect(engine, tokens: tokens, bos: tokenizer.addBOS ? tokenizer.bos : nil, context: 128,
                                                   chunks: 2, dataset: text) { done, _ in reported.append(done) }
        #expect(reported == [1, 2] && engine.activationObserver == nil, "progress per chunk; the observer is put back")
        #expect(ours.chunkCount == 2 && ours.chunkSize == 128 && ours.datasets == [text])
        #expect(Set(ours.entries.keys) == Set(theirs.entries.keys))
        var worst = (0.0, "")
        for (name, t) in theirs.entries {
            let o = try #require(ours.entries[name])
            #expect(o.counts == t.counts && o.channels == t.channels, "\(name): counts \(o.counts) vs \(t.counts)")
            let a = o.means, b = t.means
            let l1 = zip(a, b).map { Double(abs($0 - $1)) }.reduce(0, +) / max(b.map { Double(abs($0)) }.reduce(0, +), 1e-30)
            if l1 > worst.0 { worst = (l1, name) }
        }
        #expect(worst.0 <= 0.05, "\(worst.1): relative L1 difference \(worst.0)")
        // The same text again gives the same matrix: nothing carries over between chunks or runs.
        let again = try ImportanceCollector.collect(engine, tokens: tokens, bos: tokenizer.addBOS ? tokenizer.bos : nil, context: 128,
                                                    chunks: 2, dataset: text)
        #expect(again == ours, "the engine's cache is cleared between chunks and runs")
    }

    @Test func tooLittleTextAndPartsOfFusedMatricesAreHandled() throws {
        #expect(ImportanceCollector.tensorName("blk.3.attn_qkv.weight[1]") == "blk.3.attn_qkv.weight")
        #expect(ImportanceCollector.tensorName("blk.3.attn_q.weight") == "blk.3.attn_q.weight")
        let file = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let engine = try Transformer(weights: try ModelWeights(file: file), options: EngineOptions(context: 64))
        #expect(throws: ImportanceCollector.Failure.self) {
            try ImportanceCollector.collect(engine, tokens: Array(repeating: 1, count: 100), bos: nil, context: 64, chunks: nil, dataset: "short.txt")
        }
        #expect(throws: ImportanceCollector.Failure.self) {
            try ImportanceCollector.collect(engine, tokens: Array(repeating: 1, count: 1000), bos: nil, context: 128, chunks: nil, dataset: "t")
        }
    }
}
