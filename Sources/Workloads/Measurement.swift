import Backends
import Engine
import Foundation

/// The measurement protocol: load once, then warm-up and measured repetitions of
/// prefill-then-decode, each on cleared caches, every token chosen greedily.
///
/// Token timeline of one repetition (B sequences, P prompt tokens, G generated tokens each):
/// start → prefill of each sequence → first tokens sampled (TTFT) → decode steps, one token per
/// sequence each → last token (E2E). With P = 0 the first decode step is fed BOS and every
/// generated token comes from a decode step; with G = 0 only the prefill runs.
public enum Measurement {
    public static func run(_ spec: RunSpec, on backend: InferenceBackend,
                           progress: (String, Double?) -> Void = { _, _ in }) throws(BackendError) -> RunSamples {
        let problems = spec.problems()
        guard problems.isEmpty else { throw BackendError("bad-run", problems.joined(separator: "; ")) }
        progress("load", nil)
        let loadStart = MonotonicClock.now()
        try backend.load(modelPath: spec.model, options: spec.loadOptions)
        let loadSeconds = Double(MonotonicClock.now() - loadStart) / 1e9
        let rssAfterLoad = residentBytes()
        let vocabulary = backend.vocabularySize
        guard vocabulary > 0 else { throw BackendError("bad-model", "\(spec.model): the backend reports an empty vocabulary") }
        guard spec.batch <= backend.capabilities.maxSequences else {
            throw BackendError("unsupported-batch", "\(backend.identity.name) decodes at most \(backend.capabilities.maxSequences) sequences together; batch \(spec.batch) asked")
        }

        // Deterministic prompts: ids drawn from the seed, different per sequence.
        var rng = SplitMix64(seed: spec.seed)
        let prompts = (0..<spec.batch).map { _ in (0..<spec.promptTokens).map { _ in rng.next(below: vocabulary) } }

        var measured: [RunSamples.Repetition] = []
        var firstTokens: [Int32] = []
        let total = spec.warmup + spec.repetitions
        for index in 0..<total {
            let warm = index < spec.warmup
            progress(warm ? "warmup" : "measure", Double(index) / Double(total))
            let (repetition, tokens) = try once(spec, backend, prompts)
            if !warm {
                measured.append(repetition)
                if firstTokens.isEmpty { firstTokens = tokens }
            }
        }
        progress("done", 1)
        return RunSamples(promptTokens: spec.promptTokens, batch: spec.batch, loadSeconds: loadSeconds, repetitions: measured,
                          memory: backend.memory, rssAfterLoadBytes: rssAfterLoad, firstTokens: firstTokens)
    }

    private static func once(_ spec: RunSpec, _ backend: InferenceBackend, _ prompts: [[Int32]]) throws(BackendError)
        -> (RunSamples.Repetition, [Int32]) {
        for s in 0..<spec.batch { backend.clear(sequence: s) }
        let start = MonotonicClock.now()
        func since(_ t: UInt64) -> Double { Double(t &- start) / 1e9 }
        var prefill: [Double] = [], ttft: [Double] = [], steps: [Double] = []
        var last = [Int32](repeating: 1, count: spec.batch) // BOS when there is no prompt
        var output: [Int32] = []
        var generated = 0
        if spec.promptTokens > 0 {
            for s in 0..<spec.batch {
                prefill.append(try backend.prefill(prompts[s], sequence: s, allLogits: false).seconds)
                if spec.genTokens > 0 {
                    last[s] = argmax(backend.logits(0))
                    ttft.append(since(MonotonicClock.now()))
                    if s == 0 { output.append(last[s]) }
                }
            }
            if spec.genTokens > 0 { generated = 1 }
        }
        var previous = MonotonicClock.now()
        while generated < spec.genTokens {
            _ = try backend.decode((0..<spec.batch).map { (sequence: $0, token: last[$0]) })
            for s in 0..<spec.batch { last[s] = argmax(backend.logits(s)) }
            let now = MonotonicClock.now()
            steps.append(Double(now &- previous) / 1e9)
            previous = now
            if generated == 0 { ttft = Array(repeating: since(now), count: spec.batch) }
            output.append(last[0])
            generated += 1
        }
        let e2e = since(MonotonicClock.now())
        return (RunSamples.Repetition(prefillSeconds: prefill, ttftSeconds: ttft, stepSeconds: steps, e2eSeconds: e2e,
                                      generatedTokens: generated), output)
    }

    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 { Sampler.argmax(logits) }

    /// Resident set size of this process, from /proc/self/statm (pages × page size).
    public static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
