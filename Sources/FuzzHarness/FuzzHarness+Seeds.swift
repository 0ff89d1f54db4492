import Backends
import Foundation
import Measures
import ModelFormat
import ResultStore
import TestSupport
import Worker
import Workloads

extension FuzzHarness {
    /// Seeds made in code by the formats' own writers, so they follow the formats as they change:
    /// name → bytes. scripts/check/fuzz.sh writes them out (SLMBENCH_FUZZ_SEEDS) with `seedFiles`; the
    /// tests replay both.
    public static func seeds(_ target: String) -> [(name: String, bytes: [UInt8])] {
        switch target {
        case "gguf": return models() + ((try? GGUFFixtures.small()).map { [("small", $0)] } ?? [])
        case "engine-load": return models()
        case "sweep-spec", "sweep-plan": return specs.map { ($0.0, Array($0.1.utf8)) }
        case "journal": return journals()
        case "llama-bench": return llamaBenchLines()
        case "worker-protocol": return workerLines()
        default: return []
        }
    }

    /// Checked-in files that seed a target, relative to the package root (a folder: its files).
    public static func seedFiles(_ target: String) -> [String] {
        switch target {
        case "gguf": return ["Tests/ModelFormatTests/Fixtures/spm-vocab.gguf-fixture"]
        case "sweep-spec", "sweep-plan": return ["profiles/sweeps"]
        case "llama-bench": return ["Tests/ReporterTests/Fixtures/llama-bench-smollm2-q4_0.json", "Tests/ReporterTests/Fixtures/llama-bench-smollm2-q8_0.csv"]
        default: return []
        }
    }

    /// Writes every seed of `target` (made in code, and copies of its checked-in files) into `folder`.
    public static func writeSeeds(_ target: String, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, bytes) in seeds(target) { try Data(bytes).write(to: folder.appendingPathComponent(name)) }
        for file in seedFileURLs(target) {
            try Data(contentsOf: file).write(to: folder.appendingPathComponent("file-" + file.lastPathComponent))
        }
    }

    /// `seedFiles` as the files they name.
    public static func seedFileURLs(_ target: String) -> [URL] {
        seedFiles(target).flatMap { path -> [URL] in
            let url = TestPaths.packageRoot.appendingPathComponent(path)
            var folder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &folder) else { return [] }
            guard folder.boolValue else { return [url] }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { url.appendingPathComponent($0) }
        }
    }

    /// Small whole models the engine loads: Llama and Qwen2, tied and untied, in several types.
    static func models() -> [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        for (architecture, type, tied) in [("llama", TensorType.q8_0, true), ("llama", .q4_0, false), ("llama", .f16, true), ("qwen2", .f32, true),
                                           ("llama", .q4_K, true)] {
            var shape = GGUFFixtures.ModelShape()
            shape.architecture = architecture; shape.type = type; shape.tied = tied
            if type == .q4_K { shape.width = 256 } // whole 256-element K blocks
            if let bytes = try? GGUFFixtures.model(shape) { out.append(("model-\(architecture)-\(type.name.lowercased())\(tied ? "" : "-untied")", bytes)) }
        }
        return out
    }

    static let specs: [(String, String)] = [
        ("ranges.yaml", """
            name: x
            axes:
              model: tiny
              type: [q8_0, q4_0]
              threads: 1..2
              batch: {from: 1, to: 8, times: 2}
              prompt: {from: 0, to: 64, step: 32}
            exclude:
              - {type: q4_0, threads: 2}
            measurement:
              warmup: 1
              target_ci: 2%
              timeout: 90s
              cooldown: 150ms
              memory_limit: 512MiB
            """),
        ("reference.yaml", """
            name: ref
            axes:
              model: [tiny, smollm2-360m, synthetic:smollm2-135m]
              type: [q4_0, lab4g32a]
              backend: [native, llama.cpp, "cmd:/bin/true"]
              placement: [none, spread, "0,2", numa-node:0]
              kv: [f16, f32]
              depth: [0, 128]
            include:
              - {model: tiny}
            reference:
              every: 2
              drift: 3%
              config: {model: tiny, type: q4_0, threads: 2, backend: native}
            quality: {context: 64, chunks: 2}
            backend_args:
              "cmd:/bin/true": [--flag, value]
            """),
    ]

    static func storedRun(key: String, kind: EntryKind, status: RunStatus, avg: Double?) -> StoredRun {
        let config = RunConfig(model: "tiny", modelType: "q8_0", backend: "native", nThreads: 1, nSeq: 2, nPrompt: 8, nGen: 4, nDepth: 0,
                               kvType: "f16", placement: "none", cpus: [0], modelSize: 123_456, modelNParams: 106_816, synthetic: true)
        return StoredRun(sweepId: "fuzz", key: key, kind: kind, seq: 3, status: status, reason: status == .ok ? nil : "it \(status.rawValue)",
                         config: config, avgTs: avg, stddevTs: avg.map { $0 / 20 }, samplesTs: avg.map { [$0, $0 * 1.01] } ?? [],
                         ppAvgTs: avg.map { $0 * 4 }, tgAvgTs: avg, peakRssBytes: 50 << 20, predictedBytes: 60 << 20,
                         summary: MetricValues(raw: ["ttft_ms": 12.5, "itl_p50_ms": 3.25, "F32.ppl": 9.5, "q8_0.kld": 0.001]), flags: ["high-cv"],
                         finishedAt: "2026-12-01T10:00:00.000Z", record: "{}", context: #"{"environment":{"fingerprint":"abc"}}"#)
    }

    static func journals() -> [(name: String, bytes: [UInt8])] {
        let runs = [storedRun(key: "ref|0", kind: .reference, status: .ok, avg: 100), storedRun(key: "tiny|q8_0|native|t1|b2", kind: .run, status: .ok, avg: 98),
                    storedRun(key: "tiny|q4_0|native|t1|b2", kind: .run, status: .timeout, avg: nil), storedRun(key: "ref|1", kind: .reference, status: .ok, avg: 80),
                    storedRun(key: "quality|tiny", kind: .quality, status: .ok, avg: nil)]
        let lines = runs.compactMap { try? StoreJSON.encoder().encode($0) }.map { Array($0) + [0x0A] }
        let whole = lines.flatMap { $0 }
        return [("journal.jsonl", whole), ("torn.jsonl", whole + Array(lines[1].prefix(40)))]
    }

    static func llamaBenchLines() -> [(name: String, bytes: [UInt8])] {
        let row = #"{"model_filename": "/m/SmolLM2-q4_0.gguf", "model_type": "llama 256M Q4_0", "model_size": 75785472, "model_n_params": 134515008, "n_threads": 2, "n_prompt": 0, "n_gen": 128, "n_depth": 0, "type_k": "f16", "avg_ts": 71.5, "stddev_ts": 1.5, "samples_ts": [70, 73], "build_commit": "0c1e570", "build_number": 1, "cpu_info": "AMD EPYC"}"#
        let csv = "model_type,n_threads,n_prompt,n_gen,avg_ts,stddev_ts\r\n\"llama 135M Q8_0\",1,512,0,\"250.5\",3\r\n"
        return [("rows.jsonl", Array((row + "\n" + row + "\n").utf8)), ("rows.json", Array("[\(row)]".utf8)), ("rows.csv", Array(csv.utf8))]
    }

    static func workerLines() -> [(name: String, bytes: [UInt8])] {
        let spec = RunSpec(backend: .native, model: "/m/tiny.gguf", modelName: "tiny", type: "q8_0", threads: 2, batch: 2, promptTokens: 8,
                           genTokens: 4, kvType: .f16, cpus: [0, 1], depth: 16, maxRepetitions: 5, targetHalfWidth: 0.02)
        let repetition = RunSamples.Repetition(prefillSeconds: [0.01, 0.011], ttftSeconds: [0.012, 0.024], stepSeconds: [0.002, 0.0021, 0.002],
                                               e2eSeconds: 0.031, generatedTokens: 4)
        let samples = RunSamples(promptTokens: 8, batch: 2, loadSeconds: 0.05, repetitions: [repetition, repetition],
                                 memory: BackendMemory(weightsBytes: 1 << 20, kvCacheBytes: 4096, scratchBytes: 8192), rssAfterLoadBytes: 30 << 20,
                                 firstTokens: [1, 2, 3, 4], warmLoadSeconds: 0.03)
        func line(_ value: JSONValue) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        }
        guard let run = try? ProtocolJSON.value(spec), let metrics = try? ProtocolJSON.value(samples),
              let backend = try? ProtocolJSON.value(BackendIdentity(name: "native", version: "0.1", build: ["kernels": "avx2"])),
              let request = try? ProtocolJSON.value(WorkerRequest(id: "run-1", run: run)) else { return [] }
        let progress = line(.object(["protocol": .number(1), "type": .string("progress"), "stage": .string("load"), "fraction": .number(0.5)]))
        let result = line(.object(["protocol": .number(1), "type": .string("result"), "metrics": metrics, "backend": backend]))
        let error = line(.object(["protocol": .number(1), "type": .string("error"), "code": .string("bad-model"), "message": .string("x: no tensor")]))
        return [("session.jsonl", Array([line(request), progress, result].joined(separator: "\n").utf8)),
                ("error.jsonl", Array([line(request), error].joined(separator: "\n").utf8))]
    }
}
