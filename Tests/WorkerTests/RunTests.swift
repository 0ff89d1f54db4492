import Backends
import Foundation
import Measures
import ModelFormat
import TestSupport
import Testing
@testable import Worker

/// The measurement protocol on the native backend, and what becomes of runs whose workers fail.
@Suite("runs", .serialized)
struct RunTests {
    static func tinyModel() throws -> String {
        let tokenizer = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("tiny-q8_0.gguf").path
        try SyntheticModel.generate(preset: ArchitecturePreset.named("tiny")!, type: .q8_0, seed: 5, tokenizer: tokenizer, output: path)
        return path
    }

    @Test func measurementFollowsTheTokenTimeline() throws {
        let path = try Self.tinyModel()
        let spec = RunSpec(backend: .native, model: path, modelName: "tiny", batch: 3, promptTokens: 9, genTokens: 5, warmup: 2, repetitions: 4)
        var stages: [String] = []
        let samples = try Measurement.run(spec, on: NativeBackend()) { stage, _ in stages.append(stage) }
        #expect(samples.repetitions.count == 4, "warm-ups are not kept")
        #expect(stages.filter { $0 == "warmup" }.count == 2 && stages.filter { $0 == "measure" }.count == 4)
        for r in samples.repetitions {
            #expect(r.prefillSeconds.count == 3 && r.ttftSeconds.count == 3)
            #expect(r.stepSeconds.count == 4, "the first of 5 tokens comes from the prefill")
            #expect(r.generatedTokens == 5)
            #expect(r.e2eSeconds >= r.ttftSeconds.max()! && r.ttftSeconds == r.ttftSeconds.sorted())
        }
        #expect(samples.firstTokens.count == 5)
        let again = try Measurement.run(spec, on: NativeBackend())
        #expect(again.firstTokens == samples.firstTokens, "greedy decoding of the same prompt is deterministic")
        #expect(samples.memory.kvCacheBytes == 2 * 2 * 3 * spec.context * 32 * 4) // layers · K,V · sequences · positions · kv width · f32

        let noPrompt = try Measurement.run(RunSpec(backend: .native, model: path, modelName: "tiny", promptTokens: 0, genTokens: 4, warmup: 0, repetitions: 1), on: NativeBackend())
        #expect(noPrompt.repetitions[0].stepSeconds.count == 4 && noPrompt.repetitions[0].prefillSeconds.isEmpty)
    }

    @Test func aBadModelIsAFailedRunNamingTheFile() throws {
        let dir = try TestPaths.temporaryDirectory()
        let bad = dir.appendingPathComponent("broken.gguf")
        try Data("GGUF but not really".utf8).write(to: bad)
        do {
            _ = try Measurement.run(RunSpec(backend: .native, model: bad.path, modelName: "x"), on: NativeBackend())
            Issue.record("a broken file loaded")
        } catch {
            #expect(error.message.contains(bad.path), "\(error.message)")
        }
    }

    static var fakeWorker: String {
        TestPaths.packageRoot.appendingPathComponent("Tests/WorkerTests/FakeWorkers/fake_worker.py").path
    }

    @Test(arguments: [("ok", "protocol", "prompt_tokens"), ("segv", "crashed", "signal 11"), ("garbage", "protocol", "not a JSON"),
                      ("error", "failed", "unsupported-type"), ("wrong-protocol", "protocol", "protocol")])
    func workerFailuresBecomeRecordsWithReasons(mode: String, status: String, reason: String) throws {
        // The fake's "ok" result carries metrics that are not a run's samples: a result missing fields.
        let record = RunLauncher.run(RunSpec(backend: .cmd, model: "/nowhere.gguf", modelName: "x"),
                                     command: .external(program: "python3", arguments: [Self.fakeWorker, mode]),
                                     limits: WorkerLimits(timeoutSeconds: 20))
        #expect(record.status.rawValue == status, "\(mode): \(record.status) \(record.reason ?? "")")
        #expect(record.reason?.contains(reason) == true, "\(mode): \(record.reason ?? "no reason")")
        #expect(record.metrics == nil)
    }

    @Test func aHangIsKilledAtTheTimeoutAndTheNextRunGoesOn() throws {
        let hung = RunLauncher.run(RunSpec(backend: .cmd, model: "/x", modelName: "x"),
                                   command: .external(program: "python3", arguments: [Self.fakeWorker, "hang"]), limits: WorkerLimits(timeoutSeconds: 1))
        #expect(hung.status == .timeout)
        let path = try Self.tinyModel()
        let next = RunLauncher.run(RunSpec(backend: .native, model: path, modelName: "tiny", promptTokens: 4, genTokens: 3, warmup: 0, repetitions: 1),
                                   command: .builtIn(backend: "native"), limits: WorkerLimits(timeoutSeconds: 60),
                                   workerExecutable: TestPaths.slmbenchExecutable.path)
        #expect(next.status == .ok, "\(next.reason ?? "")")
        #expect(next.metrics?.tgTps != nil && next.metrics?.peakRssBytes ?? 0 > 0 && next.backend?.name == "native")
    }
}
