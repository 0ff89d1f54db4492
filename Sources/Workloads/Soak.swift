import Foundation
import Measures
import Reporter
import Worker

/// `slmbench soak`: one configuration back to back in one worker for a duration (the worker's
/// sustained mode), sampled throughout; the burst and steady-state rates, the time to throttle
/// and the energy per token in both, written as `soak.json` and drawn in `soak.html`.
public enum Soak {
    public struct Outcome {
        public var record: RunRecord
        public var summary: SustainedSummary?
        public var report: SoakReport?
        public var jsonPath: URL?
        public var htmlPath: URL?
    }

    /// What soak.json holds.
    struct Document: Encodable {
        var energy: String
        var summary: SustainedSummary?
        var record: RunRecord
    }

    /// Runs `spec` (its `sustainSeconds` and `sampling` set) and writes the folder `outDir`.
    public static func run(_ spec: RunSpec, command: WorkerCommand, energy: EnergySetup, outDir: URL, memoryLimitBytes: Int? = nil,
                           generatedBy: String, workerExecutable: String? = nil,
                           onProgress: @escaping @Sendable (WorkerMessage) -> Void = { _ in }) throws -> Outcome {
        let duration = spec.sustainSeconds ?? 0
        // Loading, the warm-up and the last repetition come on top of the duration.
        let limits = WorkerLimits(timeoutSeconds: duration * 1.5 + 600, memoryLimitBytes: memoryLimitBytes)
        let record = RunLauncher.run(spec, command: command, limits: limits, id: "soak", workerExecutable: workerExecutable, onProgress: onProgress)
        var outcome = Outcome(record: record)
        guard record.status == .ok, let samples = record.samples else { return outcome }
        let series = Series(samples, spec: spec, duration: duration)
        let (decode, times, rates, reps, span) = (spec.genTokens > 0, series.times, series.rates, series.count, series.span)
        outcome.summary = series.summary
        let sampling = samples.sampling
        var notes = ["\(spec.backend.rawValue) · \(spec.modelName) \(spec.type ?? "as stored") · \(spec.threads) thread\(spec.threads == 1 ? "" : "s") · batch \(spec.batch) · prompt \(spec.promptTokens) · gen \(spec.genTokens) · \(Int(duration)) s asked, \(reps) repetitions in \(Int(span)) s",
                     energy.probeLine]
        if let sampling { notes.append("sampling: " + sampling.summary) }
        if let why = sampling?.throttled { notes.append("throttled: \(why)") }
        let report = SoakReport(title: "Soak: \(spec.modelName) \(spec.type ?? "")", notes: notes, summary: outcome.summary,
                                repetitionSeconds: times, rates: rates, rateLabel: decode ? "decode t/s" : "prefill t/s",
                                sampleSeconds: sampling?.seriesSeconds ?? [], watts: sampling?.seriesWatts ?? [],
                                tempC: sampling?.seriesTempC ?? [], mhz: sampling?.seriesMhz ?? [],
                                energyUnavailable: sampling?.energyUnavailable, generatedBy: generatedBy)
        outcome.report = report
        do {
            try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
            let json = outDir.appendingPathComponent("soak.json"), html = outDir.appendingPathComponent("soak.html")
            let encoder = ProtocolJSON.encoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try encoder.encode(Document(energy: energy.probeLine, summary: outcome.summary, record: record)).write(to: json, options: .atomic)
            try Data(report.render().utf8).write(to: html, options: .atomic)
            outcome.jsonPath = json
            outcome.htmlPath = html
        } catch {
            throw InputError("--out \(outDir.path): cannot write the soak's files: \(error.localizedDescription)")
        }
        return outcome
    }

    /// A sustained run's primary rate over time (decode t/s, or prefill t/s for a prefill-only
    /// run), and its burst and steady-state summary. Shared by `soak` and a sweep's `sustain:`.
    public struct Series {
        public var times: [Double] = []
        public var rates: [Double] = []
        public var joulesPerToken: [Double?] = []
        /// From the first repetition's start to the last one's end.
        public var span: Double
        public var summary: SustainedSummary?
        public var count: Int { times.count }

        public init(_ samples: RunSamples, spec: RunSpec, duration: Double) {
            let decode = spec.genTokens > 0
            // Repetitions with a rate (a decode needs at least one step); none is counted as zero.
            var end: Double?
            for r in samples.repetitions {
                guard let rate = decode ? r.decodeRate(batch: spec.batch) : r.prefillRate(batch: spec.batch, promptTokens: spec.promptTokens) else { continue }
                end = (r.startSeconds ?? 0) + r.e2eSeconds
                times.append(r.startSeconds ?? 0)
                rates.append(rate)
                joulesPerToken.append(decode ? r.decodeJoules.flatMap { r.stepSeconds.isEmpty ? nil : $0 / Double(r.stepSeconds.count * spec.batch) }
                                      : r.prefillJoules.flatMap { spec.promptTokens > 0 ? $0 / Double(spec.promptTokens * spec.batch) : nil })
            }
            span = end ?? duration
            summary = SustainedSummary(times: times, rates: rates, joulesPerToken: joulesPerToken, durationSeconds: span)
        }
    }
}
