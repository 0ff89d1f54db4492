import Backends
import DeviceProbe
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
        var windows: [Window] = []
        var firstTokens: [Int32] = []
        let most = max(spec.maxRepetitions ?? spec.repetitions, spec.repetitions)
        let total = spec.warmup + most
        let looks = spec.targetHalfWidth == nil || spec.sustainSeconds != nil ? nil : most - spec.repetitions + 1
        // The sampler runs from before the warm-up to after the last repetition, on its own thread.
        let sampling = spec.sampling.map { $0.sampler() }
        sampling?.0.start()
        var index = 0
        while true {
            let warm = index < spec.warmup
            if let sustain = spec.sustainSeconds, !warm {
                // Sustained mode reports the share of the duration that has passed.
                let elapsed = windows.last.map { $0.end - windows[0].start } ?? 0
                progress("measure", min(1, elapsed / sustain))
            } else {
                progress(warm ? "warmup" : "measure", spec.sustainSeconds == nil ? Double(index) / Double(total) : nil)
            }
            let result: (RunSamples.Repetition, [Int32], Window)
            do { result = try once(spec, backend, prompts, fills) } catch {
                _ = sampling?.0.stop()
                throw error
            }
            let (repetition, tokens, window) = result
            index += 1
            if warm { continue }
            measured.append(repetition)
            windows.append(window)
            if firstTokens.isEmpty { firstTokens = tokens }
            if let sustain = spec.sustainSeconds {
                // Sustained mode: back to back until the time is up (at least `repetitions`).
                if measured.count >= spec.repetitions && window.end - windows[0].start >= sustain { break }
                continue
            }
            if measured.count >= most { break }
            if measured.count >= spec.repetitions {
                guard let target = spec.targetHalfWidth else { break }
                if let s = SampleSummary(measured.compactMap { primaryRate(spec, $0) }, looks: looks ?? 1), s.count >= 2, s.mean > 0, s.ci95 / s.mean <= target { break }
            }
        }
        var report: SamplingReport?
        if let sampling {
            let (sampler, unavailable) = (sampling.0, sampling.energyUnavailable)
            let trace = sampler.stop()
            report = attach(trace, heat: sampler.heatDescription, unavailable: unavailable, spec: spec, to: &measured, windows: windows)
        }
        progress("done", 1)
        var samples = RunSamples(promptTokens: spec.promptTokens, batch: spec.batch, loadSeconds: loadSeconds, repetitions: measured,
                                 memory: backend.memory, rssAfterLoadBytes: rssAfterLoad, firstTokens: firstTokens,
                                 warmLoadSeconds: warmLoadSeconds, adaptiveLooks: looks)
        samples.sampling = report
        return samples
    }

    /// A repetition's instants on CLOCK_MONOTONIC (seconds): start, end of prefill (the last
    /// sequence's first token), end.
    struct Window { var start: Double; var prefillEnd: Double; var end: Double }

    /// Puts the trace's energy, heat and clocks into each repetition, and returns the report.
    static func attach(_ trace: SamplerTrace, heat: String, unavailable: String?, spec: RunSpec,
                       to measured: inout [RunSamples.Repetition], windows: [Window]) -> SamplingReport {
        let origin = windows.first?.start ?? trace.times.first ?? 0
        let report = SamplingReport(trace: trace, heat: heat, energyUnavailable: unavailable, idleWatts: spec.sampling?.idleWatts,
                                    origin: origin, window: windows.first.map { ($0.start, windows[windows.count - 1].end) })
        for i in measured.indices {
            let w = windows[i]
            measured[i].startSeconds = w.start - origin
            if report.energyUnavailable == nil {
                if spec.promptTokens > 0 { measured[i].prefillJoules = trace.joules(from: w.start, to: w.prefillEnd) }
                if !measured[i].stepSeconds.isEmpty { measured[i].decodeJoules = trace.joules(from: w.prefillEnd, to: w.end) }
            }
            measured[i].tempC = trace.values(trace.tempC, from: w.start, to: w.end).max()
            let clocks = trace.values(trace.mhz, from: w.start, to: w.end).sorted()
            measured[i].mhz = clocks.isEmpty ? nil : clocks[clocks.count / 2]
        }
        return report
    }

    /// The metric adaptive stopping watches: decode t/s when the run generates, else prefill t/s.
    public static func primaryRate(_ spec: RunSpec, _ r: RunSamples.Repetition) -> Double? {
        spec.genTokens > 0 ? r.decodeRate(batch: spec.batch) : r.prefillRate(batch: spec.batch, promptTokens: spec.promptTokens)
    }

    private static func once(_ spec: RunSpec, _ backend: InferenceBackend, _ prompts: [[Int32]], _ fills: [[Int32]]) throws(BackendError)
        -> (RunSamples.Repetition, [Int32], Window) {
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
        let prefillEnd = previous
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
        let end = MonotonicClock.now()
        let e2e = since(end)
        return (RunSamples.Repetition(prefillSeconds: prefill, ttftSeconds: ttft, stepSeconds: steps, e2eSeconds: e2e,
                                      generatedTokens: generated), output,
                Window(start: Double(start) / 1e9, prefillEnd: Double(prefillEnd) / 1e9, end: Double(end) / 1e9))
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
