import Backends
import Engine
import Foundation
import Measures
import Worker

/// The `llama-bench` backend: for a device with llama.cpp but no slmbench (a phone). A local
/// worker (`slmbench llama-bench-worker`, speaking the worker protocol to the sweep) runs the
/// device's `llama-bench -o jsonl` with the run's parameters and turns its output into the same
/// samples a worker reports. What llama-bench does not measure is marked missing, not guessed:
/// TTFT, inter-token latency, TPOT, end-to-end time and load time (`missingMetrics`).
public enum LlamaBench {
    public static let backendName = "llama-bench"

    /// The metrics a llama-bench run cannot give; the runner drops them from its summary.
    public static let missingMetrics: [Metric] = [.ttft, .itlP50, .itlP90, .itlP99, .tpot, .e2e, .load, .warmLoad]

    /// Derived metrics with what llama-bench did not measure removed (the per-step times are its
    /// mean, the load time is not reported).
    public static func withoutMissing(_ metrics: RunMetrics) -> RunMetrics {
        var m = metrics
        m.ttftSeconds = nil; m.itlSeconds = nil; m.tpotSeconds = nil; m.e2eSeconds = nil; m.warmLoadSeconds = nil
        return m
    }

    /// The llama-bench command line for a run, or why the run cannot be expressed in it.
    public static func words(_ spec: RunSpec, program: String) -> Result<[String], InputError> {
        guard spec.batch == 1 else { return .failure(InputError("llama-bench measures one sequence; batch \(spec.batch) needs slmbench's worker")) }
        guard spec.promptTokens > 0 || spec.genTokens > 0 else { return .failure(InputError("llama-bench needs prompt or gen tokens")) }
        var words = [program, "-m", spec.model, "-p", String(spec.promptTokens), "-n", String(spec.genTokens),
                     "-t", String(spec.threads), "-r", String(max(1, spec.repetitions)), "-o", "jsonl",
                     "-ctk", spec.kvType.rawValue, "-ctv", spec.kvType.rawValue]
        // llama.cpp reads a quantized V cache only in its flash-attention path; an f32 or f16
        // cache keeps llama-bench's own default (auto, which is on for the CPU backend).
        if spec.kvType.isBlock { words += ["-fa", "1"] }
        if let depth = spec.depth, depth > 0 { words += ["-d", String(depth)] }
        return .success(words)
    }

    /// Runs llama-bench for `spec` (on `device`, or here when nil) and returns the samples and
    /// the identity it reports; the error is a code and a message for the worker's error line.
    public static func measure(_ spec: RunSpec, device: Device?, program: String?, timeout: Double) -> Result<(RunSamples, BackendIdentity), BackendError> {
        let binary = program ?? device?.llamaBench ?? "llama-bench"
        let words: [String]
        switch self.words(spec, program: binary) {
        case let .success(w): words = w
        case let .failure(e): return .failure(BackendError("unsupported", e.description))
        }
        let result: Captured
        if let device { result = Transport(device).run(words, timeout: timeout) }
        else { result = Captured.run(words[0], Array(words.dropFirst()), timeout: timeout, input: nil) }
        guard result.status == 0 else {
            return .failure(BackendError("llama-bench", "\(binary) failed on \(device?.name ?? "this machine"): \(result.problem)"))
        }
        do { return .success(try parse(result.text, spec: spec)) } catch {
            return .failure(BackendError("llama-bench-output", "\(binary)'s output: \(error)"))
        }
    }

    /// llama-bench's JSON lines (one per test: pp with n_gen 0, tg with n_prompt 0) as samples.
    /// The output is untrusted: every number is checked before use.
    public static func parse(_ text: String, spec: RunSpec) throws(InputError) -> (RunSamples, BackendIdentity) {
        var prefill: [Double]?, decode: [Double]?
        var identity = BackendIdentity(name: backendName, version: "unknown")
        for line in text.split(separator: "\n").prefix(64) where line.hasPrefix("{") {
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) else { continue }
            guard let nPrompt = value["n_prompt"]?.number, let nGen = value["n_gen"]?.number,
                  case let .array(samples)? = value["samples_ns"] else { throw InputError("a line lacks n_prompt, n_gen or samples_ns") }
            let seconds = samples.compactMap(\.number).map { $0 / 1e9 }
            guard seconds.count == samples.count, !seconds.isEmpty, seconds.count <= 10_000,
                  seconds.allSatisfy({ $0.isFinite && $0 > 0 && $0 < 1e6 }) else {
                throw InputError("samples_ns must be positive nanosecond counts")
            }
            if nGen == 0, nPrompt == Double(spec.promptTokens) { prefill = seconds }
            else if nPrompt == 0, nGen == Double(spec.genTokens) { decode = seconds }
            else { throw InputError("a test with n_prompt \(nPrompt) and n_gen \(nGen) was not asked for") }
            var build: [String: String] = [:]
            for key in ["build_commit", "build_number", "cpu_info", "backends", "model_type"] {
                if let v = value[key] { build[key] = String((v.string ?? v.number.map { String(Int($0)) } ?? "").prefix(200)) }
            }
            identity = BackendIdentity(name: backendName, version: build["build_number"] ?? "unknown", build: build)
        }
        guard spec.promptTokens == 0 || prefill != nil else { throw InputError("no prompt-processing (pp) test in the output") }
        guard spec.genTokens == 0 || decode != nil else { throw InputError("no generation (tg) test in the output") }
        let count = min(prefill?.count ?? Int.max, decode?.count ?? Int.max)
        let repetitions = (0..<count).map { i -> RunSamples.Repetition in
            let p = prefill.map { [$0[i]] } ?? []
            // llama-bench times the whole tg test: each step gets the mean, so the decode rate is
            // exact and the step spread is unknown (inter-token latencies are marked missing).
            let steps = decode.map { Array(repeating: $0[i] / Double(spec.genTokens), count: spec.genTokens) } ?? []
            return .init(prefillSeconds: p, ttftSeconds: [], stepSeconds: steps, e2eSeconds: p.reduce(0, +) + steps.reduce(0, +),
                         generatedTokens: spec.genTokens)
        }
        return (RunSamples(promptTokens: spec.promptTokens, batch: 1, loadSeconds: 0, repetitions: repetitions, memory: BackendMemory(),
                           rssAfterLoadBytes: nil, firstTokens: []), identity)
    }
}
