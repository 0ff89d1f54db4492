import Foundation
import TestSupport
import Testing

/// `slmbench run`, `generate` and `quality` as users run them.
@Suite("run, generate, quality", .serialized)
struct RunCommandTests {
    func slmbench(_ args: [String], environment: [String: String]? = nil) throws -> CommandResult {
        let binary = TestPaths.slmbenchExecutable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: build it (scripts/test.sh does)")
        return try runCommand(binary, args, environment: environment)
    }

    func requireRealModel() throws {
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
    }

    static let metricLines = ["prefill ", "decode  ", "TTFT    ", "ITL      p50", "TPOT    ", "E2E     ", "load     ", "memory   peak RSS"]

    /// The metric names a run's JSON record carries with values.
    func metricKeys(_ stdout: String) throws -> Set<String> {
        let record = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        let metrics = try #require(record["metrics"] as? [String: Any], "no metrics in \(stdout.prefix(300))")
        return Set(metrics.filter { !($0.value is NSNull) }.keys)
    }

    @Test func everyBackendPrintsTheSameMetricSet() throws {
        try requireRealModel()
        let plugin = TestPaths.packageRoot.appendingPathComponent("scripts/backends/llama_cpp_python_worker.py").path
        var keys: [String: Set<String>] = [:]
        for backend in ["native", "llama.cpp", "cmd:\(plugin)"] {
            let common = ["run", "--backend", backend, "--model", "smollm2-135m", "--type", "q4_0", "--threads", "2",
                          "--prompt", "32", "--gen", "8", "--warmup", "0", "--repetitions", "2"]
            let table = try slmbench(common)
            #expect(table.status == 0, "\(backend): \(table.stderr.suffix(800)) (cmd: needs scripts/backends/install-plugins.sh)")
            for line in Self.metricLines { #expect(table.stdout.contains("\n" + line), "\(backend) lacks '\(line)':\n\(table.stdout)") }
            let json = try slmbench(common + ["--json"])
            #expect(json.status == 0)
            keys[backend] = try metricKeys(json.stdout)
        }
        #expect(keys["native"]?.isSuperset(of: ["pp_tps", "tg_tps", "ttft_seconds", "itl_seconds", "tpot_seconds", "e2e_seconds", "peak_rss_bytes", "weights_bytes"]) == true,
                "\(keys["native"] ?? [])")
        let reported = keys.values.reduce(keys["native"]!) { $0.intersection($1) }
        #expect(reported.isSuperset(of: ["pp_tps", "tg_tps", "ttft_seconds", "itl_seconds", "tpot_seconds", "e2e_seconds", "peak_rss_bytes", "rss_after_load_bytes", "weights_bytes", "load_seconds"]),
                "common metrics: \(reported.sorted())")
    }

    @Test func badRunsAreUsageErrorsOrFailedRunsNamingTheCause() throws {
        let badBackend = try slmbench(["run", "--backend", "tensorrt", "--model", "x.gguf"])
        #expect(badBackend.status == 64 && badBackend.stderr.contains("--backend"))
        let badKV = try slmbench(["run", "--model", "x.gguf", "--kv", "q4"])
        #expect(badKV.status == 64 && badKV.stderr.contains("--kv"))
        let dir = try TestPaths.temporaryDirectory()
        let broken = dir.appendingPathComponent("broken.gguf")
        try Data(repeating: 7, count: 100).write(to: broken)
        let failed = try slmbench(["run", "--model", broken.path, "--prompt", "4", "--gen", "2"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains(broken.path) && failed.stdout.contains("status   failed"), "\(failed.stdout)\n\(failed.stderr)")
    }

    @Test func aLibllamaOfAnotherVersionIsRefusedClearly() throws {
        try requireRealModel()
        let dir = try TestPaths.temporaryDirectory()
        let source = dir.appendingPathComponent("fake.c")
        try Data(#"const char *ggml_version(void) { return "0.9.0"; } const char *ggml_commit(void) { return "abcdef0"; }"#.utf8).write(to: source)
        let cc = try runCommand(URL(fileURLWithPath: "/usr/bin/gcc"), ["-shared", "-fPIC", source.path, "-o", dir.appendingPathComponent("libggml-base.so").path])
        try #require(cc.status == 0, "gcc: \(cc.stderr)")
        try Data().write(to: dir.appendingPathComponent("libllama.so"))
        var environment = ProcessInfo.processInfo.environment
        environment["SLMBENCH_LLAMACPP_LIB"] = dir.path
        let result = try slmbench(["run", "--backend", "llama.cpp", "--model", "smollm2-135m", "--prompt", "4", "--gen", "2"], environment: environment)
        #expect(result.status == 1)
        #expect(result.stdout.contains("backend-version") && result.stdout.contains("0.9.0") && result.stdout.contains("0.25.3"), "\(result.stdout)\n\(result.stderr)")
    }

    @Test func generateContinuesAFactualPrompt() throws {
        try requireRealModel()
        let result = try slmbench(["generate", "--model", "smollm2-135m", "--type", "q8_0", "--greedy", "--prompt", "The capital of France is", "--max-tokens", "8"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("The capital of France is") && result.stdout.contains("Paris"), "\(result.stdout)")
    }

    @Test func qualityRefusesSyntheticWeights() throws {
        try requireRealModel()
        let dir = try TestPaths.temporaryDirectory()
        let synth = dir.appendingPathComponent("tiny.gguf").path
        let made = try slmbench(["models", "synth", "--preset", "tiny", "--type", "q8_0", "--output", synth])
        try #require(made.status == 0, "\(made.stderr)")
        let result = try slmbench(["quality", "--model", synth])
        #expect(result.status == 1 && result.stderr.contains("synthetic"), "\(result.stderr)")
    }

    /// OLMo 2 is not in the native engine: quality says so, runs every variant on llama.cpp and
    /// names it, and still reports perplexity and KL divergence.
    @Test func qualityOfAFileOnlyLlamaCppRunsUsesLlamaCpp() throws {
        try requireRealModel()
        let model = try TestPaths.temporaryDirectory().appendingPathComponent("olmo2.gguf").path
        try GGUFFixtures.unmarkedModel(preset: "tiny-olmo2", type: .f32, output: model)
        let result = try slmbench(["quality", "--model", model, "--type", "q8_0", "--chunks", "2", "--context", "64"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("does not run architecture 'olmo2'"), "\(result.stderr)")
        #expect(result.stdout.contains("on llama.cpp"), "\(result.stdout)")
        let q8 = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("| Q8_0 |") }, "\(result.stdout)")
        let cells = q8.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        // type, bits, PPL, ΔPPL, ΔPPL %, mean KLD, top-1: a perplexity and a KL divergence, both measured.
        #expect(Double(cells[2]).map { $0 > 1 } == true, "\(q8)")
        #expect(Double(cells[5]).map { $0 >= 0 && $0 < 0.1 } == true, "\(q8)")
    }
}

@Suite("worker protocol schema")
struct WorkerSchemaTests {
    @Test func aRealExchangeValidatesAgainstThePublishedSchema() throws {
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        let dir = try TestPaths.temporaryDirectory()
        let request = #"{"protocol": 1, "id": "schema-check", "run": {"backend": "native", "model": "\#(RealModel.path.path)", "model_name": "smollm2-135m", "type": null, "threads": 1, "batch": 2, "prompt_tokens": 8, "gen_tokens": 3, "kv_type": "f16", "warmup": 0, "repetitions": 1, "seed": 3, "cpus": [], "numa": "default"}}"#
        let requestFile = dir.appendingPathComponent("request.jsonl")
        try Data((request + "\n").utf8).write(to: requestFile)
        let worker = try runCommand(URL(fileURLWithPath: "/bin/sh"), ["-c", "\"$0\" worker < \"$1\"", TestPaths.slmbenchExecutable.path, requestFile.path])
        #expect(worker.status == 0, "\(worker.stderr)")
        #expect(worker.stdout.contains(#""type":"result""#), "\(worker.stdout)")
        let output = dir.appendingPathComponent("output.jsonl")
        try Data(worker.stdout.utf8).write(to: output)
        let bad = dir.appendingPathComponent("bad.jsonl")
        try Data(#"{"protocol": 1, "type": "result", "metrics": {"batch": 1}, "backend": {"name": "x", "version": "1"}}"#.utf8).write(to: bad)
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/check/check-worker-schema.py")
        let good = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, requestFile.path, output.path])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        let refused = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, bad.path])
        #expect(refused.status == 1 && refused.stdout.contains("bad.jsonl:1"), "the schema must catch a result without samples: \(refused.stdout)")

        // A quality request (a sweep's quality evaluation) and its answer: the real model against itself.
        let quality = #"{"protocol": 1, "id": "quality|smollm2-135m", "quality": {"variants": [{"label": "F32", "backend": "native", "path": "\#(RealModel.path.path)"}, {"label": "again", "backend": "native", "path": "\#(RealModel.path.path)"}], "context": 32, "chunks": 1, "threads": 1}}"#
        let qualityFile = dir.appendingPathComponent("quality.jsonl")
        try Data((quality + "\n").utf8).write(to: qualityFile)
        let answered = try runCommand(URL(fileURLWithPath: "/bin/sh"), ["-c", "\"$0\" worker < \"$1\"", TestPaths.slmbenchExecutable.path, qualityFile.path])
        #expect(answered.status == 0 && answered.stdout.contains(#""mean_kld":0"#), "\(answered.stdout)\(answered.stderr)")
        let qualityOutput = dir.appendingPathComponent("quality-output.jsonl")
        try Data(answered.stdout.utf8).write(to: qualityOutput)
        let qualityChecked = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, qualityFile.path, qualityOutput.path])
        #expect(qualityChecked.status == 0, "\(qualityChecked.stdout)\(qualityChecked.stderr)")
    }
}
