@testable import Backends
import Foundation
import ModelFormat
import TestSupport
import Testing
@testable import Worker

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

    /// The real model's weights are Q4_1: every figure of `quality` is then against the F32
    /// conversion of Q4_1 values, and the table says so next to its quality columns. A source in
    /// F32/F16 gets no caveat.
    @Test func aQuantizedSourceMarksEveryQualityColumn() throws {
        let file = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let caveat = try #require(QualityEvaluation.Report.sourceWeightsCaveat(model: "smollm2-135m", types: file.tensors.map(\.type.name)))
        #expect(caveat.contains("already Q4_1") && caveat.contains("requantization"), "\(caveat)")
        #expect(QualityEvaluation.Report.sourceWeightsCaveat(model: "m", types: ["F32", "F16", "bf16"]) == nil)
        let row = QualityEvaluation.Row(variant: "Q4_0", perplexity: 20, deltaPerplexity: 1, meanKLD: 0.05, top1Agreement: 0.9)
        var report = QualityEvaluation.Report(corpus: "c", corpusTokens: 100, context: 64, chunks: 1, scoredPositions: 32, baseline: "F32", rows: [row])
        let plain = report.markdown(model: "m", backend: "native", paths: ["/nonexistent"])
        #expect(!plain.contains("†"))
        report.sourceWeightsCaveat = caveat
        let marked = report.markdown(model: "m", backend: "native", paths: ["/nonexistent"]).split(separator: "\n").map(String.init)
        let header = try #require(marked.first { $0.hasPrefix("| type") })
        #expect(header.components(separatedBy: "†").count - 1 == 5, "PPL, ΔPPL, ΔPPL %, KLD and top-1 each carry the mark: \(header)")
        #expect(marked.last == "† \(caveat)")
    }

    /// A sweep's quality evaluation runs in a worker: the report comes back whole, and a worker
    /// that dies is a recorded outcome, not a crash of the caller.
    @Test func qualityRunsInAWorkerAndItsCrashIsARecord() throws {
        let f32 = try Self.realVariant(.f32), q8 = try Self.realVariant(.q8_0)
        let spec = QualitySpec(variants: [.init(label: "F32", backend: .native, path: f32), .init(label: "q8_0", backend: .native, path: q8)],
                               corpus: nil, context: 64, chunks: 1, threads: 1)
        let viaWorker = RunLauncher.quality(spec, limits: WorkerLimits(timeoutSeconds: 300), workerExecutable: TestPaths.slmbenchExecutable.path)
        #expect(viaWorker.status == .ok, "\(viaWorker.reason ?? "")")
        let inProcess = try spec.evaluate()
        #expect(viaWorker.report?.rows == inProcess.rows, "the worker computes what the library computes")
        #expect((viaWorker.report?.rows.last?.meanKLD ?? 0) > 0)

        let dir = try TestPaths.temporaryDirectory()
        let crashing = dir.appendingPathComponent("crashing-worker").path
        try "#!/bin/sh\nexec python3 \(RunTests.fakeWorker) segv\n".write(toFile: crashing, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: crashing)
        let crashed = RunLauncher.quality(spec, limits: WorkerLimits(timeoutSeconds: 30), workerExecutable: crashing)
        #expect(crashed.status == .crashed && crashed.report == nil && crashed.reason?.contains("signal 11") == true, "\(crashed)")
    }

    @Test func aRequestAsksForARunOrAQualityEvaluationNotBoth() throws {
        let run = try ProtocolJSON.value(RunSpec(backend: .native, model: "/m.gguf", modelName: "m"))
        let quality = try ProtocolJSON.value(QualitySpec(variants: [.init(label: "F32", backend: .native, path: "/m.gguf")], corpus: nil,
                                                         context: 64, chunks: 1, threads: 1))
        func line(_ fields: [String: JSONValue]) throws -> String {
            String(decoding: try JSONEncoder().encode(JSONValue.object(fields.merging(["protocol": .number(1), "id": .string("x")]) { a, _ in a })), as: UTF8.self)
        }
        guard case .success((_, .quality)) = WorkerMain.request(try line(["quality": quality])) else { Issue.record("a quality request was not read as one"); return }
        guard case .success((_, .run)) = WorkerMain.request(try line(["run": run])) else { Issue.record("a run request was not read as one"); return }
        for (fields, words) in [(["run": run, "quality": quality], "both"), ([:], "neither")] {
            guard case let .failure(error) = WorkerMain.request(try line(fields)) else { Issue.record("\(words): accepted"); continue }
            #expect(error.code == "bad-request" && error.message.contains(words), "\(error.message)")
        }
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

    /// A backend whose logits are all zero over a vocabulary of a chosen size, loaded instantly.
    final class FlatBackend: InferenceBackend {
        let vocabulary: Int
        var row: [Float]
        init(vocabulary: Int) { self.vocabulary = vocabulary; row = [Float](repeating: 0, count: vocabulary) }
        var identity: BackendIdentity { BackendIdentity(name: "flat", version: "1", build: [:]) }
        var capabilities: BackendCapabilities {
            BackendCapabilities(types: ["*"], maxSequences: 1, kvTypes: ["f32"], threads: false, perTokenTimes: false, logits: true)
        }
        func load(modelPath: String, options: LoadOptions) throws(BackendError) {}
        var vocabularySize: Int { vocabulary }
        func prefill(_ tokens: [Int32], sequence: Int, allLogits: Bool) throws(BackendError) -> CallTiming {
            CallTiming(startNanoseconds: 0, endNanoseconds: 1)
        }
        func decode(_ steps: [(sequence: Int, token: Int32)]) throws(BackendError) -> CallTiming { CallTiming(startNanoseconds: 0, endNanoseconds: 1) }
        func logits(_ i: Int) -> UnsafeBufferPointer<Float> { row.withUnsafeBufferPointer { $0 } }
        func clear(sequence: Int) {}
        var memory: BackendMemory { BackendMemory() }
        func unload() {}
    }

    /// The KL buffers are sized by the baseline's vocabulary: a variant with another is refused
    /// by name, whichever side is larger, instead of read or written past the end.
    @Test(arguments: [(64, 80), (80, 64)])
    func aVariantWithAnotherVocabularyIsRefused(baseline: Int, variant: Int) throws {
        let variants = [QualityEvaluation.Variant(label: "F32", backend: FlatBackend(vocabulary: baseline), path: "a.gguf"),
                        QualityEvaluation.Variant(label: "other", backend: FlatBackend(vocabulary: variant), path: "b.gguf")]
        let tokens = (0..<64).map { Int32($0 % 60) }
        do {
            _ = try QualityEvaluation(context: 32, chunks: 1).run(tokens: tokens, corpus: "x", variants: variants, threads: 1)
            Issue.record("compared a \(variant)-token vocabulary with a \(baseline)-token one")
        } catch {
            #expect(error.description.contains("other") && error.description.contains("\(variant)") && error.description.contains("\(baseline)"), "\(error)")
        }
    }

    @Test func tokensOutsideTheVocabularyAndBadSettingsAreRefused() throws {
        let variants = [QualityEvaluation.Variant(label: "F32", backend: FlatBackend(vocabulary: 64), path: "a.gguf")]
        #expect(throws: QualityError.self) {
            try QualityEvaluation(context: 32, chunks: 1).run(tokens: [Int32](repeating: 64, count: 64), corpus: "x", variants: variants, threads: 1)
        }
        #expect(throws: QualityError.self) {
            try QualityEvaluation(context: 0, chunks: 1).run(tokens: [1, 2, 3], corpus: "x", variants: variants, threads: 1)
        }
        #expect(throws: QualityError.self) {
            try QualityEvaluation(context: 32, chunks: 1).run(tokens: [Int32](repeating: 1, count: 64), corpus: "x", variants: [], threads: 1)
        }
    }
}
