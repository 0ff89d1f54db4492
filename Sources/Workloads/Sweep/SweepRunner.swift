import Backends
import DeviceProbe
import Foundation
import Measures
import ModelFormat
import ResultStore
import Worker

/// Facts about where and with what a sweep runs, stamped into every result's context block.
public struct SweepEnvironment: Codable, Sendable, Equatable {
    public var hostname: String
    public var os: String?
    public var kernel: String?
    public var governor: String?
    public var fingerprint: String
    public var buildConfiguration: String
    public var slmbenchVersion: String
    /// `git describe`-style commit of the slmbench source, with `-dirty` for local changes; nil when unknown.
    public var slmbenchCommit: String?
    /// The device the runs executed on (its name or URL), when it is not the machine running slmbench.
    public var device: String?
    public var deviceURL: String?

    public init(profile: HardwareProfile, buildConfiguration: String, slmbenchVersion: String, slmbenchCommit: String?) {
        hostname = profile.system?.hostname ?? profile.name
        os = profile.system?.os
        kernel = profile.system?.kernel
        governor = profile.frequency?.governor
        fingerprint = profile.fingerprint
        self.buildConfiguration = buildConfiguration
        self.slmbenchVersion = slmbenchVersion
        self.slmbenchCommit = slmbenchCommit
    }
}

/// Runs a plan: one worker process per run, every outcome journaled (fsync) and then stored,
/// resumable after any interruption, with progress on stderr.
public final class SweepRunner: @unchecked Sendable {
    public struct Options {
        public var outDir: URL
        public var store: StoreLocation
        public var shard: (index: Int, count: Int)?
        public var resume: Bool
        /// Replaces the running executable as slmbench's worker (tests).
        public var workerExecutable: String?
        public var sweepId: String
        /// Energy, heat and clock sampling for every run (issue 25), with the idle baseline.
        public var energy: EnergySetup?
        /// The device the runs execute on (nil: this machine).
        public var device: RemoteSession?
        public init(outDir: URL, store: StoreLocation, shard: (Int, Int)?, resume: Bool, workerExecutable: String? = nil, sweepId: String,
                    energy: EnergySetup? = nil, device: RemoteSession? = nil) {
            self.outDir = outDir; self.store = store; self.shard = shard.map { (index: $0.0, count: $0.1) }
            self.resume = resume; self.workerExecutable = workerExecutable; self.sweepId = sweepId; self.energy = energy; self.device = device
        }
    }

    public struct Outcome {
        public var sweepId: String
        public var entries: [StoredRun]
        public var executed: Int
        public var resumedFrom: Int
        public var failed: Int
    }

    let plan: SweepPlan
    let options: Options
    let environment: SweepEnvironment
    let profile: HardwareProfile
    let preparer: ModelPreparer
    let progress: SweepProgress

    public init(plan: SweepPlan, options: Options, environment: SweepEnvironment, profile: HardwareProfile,
                preparer: ModelPreparer = ModelPreparer(), progress: SweepProgress = SweepProgress()) {
        self.plan = plan; self.options = options; self.environment = environment; self.profile = profile
        self.preparer = preparer; self.progress = progress
    }

    var shardLabel: String? { options.shard.map { "\($0.index)of\($0.count)" } }

    /// Everything this sweep (or shard) executes, in order.
    public var order: [PlannedRun] {
        let selected = options.shard.map { plan.shard($0.index, of: $0.count) } ?? plan.runs
        var order = plan.executionOrder(runs: selected, shardLabel: shardLabel)
        if options.shard == nil || options.shard?.index == 1 { order += plan.quality }
        return order
    }

    public func run() throws -> Outcome {
        let fm = FileManager.default
        let journalPath = options.outDir.appendingPathComponent("journal.jsonl").path
        let headerPath = options.outDir.appendingPathComponent("sweep.json")
        let order = self.order
        let header = SweepHeader(id: options.sweepId, name: plan.spec.name, specFile: plan.spec.file, specDigest: plan.spec.digest,
                                 specText: plan.spec.text,
                                 shard: options.shard.map { "\($0.index)/\($0.count)" }, startedAt: Self.now(),
                                 hostname: environment.hostname, fingerprint: environment.fingerprint, planned: order.count,
                                 driftThreshold: plan.spec.reference.drift)
        if fm.fileExists(atPath: headerPath.path) {
            let existing: SweepHeader
            do { existing = try StoreJSON.decoder().decode(SweepHeader.self, from: Data(contentsOf: headerPath)) } catch {
                throw StoreError("\(headerPath.path): not a sweep header: \(error)")
            }
            guard options.resume else {
                throw StoreError("\(options.outDir.path) already holds sweep \(existing.id); pass --resume to continue it, or choose another --out")
            }
            guard existing.specDigest == header.specDigest else {
                throw StoreError("\(plan.spec.file) changed since sweep \(existing.id) started (spec digest differs); resuming would mix two plans. Use a new --out")
            }
            guard existing.shard == header.shard else {
                throw StoreError("\(options.outDir.path) holds shard \(existing.shard ?? "none"), not \(header.shard ?? "the whole plan")")
            }
        } else {
            do {
                try fm.createDirectory(at: options.outDir, withIntermediateDirectories: true)
                try SweepFolder.writeAtomically(try StoreJSON.encoder().encode(header), to: headerPath)
            } catch let e as StoreError { throw e } catch { throw StoreError("\(options.outDir.path): cannot create the sweep folder: \(error)") }
        }
        let sweepId = (try? StoreJSON.decoder().decode(SweepHeader.self, from: Data(contentsOf: headerPath)).id) ?? options.sweepId
        var savedHeader = header
        savedHeader.id = sweepId

        // What is already done: the journal is the truth; the database catches up from it.
        let (previous, _) = try Journal.read(path: journalPath)
        let done = Journal.latest(previous)
        let journal = try Journal(path: journalPath)
        let store = try options.store.open()
        try store.saveSweep(savedHeader)
        if let json = try? String(decoding: StoreJSON.encoder().encode(profile), as: UTF8.self) {
            try store.saveProfile(fingerprint: profile.fingerprint, name: profile.name, json: json)
        }
        try store.save(done.values.sorted { $0.seq < $1.seq })

        let remaining = order.filter { done[$0.key] == nil }
        progress.start(total: order.count, done: order.count - remaining.count, runnable: remaining.filter { $0.skip == nil }.count)
        for (index, entry) in remaining.enumerated() {
            // A device that does not answer stops the sweep before the run, which stays unrun
            // (not failed) for --resume; a run it drops in the middle is a recorded failure.
            if let device = options.device, entry.skip == nil, case let .failure(error) = device.transport.reachable() {
                progress.end()
                throw StoreError("\(error.description). The sweep stopped with \(order.count - remaining.count + index) of \(order.count) entries done; run it again with --resume when the device is back")
            }
            progress.begin(entry)
            let stored = execute(entry, sweepId: sweepId, store: store)
            try journal.append(stored)
            try store.save([stored])
            progress.finish(entry, stored)
            if entry.skip == nil && plan.spec.measurement.cooldownSeconds > 0 && entry.kind != .quality {
                Thread.sleep(forTimeInterval: plan.spec.measurement.cooldownSeconds)
            }
        }
        progress.end()

        // Drift: flags derive from the reference results in the order runs executed (the
        // journal's order), so they are recomputed after every resume and never written back
        // into the journal; the database's flag column follows them.
        let journaled = try Journal.read(path: journalPath).0
        var all = Journal.latest(journaled)
        let changed = Drift.apply(to: &all, journalOrder: journaled, threshold: plan.spec.reference.drift)
        try store.save(changed)
        let entries = order.compactMap { all[$0.key] }
        return Outcome(sweepId: sweepId, entries: entries, executed: remaining.count, resumedFrom: order.count - remaining.count,
                       failed: entries.filter { $0.status.isFailure }.count)
    }

    func execute(_ entry: PlannedRun, sweepId: String, store: any ResultsStore) -> StoredRun {
        let p = entry.point
        var config = RunConfig(run: entry.run, backend: p.backend, placement: p.placement, model: nil)
        var context: [String: JSONValue] = ["environment": (try? ProtocolJSON.value(environment)) ?? .null]
        func stored(_ status: RunStatus, _ reason: String?, record: JSONValue = .null, summary: MetricValues = MetricValues(),
                    avg: SampleSummary? = nil, pp: Double? = nil, tg: Double? = nil, rss: Int? = nil, flags: [String] = []) -> StoredRun {
            StoredRun(sweepId: sweepId, key: entry.key, kind: entry.kind, seq: entry.seq, status: status, reason: reason,
                      config: config, avgTs: avg?.mean, stddevTs: avg?.stddev, samplesTs: avg.map { _ in [] } ?? [], ppAvgTs: pp, tgAvgTs: tg,
                      peakRssBytes: rss, predictedBytes: entry.predictedBytes, summary: summary, flags: flags, finishedAt: Self.now(),
                      record: Self.text(record), context: Self.text(.object(context)))
        }
        if let skip = entry.skip { return stored(.skipped, skip) }
        if entry.kind == .quality {
            if let device = options.device { return stored(.skipped, "quality is evaluated on this machine, not on \(device.device.name): run it in a local sweep") }
            let q = quality(entry)
            return stored(q.status, q.reason, record: q.record, summary: q.summary)
        }

        let model: PreparedModel
        do {
            model = try preparer.prepare(p.model, type: p.type, method: QuantMethod(rawValue: p.method) ?? .rtn,
                                         calibration: plan.spec.calibration) { self.progress.note($0) }
        } catch { return stored(.model, "cannot prepare \(p.model) at \(p.type)\(p.quantMethod.map { " by \($0)" } ?? ""): \(error)") }
        var spec = entry.run
        spec.model = model.path
        spec.modelName = model.name
        if let device = options.device {
            do { spec.model = try device.place(localPath: model.path, sha256: model.sha256) { self.progress.note($0) } } catch {
                return stored(.model, "cannot place \(p.model) at \(p.type) on \(device.device.name): \(error)")
            }
        }
        config = RunConfig(run: spec, backend: p.backend, placement: p.placement, model: model)
        try? store.saveModel(sha256: model.sha256, name: model.name, type: p.type, size: model.sizeBytes, params: model.parameters,
                             synthetic: model.synthetic)
        let m = plan.spec.measurement
        // The spec reader checks every backend (the reference's too); a plan built some other way
        // still gets a recorded failure here, not a crash of the whole sweep.
        // llama-bench's worker runs here and reaches the device itself; other workers run there.
        let llamaBench = p.backend == LlamaBench.backendName
        guard var command = llamaBench
                ? WorkerCommand.external(program: options.workerExecutable ?? RunLauncher.selfExecutable,
                            arguments: ["llama-bench-worker"] + (options.device.map { ["--on", $0.device.name] } ?? []))
                : WorkerCommand.parse(p.backend, arguments: plan.spec.backendArguments[p.backend] ?? []) else {
            return stored(.launch, "backend '\(p.backend)' is not native, llama.cpp, llama-bench or cmd:PROGRAM")
        }
        if let device = options.device, !llamaBench { command = device.remote(command) }
        context["model_sha256"] = .string(model.sha256)
        context["model_file"] = .string(model.path)
        if let energy = options.energy {
            // External workers are not asked to sample (the protocol's `sampling` is slmbench's own).
            if case .builtIn = command { spec.sampling = energy.request }
            if let note = energy.waitForStartTemperature(progress: { self.progress.note($0) }) { context["start_gate"] = .string(note) }
        }
        context["run"] = (try? ProtocolJSON.value(spec)) ?? .null
        var limit = plan.availableBytes.map { Swift.max($0 * 9 / 10, (entry.predictedBytes ?? 0) * 2) }
        if let ceiling = m.memoryLimitBytes { limit = Swift.min(limit ?? ceiling, ceiling) }
        // On a device the local process is ssh: its resident set says nothing about the worker.
        if options.device != nil { limit = nil; context["model_file_on_device"] = .string(spec.model) }
        var record = RunLauncher.run(spec, command: command, limits: WorkerLimits(timeoutSeconds: m.workerTimeoutSeconds, memoryLimitBytes: limit),
                                     id: entry.key, workerExecutable: options.workerExecutable) { message in
            if case let .progress(stage, fraction) = message { self.progress.stage(stage, fraction) }
        }
        if let device = options.device { record = device.interpret(record) }
        if llamaBench { record.metrics = record.metrics.map(LlamaBench.withoutMissing) }
        if let backend = record.backend { context["backend"] = (try? ProtocolJSON.value(backend)) ?? .null }
        if let sampling = record.samples?.sampling { context["sampling"] = .string(sampling.summary) }
        let recordJSON = (try? ProtocolJSON.value(record)) ?? .null
        guard record.status == .ok, let metrics = record.metrics, let samples = record.samples else {
            return stored(record.status, record.reason ?? "no reason given", record: recordJSON, rss: record.peakRssBytes)
        }
        let primaryValues = samples.repetitions.compactMap { Measurement.primaryRate(spec, $0) }
        let primary = SampleSummary(primaryValues, looks: samples.looks)
        var flags: [RunFlag] = []
        // A sustained run is meant to show drift: its spread is the finding, not noise.
        if let primary, spec.sustainSeconds == nil {
            if primary.cv > m.highCV { flags.append(.highCV) }
            if primary.count >= m.maxRepetitions, primary.mean > 0, primary.ci95 / primary.mean > m.targetHalfWidth { flags.append(.ciNotReached) }
        }
        if metrics.throttled != nil { flags.append(.throttled) }
        var summary = MetricValues()
        summary.addEnergy(metrics)
        summary[.load] = metrics.loadSeconds
        summary[.repetitions] = Double(samples.repetitions.count)
        if let warm = metrics.warmLoadSeconds { summary[.warmLoad] = warm }
        if let primary { summary[.cv] = primary.cv; summary[.ci95Relative] = primary.mean > 0 ? primary.ci95 / primary.mean : 0 }
        if let t = metrics.ttftSeconds { summary[.ttft] = t.median * 1e3 }
        if let l = metrics.itlSeconds { summary[.itlP50] = l.p50 * 1e3; summary[.itlP90] = l.p90 * 1e3; summary[.itlP99] = l.p99 * 1e3 }
        if let e = metrics.e2eSeconds { summary[.e2e] = e.median * 1e3 }
        if let tp = metrics.tpotSeconds { summary[.tpot] = tp.median * 1e3 }
        if let kv = metrics.kvCacheBytes { summary[.kvCacheBytes] = Double(kv) }
        if let w = metrics.weightsBytes { summary[.weightsBytes] = Double(w) }
        if let sustain = spec.sustainSeconds, let sustained = Soak.Series(samples, spec: spec, duration: sustain).summary {
            summary[.burstTs] = sustained.burstRate
            summary[.steadyTs] = sustained.steadyRate
            summary[.throttleAfter] = sustained.timeToThrottleSeconds
            context["sustained"] = (try? ProtocolJSON.value(sustained)) ?? .null
        }
        if llamaBench { for metric in LlamaBench.missingMetrics { summary[metric] = nil } }
        var result = stored(.ok, nil, record: recordJSON, summary: summary, avg: primary, pp: metrics.ppTps?.mean, tg: metrics.tgTps?.mean,
                            rss: record.peakRssBytes, flags: flags.map(\.rawValue))
        result.samplesTs = primaryValues
        return result
    }

    /// One real model's types against its F32 conversion, in a worker process: a crash or a run
    /// past the memory ceiling costs this evaluation, not the sweep. The timeout is the spec's,
    /// once per variant (each variant is about one run's work).
    func quality(_ entry: PlannedRun) -> (status: RunStatus, reason: String?, record: JSONValue, summary: MetricValues) {
        let q = plan.spec.quality
        let p = entry.point
        do {
            var variants = [QualitySpec.Variant(label: "F32", backend: .native, path: try preparer.prepare(p.model, type: "f32").path)]
            let method = QuantMethod(rawValue: p.method) ?? .rtn
            for type in p.type.split(separator: ",").map(String.init) where type != "f32" {
                variants.append(.init(label: type, backend: .native,
                                      path: try preparer.prepare(p.model, type: type, method: method, calibration: plan.spec.calibration).path))
            }
            progress.stage("quality", nil)
            let spec = QualitySpec(variants: variants, corpus: q.corpus, context: q.context, chunks: q.chunks, threads: q.threads)
            let m = plan.spec.measurement
            var limit = plan.availableBytes.map { $0 * 9 / 10 }
            if let ceiling = m.memoryLimitBytes { limit = Swift.min(limit ?? ceiling, ceiling) }
            let outcome = RunLauncher.quality(spec, limits: WorkerLimits(timeoutSeconds: m.timeoutSeconds * Double(variants.count), memoryLimitBytes: limit),
                                              id: entry.key, workerExecutable: options.workerExecutable) { message in
                if case let .progress(stage, _) = message { self.progress.note(stage) }
            }
            guard outcome.status == .ok, let report = outcome.report else {
                return (outcome.status, "quality of \(p.model): \(outcome.reason ?? "no reason given")", .null, MetricValues())
            }
            var summary = MetricValues()
            let base = report.rows.first?.perplexity ?? .nan
            // Each variant's tensor bytes, for the size axis of the report's trade-off chart
            // (bits per weight = 32 × bytes ÷ the F32 variant's bytes).
            for v in variants {
                if let file = try? GGUFFile(path: v.path) { summary[.weightsBytes, variant: v.label] = Double(ModelSummary(file: file).tensorBytes) }
            }
            for row in report.rows {
                summary[.ppl, variant: row.variant] = row.perplexity
                if let d = row.deltaPerplexity { summary[.dpplPercent, variant: row.variant] = d / base * 100 }
                if let k = row.meanKLD { summary[.kld, variant: row.variant] = k }
                if let t = row.top1Agreement { summary[.top1Percent, variant: row.variant] = t * 100 }
            }
            return (.ok, nil, (try? ProtocolJSON.value(report)) ?? .null, summary)
        } catch {
            return (.failed, "quality of \(p.model): \(error)", .null, MetricValues())
        }
    }

    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }

    static func text(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

}
