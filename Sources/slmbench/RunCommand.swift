import ArgumentParser
import Backends
import Foundation
import Measures
import ModelFormat
import Reporter
import ResultStore
import Worker
import Workloads

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one configuration on one backend, in a worker process, and print its metrics.",
        discussion: """
            --backend native | llama.cpp | cmd:PROGRAM (any program speaking the worker protocol,
            docs/worker-protocol.md; give its arguments with --backend-arg, one each) |
            predict[:BACKEND] (the roofline predictor: what BACKEND, default native, would do on
            --target, calibrated from the measured runs in --store; nothing is executed).
            Prompts are deterministic pseudo-random token ids; tokens are chosen greedily.
            """)

    @Option(help: "native, llama.cpp, cmd:PROGRAM, or predict[:BACKEND].") var backend = "native"
    @Option(help: "With --backend predict: the target's hardware profile.") var target: String?
    @OptionGroup(title: "Calibration (with --backend predict)") var calibration: MeasuredResultsOptions
    @Option(help: "An argument for a cmd: backend (repeat for several).") var backendArg: [String] = []
    @OptionGroup var model: ModelOptions
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Sequences decoded together.") var batch = 1
    @Option(help: "Prompt tokens per sequence (0: start from BOS).") var prompt = 128
    @Option(help: "Tokens generated per sequence (0: prefill only).") var gen = 64
    @Option(help: "KV-cache type: f32 or f16.") var kv = "f32"
    @Option(help: "Logical CPUs to pin the threads to, in order (e.g. 0,2); native backend only.") var cpus: String?
    @Option(help: "Unmeasured repetitions first.") var warmup = 1
    @Option(help: "Measured repetitions.") var repetitions = 3
    @Option(help: "Seed of the prompt tokens.") var seed: UInt64 = 42
    @Option(help: "Kill the worker after this many seconds.") var timeout = 1800.0
    @Option(help: "Kill the worker when its resident set passes this (e.g. 4GiB, 512MiB).") var memoryLimit: String?
    @Flag(help: "Print the run record as JSON.") var json = false

    /// The backend whose behaviour `predict[:BACKEND]` predicts.
    var predicted: String? {
        guard backend == "predict" || backend.hasPrefix("predict:") else { return nil }
        return backend == "predict" ? "native" : String(backend.dropFirst("predict:".count))
    }

    func validate() throws {
        if let predicted {
            guard target != nil else { throw ValidationError("--backend \(backend) needs --target PROFILE: the machine to predict for") }
            guard !predicted.isEmpty else { throw ValidationError("--backend predict: name the backend to predict, e.g. predict:llama.cpp") }
        } else {
            guard WorkerCommand.parse(backend, arguments: backendArg) != nil else {
                throw ValidationError("--backend '\(backend)' is not native, llama.cpp, cmd:PROGRAM or predict[:BACKEND]")
            }
            if target != nil { throw ValidationError("--target is only for --backend predict") }
        }
        if !backendArg.isEmpty && !backend.hasPrefix("cmd:") { throw ValidationError("--backend-arg is only for cmd: backends") }
        let problems = spec(path: "", name: "").problems()
        if let first = problems.first { throw ValidationError("--" + first.replacingOccurrences(of: "_tokens", with: "").replacingOccurrences(of: "kv_type", with: "kv")) }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive, got \(timeout)") }
        if let cpus, cpuList(cpus) == nil { throw ValidationError("--cpus '\(cpus)' is not a list of CPU numbers like 0,2") }
        if let memoryLimit, ByteSize.parse(memoryLimit) == nil { throw ValidationError("--memory-limit '\(memoryLimit)' is not a size like 4GiB or 512MiB") }
    }

    func spec(path: String, name: String) -> RunSpec {
        let label = backend.hasPrefix("cmd:") ? "cmd" : backend
        return RunSpec(backend: label, model: path, modelName: name, type: model.type?.lowercased(), threads: threads, batch: batch,
                       promptTokens: prompt, genTokens: gen, kvType: kv, warmup: warmup, repetitions: repetitions, seed: seed,
                       cpus: cpus.flatMap(cpuList) ?? [])
    }

    func cpuList(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
        return parts.map { $0! }
    }

    func run() throws {
        let path = try model.resolve()
        let name = KnownModel.named(model.model)?.name ?? URL(fileURLWithPath: model.model).deletingPathExtension().lastPathComponent
        if let predicted, let target { return try predict(path: path, name: name, backend: predicted, target: target) }
        let spec = spec(path: path, name: name)
        let command = WorkerCommand.parse(backend, arguments: backendArg)!
        Console.progress("running \(command.backendLabel) on \(URL(fileURLWithPath: path).lastPathComponent)…")
        let record = RunLauncher.run(spec, command: command,
                                     limits: WorkerLimits(timeoutSeconds: timeout, memoryLimitBytes: memoryLimit.flatMap(ByteSize.parse))) { message in
            if case let .progress(stage, fraction) = message, stage != "done" {
                Console.progress("  \(stage)\(fraction.map { String(format: " %.0f%%", $0 * 100) } ?? "")")
            }
        }
        if json {
            try JSONOutput.print(record)
        } else {
            print(RunTable.render(record))
        }
        guard record.status == .ok else {
            if !record.stderrTail.isEmpty { Console.warn("worker stderr (last lines):\n  " + record.stderrTail.joined(separator: "\n  ")) }
            throw CLIError("run \(record.status): \(record.reason ?? "no reason given")")
        }
    }
}

/// Sizes like 4GiB, 512MiB, 1.5GB or plain bytes.
enum ByteSize {
    static func parse(_ text: String) -> Int? {
        let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value > 0 else { return nil }
            return Int(value * scale)
        }
        return Int(text).flatMap { $0 > 0 ? $0 : nil }
    }

    static func format(_ bytes: Int?) -> String {
        guard let bytes else { return "—" }
        let b = Double(bytes)
        if b >= 1e9 { return String(format: "%.2f GB", b / 1e9) }
        if b >= 1e6 { return String(format: "%.1f MB", b / 1e6) }
        return String(format: "%.1f kB", b / 1e3)
    }
}

/// The human-readable form of a run record.
enum RunTable {
    static func render(_ r: RunRecord) -> String {
        let s = r.spec
        var lines = ["run      \(s.backend) · \(s.modelName) \(s.type ?? "as stored") · \(s.threads) thread\(s.threads == 1 ? "" : "s") · batch \(s.batch) · prompt \(s.promptTokens) · gen \(s.genTokens) · kv \(s.kvType) · \(s.repetitions) repetitions after \(s.warmup) warm-up"]
        if let b = r.backend {
            let details = b.build.filter { ["kernels", "build_number", "commit"].contains($0.key) }.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append("backend  \(b.name) \(b.version)\(details.isEmpty ? "" : " (\(details))")")
        }
        guard r.status == .ok, let m = r.metrics else {
            lines.append("status   \(r.status): \(r.reason ?? "")")
            return lines.joined(separator: "\n")
        }
        func rate(_ label: String, _ summary: SampleSummary?) {
            guard let x = summary else { lines.append("\(label)—"); return }
            lines.append(String(format: "%@%9.1f t/s  ± %.1f (95%% CI, n=%d, cv %.1f%%)", label, x.mean, x.ci95, x.count, x.cv * 100))
        }
        func time(_ label: String, _ summary: SampleSummary?) {
            guard let x = summary else { lines.append("\(label)—"); return }
            lines.append(String(format: "%@%9.2f ms   median %.2f, min %.2f, max %.2f (n=%d)", label, x.mean * 1e3, x.median * 1e3, x.min * 1e3, x.max * 1e3, x.count))
        }
        rate("prefill ", m.ppTps)
        rate("decode  ", m.tgTps)
        time("TTFT    ", m.ttftSeconds)
        if let l = m.itlSeconds {
            lines.append(String(format: "ITL      p50 %.2f ms · p90 %.2f ms · p99 %.2f ms · mean %.2f ms", l.p50 * 1e3, l.p90 * 1e3, l.p99 * 1e3, l.mean * 1e3))
        } else { lines.append("ITL      —") }
        time("TPOT    ", m.tpotSeconds)
        time("E2E     ", m.e2eSeconds)
        lines.append(String(format: "load     %.3f s cold", m.loadSeconds) + (m.warmLoadSeconds.map { String(format: " · %.3f s warm", $0) } ?? ""))
        lines.append("memory   peak RSS \(ByteSize.format(m.peakRssBytes)) · RSS after load \(ByteSize.format(m.rssAfterLoadBytes)) · weights \(ByteSize.format(m.weightsBytes)) · KV cache \(ByteSize.format(m.kvCacheBytes)) · scratch \(ByteSize.format(m.scratchBytes))")
        return lines.joined(separator: "\n")
    }
}

/// `--json` output: one pretty, key-sorted document with the protocol's snake_case keys.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = ProtocolJSON.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
    }
}

extension Run {
    /// `--backend predict`: the calibrated roofline model's figures for this configuration on --target.
    func predict(path: String, name: String, backend: String, target: String) throws {
        let profile = try MachineProfile.load(target)
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw CLIError("\(path): \(error)") }
        let type = model.type?.lowercased() ?? "f32"
        let config = RunConfig(model: name, modelType: type, backend: backend, nThreads: threads, nSeq: batch, nPrompt: prompt, nGen: gen, nDepth: 0,
                               kvType: kv, placement: "none", cpus: [], modelSize: file.fileSize,
                               modelNParams: file.tensors.map(\.elementCount).reduce(0, +), synthetic: file["slmbench.synthetic"]?.bool == true)
        let shape = ModelGeometries.from(file, name: name).map { [name: $0] } ?? [:]
        let predictor = try Predict.predictor(try calibration.source, extraShapes: shape)
        let p = predictor.predict(config, on: profile)
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: Predict.predictionJSON(p), options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
        } else {
            print(PredictionTable.markdown([p], predictor: predictor, target: profile))
        }
        guard p.decodeTps != nil || p.prefillTps != nil else {
            throw CLIError("nothing could be predicted for \(backend) on \(profile.name): \(p.notes.joined(separator: "; "))")
        }
    }
}
