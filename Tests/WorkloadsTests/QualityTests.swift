import Backends
import Foundation
import ModelFormat
import TestSupport
import Testing
@testable import Workloads

@Suite("quality", .serialized)
struct QualityTests {
    static func realVariant(_ type: TensorType) throws -> String {
        let source = RealModel.path
        try #require(FileManager.default.fileExists(atPath: source.path), Comment(rawValue: RealModel.missingMessage))
        return try ModelQuantizer.ensure(source: source, type: type, cache: .fromEnvironment()).path
    }

    static func tokens() throws -> [Int32] {
        let file = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        return try Tokenizer(file: file).encode(try Corpus.load(nil).text).map(Int32.init)
    }

    @Test func aVariantAgainstItselfHasNoLossAndWorseWeightsHaveSome() throws {
        let f32 = try Self.realVariant(.f32), q4 = try Self.realVariant(.q4_0)
        let variants = [QualityEvaluation.Variant(label: "F32", backend: NativeBackend(), path: f32),
                        QualityEvaluation.Variant(label: "F32 again", backend: NativeBackend(), path: f32),
                        QualityEvaluation.Variant(label: "Q4_0", backend: NativeBackend(), path: q4)]
        let tokens = try Self.tokens()
        let report = try QualityEvaluation(context: 128, chunks: 2).run(tokens: tokens, corpus: "GPL-3", variants: variants, threads: 2)
        #expect(report.scoredPositions == 2 * 63)
        let (base, same, q4row) = (report.rows[0], report.rows[1], report.rows[2])
        #expect(base.perplexity > 1 && base.perplexity < 100, "real English on a real model: \(base.perplexity)")
        #expect(same.deltaPerplexity == 0 && same.meanKLD == 0 && same.top1Agreement == 1)
        #expect((q4row.deltaPerplexity ?? 0) > 0 && (q4row.meanKLD ?? 0) > 1e-3 && (q4row.top1Agreement ?? 1) < 1)
        let again = try QualityEvaluation(context: 128, chunks: 2).run(tokens: tokens, corpus: "GPL-3", variants: [variants[0], variants[2]], threads: 1)
        #expect(again.rows[1].perplexity == q4row.perplexity && again.rows[1].meanKLD == q4row.meanKLD,
                "the same inputs give the same numbers, whatever the thread count")
    }

    @Test func corpusErrorsNameTheFile() throws {
        #expect(throws: QualityError.self) { try Corpus.load("/no/such/corpus.txt") }
        do { _ = try Corpus.load("/no/such/corpus.txt") } catch { #expect(error.description.contains("/no/such/corpus.txt")) }
        let dir = try TestPaths.temporaryDirectory()
        let empty = dir.appendingPathComponent("empty.txt")
        try Data("  \n".utf8).write(to: empty)
        #expect(throws: QualityError.self) { try Corpus.load(empty.path) }
        #expect(throws: QualityError.self) {
            try QualityEvaluation(context: 512).run(tokens: [1, 2, 3], corpus: "x", variants: [], threads: 1)
        }
    }
}
