import ArgumentParser
import Backends
import DeviceProbe
import Engine
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
        discussion: reflow("""
            --backend native | llama.cpp | llama-bench (the llama-bench program, here or on --on's
            device; metrics it cannot give are missing) | cmd:PROGRAM (any program speaking the worker protocol,
            docs/worker-protocol.md; give its arguments with --backend-arg, one each) |
            predict[:BACKEND] (the roofline predictor: what BACKEND, default native, would do on
            --target, calibrated from the measured runs in --store; nothing is executed).
            Prompts are deterministic pseudo-random token ids; tokens are chosen greedily.
            """))

    @Option(help: "native, llama.cpp, cmd:PROGRAM, or predict[:BACKEND].") var backend = "native"
    @Option(help: "With --backend predict: the target's hardware profile.") var target: String?
    @OptionGroup(title: "Calibration (with --backend predict)") var calibration: MeasuredResultsOptions
    @Option(help: "An argument for a cmd: backend (repeat for several).") var backendArg: [String] = []
    @OptionGroup var model: ModelOptions
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Sequences decoded together.") var batch = 1
    @Option(help: "Prompt tokens per sequence (0: start from BOS).") var prompt = 128
    @Option(help: "Tokens generated per sequence (0: prefill only).") var gen = 64
    @Option(help: "KV-cache type.") var kv: KVType = .f32
    @Option(help: "Tokens already in each sequence's context, filled untimed, before the timed prompt (decode at 4k context: --prompt 0 --depth 4096).")
    var depth = 0
    @Option(help: "Logical CPUs to pin the threads to, in order (e.g. 0,2); native backend only.") var cpus: String?
    @Option(help: "Unmeasured repetitions first.") var warmup = 1
    @Option(help: "Measured repetitions.") var repetitions = 3
    @Option(help: "Seed of the prompt tokens.") var seed: UInt64 = 42
    @Option(help: "Kill the worker after this many seconds.") var timeout = 1800.0
    @Option(help: "Kill the worker when its resident set passes this (e.g. 4GiB, 512MiB).") var memoryLimit: String?
    @Flag(help: "Print the run record as JSON.") var json = false
    @OptionGroup(title: "Energy and heat") var energy: EnergyOptions
    @OptionGroup var deviceOption: DeviceOption

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
            guard WorkerCommand.parse(backend, arguments: backendArg) != nil || backend == LlamaBench.backendName else {
                throw ValidationError("--backend '\(backend)' is not native, llama.cpp, cmd:PROGRAM or predict[:BACKEND]")
            }
            if target != nil { throw ValidationError("--target is only for --backend predict") }
        }
        if deviceOption.on != nil {
            if predicted != nil { throw ValidationError("--on measures on a device; --backend predict measures nothing") }
            if memoryLimit != nil { throw ValidationError("--memory-limit is enforced on this machine only; the device's own limits apply with --on") }
        }
        if !backendArg.isEmpty && !backend.hasPrefix("cmd:") { throw ValidationError("--backend-arg is only for cmd: backends") }
        let problems = spec(path: "", name: "").problems()
        if let first = problems.first { throw ValidationError("--" + first.replacingOccurrences(of: "_tokens", with: "")) }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive, got \(timeout)") }
        if let cpus, cpuList(cpus) == nil { throw ValidationError("--cpus '\(cpus)' is not a list of CPU numbers like 0,2") }
        if let memoryLimit, ByteSize.parse(memoryLimit) == nil { throw ValidationError("--memory-limit '\(memoryLimit)' is not a size like 4GiB or 512MiB") }
    }

    func spec(path: String, name: String) -> RunSpec {
        RunSpec(backend: BackendKind(label: backend), model: path, modelName: name, type: model.type?.lowercased(), threads: threads, batch: batch,
                       promptTokens: prompt, genTokens: gen, kvType: kv, warmup: warmup, repetitions: repetitions, seed: seed,
                       cpus: cpus.flatMap(cpuList) ?? [], depth: depth == 0 ? nil : depth)
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
        var spec = spec(path: path, name: name)
        // llama-bench's worker runs here (and reaches --on's device itself); other workers run there.
        let llamaBench = backend == LlamaBench.backendName
        var command = llamaBench
            ? WorkerCommand.external(program: RunLauncher.selfExecutable, arguments: ["llama-bench-worker"] + (deviceOption.on.map { ["--on", $0] } ?? []))
            : WorkerCommand.parse(backend, arguments: backendArg)!
        var session: RemoteSession?
        if let device = try deviceOption.device {
            try energy.refuseOnDevice(device.name)
            let remote = RemoteSession(device)
            let profile: HardwareProfile
            do {
                profile = try RemoteProbe.probe(device) { Console.progress($0) }
                let digest: String
                do { digest = try ModelFetcher.sha256(of: URL(fileURLWithPath: path)) } catch { throw InputError("\(path): \(error)") }
                spec.model = try remote.place(localPath: path, sha256: digest) { Console.progress($0) }
            } catch { throw CLIError("\(error)") }
            Console.progress("on \(device.name): \(profile.name), profile \(profile.fingerprint)")
            if !llamaBench { command = remote.remote(command) }
            session = remote
        }
        // Energy and heat are sampled on this machine: for a run on another device they would
        // measure the wrong machine, so they are not taken there.
        if session == nil, case .builtIn = command {
            let setup = try energy.setup()
            spec.sampling = setup.request
            if let note = setup.waitForStartTemperature(progress: { Console.progress($0) }) { Console.progress(note) }
        }
        Console.progress("running \(command.backendLabel) on \(URL(fileURLWithPath: path).lastPathComponent)…")
        var record = RunLauncher.run(spec, command: command,
                                     limits: WorkerLimits(timeoutSeconds: timeout, memoryLimitBytes: memoryLimit.flatMap(ByteSize.parse))) { message in
            if case let .progress(stage, fraction) = message, stage != "done" {
                Console.progress("  \(stage)\(fraction.map { String(format: " %.0f%%", $0 * 100) } ?? "")")
            }
        }
        if let session { record = session.interpret(record) }
        if llamaBench { record.metrics = record.metrics.map(LlamaBench.withoutMissing) }
        if json {
            try JSONOutput.print(record)
        } else {
            print(record.table)
        }
        guard record.status == .ok else {
            if !record.stderrTail.isEmpty { Console.warn("worker stderr (last lines):\n  " + record.stderrTail.joined(separator: "\n  ")) }
            throw CLIError("run \(record.status): \(record.reason ?? "no reason given")")
        }
    }
}

extension Run {
    /// `--backend predict`: the calibrated roofline model's figures for this configuration on --target.
    func predict(path: String, name: String, backend: String, target: String) throws {
        let profile = try ProfileLibrary.load(target, flag: "--target")
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw CLIError("\(path): \(error)") }
        var spec = spec(path: path, name: name)
        spec.type = spec.type ?? "f32"
        spec.cpus = [] // a prediction is for the thread count, not for particular CPUs
        let facts = PreparedModel(path: path, name: name, sha256: "", sizeBytes: file.fileSize,
                                  parameters: file.tensors.map(\.elementCount).reduce(0, +), synthetic: file["slmbench.synthetic"]?.bool == true)
        let config = RunConfig(run: spec, backend: backend, placement: "none", model: facts)
        let shape = ModelGeometries.from(file, name: name).map { [name: $0] } ?? [:]
        let predictor = try Predictors.make(try calibration.source, extraShapes: shape)
        let p = predictor.predict(config, on: profile)
        if json {
            try JSONOutput.print(PredictionsDocument.Item(p))
        } else {
            print(PredictionTable.markdown([p], predictor: predictor, target: profile))
        }
        guard p.decodeTps != nil || p.prefillTps != nil else {
            throw CLIError("nothing could be predicted for \(backend) on \(profile.name): \(p.notes.joined(separator: "; "))")
        }
    }
}
