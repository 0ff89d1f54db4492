import ArgumentParser
import Backends
import Engine
import Foundation
import Measures
import ModelFormat
import Worker
import Workloads

struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Run one configuration back to back for a while: burst against steady-state speed, time to throttle, energy per token.",
        discussion: reflow("""
            One worker runs measured repetitions without pause for --duration, sampling energy (where
            a collector exists), temperature and CPU clock throughout. Prints the burst rate (median
            of the first minute, or of the first quarter of a shorter soak), the steady-state rate
            (median of the last third) and their ratio, the time to throttle (the first lasting drop
            of 3% or more below burst, by E-divisive change points), and J/token in both. Writes
            DIR/soak.json and DIR/soak.html (the time series).
            """))

    @Option(help: "native or llama.cpp.") var backend = "native"
    @OptionGroup var model: ModelOptions
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Sequences decoded together.") var batch = 1
    @Option(help: "Prompt tokens per sequence (0: start from BOS).") var prompt = 128
    @Option(help: "Tokens generated per sequence per repetition (0: prefill only).") var gen = 64
    @Option(help: "KV-cache type.") var kv: KVType = .f32
    @Option(help: "How long to run: 600, 90s, 10m or 1h.") var duration = "10m"
    @Option(help: "Unmeasured repetitions first.") var warmup = 1
    @Option(help: "Seed of the prompt tokens.") var seed: UInt64 = 42
    @Option(help: "Folder for soak.json and soak.html (default: results/soak-MODEL-TIMESTAMP).") var out: String?
    @Option(help: "Kill the worker when its resident set passes this (e.g. 4GiB, 512MiB).") var memoryLimit: String?
    @Flag(help: "Print the summary as JSON.") var json = false
    @OptionGroup(title: "Energy and heat") var energy: EnergyOptions

    static func seconds(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces)
        for (suffix, scale) in [("s", 1.0), ("m", 60), ("h", 3600)] where t.hasSuffix(suffix) {
            return Double(t.dropLast()).map { $0 * scale }
        }
        return Double(t)
    }

    func validate() throws {
        guard ["native", "llama.cpp"].contains(backend) else { throw ValidationError("--backend must be native or llama.cpp for a soak, got '\(backend)'") }
        guard let d = Self.seconds(duration), d >= 10, d <= SpecLimits.timeoutSeconds else {
            throw ValidationError("--duration '\(duration)' is not a duration of at least 10 s like 90s, 10m or 1h")
        }
        guard gen == 0 || gen >= 2 else { throw ValidationError("--gen must be 0 (prefill only) or at least 2 (a decode rate needs a decode step)") }
        if let memoryLimit, ByteSize.parse(memoryLimit) == nil { throw ValidationError("--memory-limit '\(memoryLimit)' is not a size like 4GiB or 512MiB") }
        let problems = spec(path: "", name: "", seconds: Self.seconds(duration) ?? 10).problems()
        if let first = problems.first { throw ValidationError("--" + first.replacingOccurrences(of: "_tokens", with: "")) }
    }

    func spec(path: String, name: String, seconds: Double) -> RunSpec {
        var s = RunSpec(backend: backend == "native" ? .native : .llamaCpp, model: path, modelName: name, type: model.type?.lowercased(),
                        threads: threads, batch: batch, promptTokens: prompt, genTokens: gen, kvType: kv, warmup: warmup, repetitions: 1, seed: seed)
        s.sustainSeconds = seconds
        return s
    }

    func run() throws {
        let path = try model.resolve()
        let name = KnownModel.named(model.model)?.name ?? URL(fileURLWithPath: model.model).deletingPathExtension().lastPathComponent
        let seconds = Self.seconds(duration)!
        var spec = spec(path: path, name: name, seconds: seconds)
        let setup = try energy.setup()
        spec.sampling = setup.request
        if let note = setup.waitForStartTemperature(progress: { Console.progress($0) }) { Console.progress(note) }
        let folder = URL(fileURLWithPath: out ?? "results/soak-\(name)-\(Sweep.timestamp())")
        Console.progress("soaking \(name) \(spec.type ?? "") on \(backend) for \(Int(seconds)) s…")
        let reporter = SoakProgress(seconds: seconds)
        let outcome: Soak.Outcome
        do {
            outcome = try Soak.run(spec, command: .builtIn(backend: backend), energy: setup, outDir: folder,
                                   memoryLimitBytes: memoryLimit.flatMap(ByteSize.parse), generatedBy: BuildInfo.producer) { reporter.show($0) }
        } catch { throw CLIError("\(error)") }
        let record = outcome.record
        guard record.status == .ok else {
            if !record.stderrTail.isEmpty { Console.warn("worker stderr (last lines):\n  " + record.stderrTail.joined(separator: "\n  ")) }
            throw CLIError("soak \(record.status): \(record.reason ?? "no reason given")")
        }
        if json {
            try JSONOutput.print(SoakSummaryDocument(summary: outcome.summary, html: outcome.htmlPath?.path, json: outcome.jsonPath?.path,
                                                     energy: setup.probeLine, throttled: record.samples?.sampling?.throttled))
        } else {
            print(Self.text(outcome, unit: gen > 0 ? "decode t/s" : "prefill t/s", energyLine: setup.probeLine))
        }
    }

    static func text(_ o: Soak.Outcome, unit: String, energyLine: String) -> String {
        var lines: [String] = []
        if let s = o.summary {
            lines.append(String(format: "burst         %8.2f %@ (median of the first %.0f s)", s.burstRate, unit, s.burstWindowSeconds))
            lines.append(String(format: "steady state  %8.2f %@ (median from %.0f s on) = %.1f%% of burst", s.steadyRate, unit, s.steadyFromSeconds, s.ratio * 100))
            lines.append("throttle      " + (s.timeToThrottleSeconds.map { String(format: "after %.0f s", $0) }
                ?? String(format: "no lasting drop of %.0f%% or more in %.0f s", SustainedSummary.throttleDrop * 100, s.durationSeconds)))
            if s.burstJoulesPerToken == nil && s.steadyJoulesPerToken == nil {
                lines.append("J/token       not measured (no energy collector: see the energy line below)")
            } else {
                func joules(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "not measured" }
                lines.append("J/token       burst \(joules(s.burstJoulesPerToken)) · steady \(joules(s.steadyJoulesPerToken))")
            }
            lines.append("repetitions   \(s.repetitions) in \(String(format: "%.0f", s.durationSeconds)) s")
        } else {
            lines.append("too few repetitions for a burst and a steady-state window")
        }
        if let sampling = o.record.samples?.sampling {
            lines.append("sampling      " + sampling.summary)
            if let t = sampling.throttled { lines.append("throttled     \(t)") }
        }
        lines.append(energyLine)
        if let html = o.htmlPath { lines.append("report        \(html.path)") }
        if let json = o.jsonPath { lines.append("data          \(json.path)") }
        return lines.joined(separator: "\n")
    }
}

/// `soak --json`'s document.
struct SoakSummaryDocument: Encodable {
    var summary: SustainedSummary?
    var html: String?
    var json: String?
    var energy: String
    var throttled: String?
}

/// Progress on stderr at most every 15 s of the soak.
final class SoakProgress: @unchecked Sendable {
    let seconds: Double
    let lock = NSLock()
    var last = -1.0
    init(seconds: Double) { self.seconds = seconds }

    func show(_ message: WorkerMessage) {
        guard case let .progress(stage, fraction) = message else { return }
        lock.lock(); defer { lock.unlock() }
        guard let fraction, stage == "measure" else {
            if stage != "done" { Console.progress("  \(stage)") }
            return
        }
        let elapsed = fraction * seconds
        guard elapsed - last >= 15 || fraction >= 1 else { return }
        last = elapsed
        Console.progress(String(format: "  %.0f / %.0f s", elapsed, seconds))
    }
}
