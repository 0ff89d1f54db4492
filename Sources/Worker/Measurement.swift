import Backends
import Engine
import Foundation
import Measures

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
        // Again, right away: the warm load (files in the page cache, allocator primed).
        backend.unload()
        let warmStart = MonotonicClock.now()
        try backend.load(modelPath: spec.model, options: spec.loadOptions)
        let warmLoadSeconds = Double(MonotonicClock.now() - warmStart) / 1e9
        let rssAfterLoad = residentBytes()
        let vocabulary = backend.vocabularySize
        guard vocabulary > 0 else { throw BackendError("bad-model", "\(spec.model): the backend reports an empty vocabulary") }
        guard spec.batch <= backend.capabilities.maxSequences else {
            throw BackendError("unsupported-batch", "\(backend.identity.name) decodes at most \(backend.capabilities.maxSequences) sequences together; batch \(spec.batch) asked")
        }

        // Deterministic prompts: ids drawn from the seed, different per sequence; the depth
        // tokens (context filled before timing) come first.
        var rng = SplitMix64(seed: spec.seed)
        let depth = spec.depth ?? 0
        let prompts = (0..<spec.batch).map { _ in (0..<spec.promptTokens).map { _ in rng.next(below: vocabulary) } }
        let fills = (0..<spec.batch).map { _ in (0..<depth).map { _ in rng.next(below: vocabulary) } }

        // Warm-up, then at least `repetitions` measured; with adaptive stopping, more until the
        // primary metric's 95% CI is tight enough or `maxRepetitions` is reached. The interval the
        // rule looks at is the one reported: Bonferroni-widened over the looks it could stop at.
        var measured: [RunSamples.Repetition] = []
        var firstTokens: [Int32] = []
        let most = max(spec.maxRepetitions ?? spec.repetitions, spec.repetitions)
        let total = spec.warmup + most
        let looks = spec.targetHalfWidth == nil ? nil : most - spec.repetitions + 1
        var index = 0
        while true {
            let warm = index < spec.warmup
            progress(warm ? "warmup" : "measure", Double(index) / Double(total))
            let (repetition, tokens) = try once(spec, backend, prompts, fills)
            index += 1
            if warm { continue }
            measured.append(repetition)
            if firstTokens.isEmpty { firstTokens = tokens }
            if measured.count >= most { break }
            if measured.count >= spec.repetitions {
                guard let target = spec.targetHalfWidth else { break }
                if let s = SampleSummary(measured.compactMap { primaryRate(spec, $0) }, looks: looks ?? 1), s.count >= 2, s.mean > 0, s.ci95 / s.mean <= target { break }
            }
        }
        progress("done", 1)
        return RunSamples(promptTokens: spec.promptTokens, batch: spec.batch, loadSeconds: loadSeconds, repetitions: measured,
                          memory: backend.memory, rssAfterLoadBytes: rssAfterLoad, firstTokens: firstTokens,
                          warmLoadSeconds: warmLoadSeconds, adaptiveLooks: looks)
    }

    /// The metric adaptive stopping watches: decode t/s when the run generates, else prefill t/s.
    public static func primaryRate(_ spec: RunSpec, _ r: RunSamples.Repetition) -> Double? {
        spec.genTokens > 0 ? r.decodeRate(batch: spec.batch) : r.prefillRate(batch: spec.batch, promptTokens: spec.promptTokens)
    }

    private static func once(_ spec: RunSpec, _ backend: InferenceBackend, _ prompts: [[Int32]], _ fills: [[Int32]]) throws(BackendError)
        -> (RunSamples.Repetition, [Int32]) {
        for s in 0..<spec.batch {
            backend.clear(sequence: s)
            if !fills[s].isEmpty { _ = try backend.prefill(fills[s], sequence: s, allLogits: false) }
        }
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
