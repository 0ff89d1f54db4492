import ArgumentParser
import Backends
import DeviceProbe
import Foundation
import Measures
import Reporter
import ResultStore
import Worker
import Workloads

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a sweep spec: models × types × backends × threads × batch × …, every result kept.",
        discussion: reflow("""
            The spec format is in docs/sweep-spec.md; profiles/sweeps/ has examples. Each run executes
            in its own worker process; its outcome is appended to DIR/journal.jsonl (fsync) and stored in
            the results database before the next run starts. After any interruption, --resume continues
            where it stopped. --shard i/n runs every n-th run of the plan, starting at the i-th; `slmbench
            merge` combines the shards' folders. Exit status 3 when some runs failed.
            """))

    @Argument(help: "The sweep spec (YAML).") var spec: String
    @Option(help: "Sweep folder (default: results/NAME-TIMESTAMP, or the latest matching one with --resume).") var out: String?
    @OptionGroup var storeOption: StoreOption
    @Flag(help: "Continue the sweep in --out (or the latest folder of this spec) after an interruption.") var resume = false
    @Option(help: "Run only shard i of n (e.g. 2/3).") var shard: String?
    @Option(help: "Sweep id (default: NAME-TIMESTAMP; give shards of one sweep the same id).") var id: String?
    @Option(help: "Hardware profile JSON to plan against (default: probe this machine).") var profile: String?
    @Flag(help: "Print the expanded plan (counts, predicted memory, skips) and run nothing.") var dryRun = false
    @Flag(help: "Print the plan (with --dry-run) or the results as JSON.") var json = false
    @OptionGroup(title: "Energy and heat") var energy: EnergyOptions
    @OptionGroup var deviceOption: DeviceOption

    func validate() throws {
        if let shard, Self.parseShard(shard) == nil { throw ValidationError("--shard '\(shard)' is not i/n with 1 ≤ i ≤ n, e.g. 2/3") }
        if let id, id.isEmpty || id.contains("/") { throw ValidationError("--id must be a non-empty name without '/'") }
    }

    static func parseShard(_ text: String) -> (Int, Int)? {
        let parts = text.split(separator: "/").map { Int($0) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 1, i <= n else { return nil }
        return (i, n)
    }

    func run() throws {
        let sweepSpec: SweepSpec
        do { sweepSpec = try SweepSpec.load(path: spec) } catch { throw CLIError(error.description) }
        // --on, else the spec's device:, else this machine. The device's profile is probed there
        // unless --profile gives one.
        var device = try deviceOption.device
        if device == nil, let named = sweepSpec.device {
            do { device = try Device.resolve(named, flag: "\(spec): device") } catch { throw CLIError("\(error)") }
        }
        let machine: HardwareProfile
        if let device, profile == nil {
            do { machine = try RemoteProbe.probe(device) { Console.progress($0) } } catch { throw CLIError("\(error)") }
            Console.progress("on \(device.name): profile \(machine.name) (\(machine.fingerprint))")
        } else {
            machine = try ProfileLibrary.machine(profile, flag: "--profile", producer: BuildInfo.producer)
        }
        let preparer = ModelPreparer()
        let plan: SweepPlan
        do { plan = try SweepPlan.make(sweepSpec, profile: machine, shape: preparer.shape) } catch { throw CLIError("\(error)") }
        let shardParts = shard.flatMap(Self.parseShard)
        if dryRun {
            print(plan.report(shard: shardParts, json: json))
            return
        }
        let stamp = Self.timestamp()
        let sweepId = id ?? "\(sweepSpec.name)-\(stamp)"
        let shardSuffix = shardParts.map { "-shard-\($0.0)-of-\($0.1)" } ?? ""
        let folder: URL
        if let out { folder = URL(fileURLWithPath: out) }
        else if resume {
            guard let latest = SweepFolder.latest(under: URL(fileURLWithPath: "results"), specDigest: sweepSpec.digest, shard: shard) else {
                throw CLIError("--resume: no folder under results/ holds an unfinished sweep of \(spec)\(shard.map { " shard \($0)" } ?? ""); give --out")
            }
            folder = latest
            Console.progress("resuming \(latest.path)")
        } else { folder = URL(fileURLWithPath: "results/\(sweepId)\(shardSuffix)") }
        var environment = SweepEnvironment(profile: machine, buildConfiguration: BuildInfo.configuration,
                                           slmbenchVersion: BuildInfo.version, slmbenchCommit: BuildInfo.commit)
        environment.device = device?.name
        environment.deviceURL = device?.address.description
        let store = try storeOption.location
        // Energy and heat sampling measures this machine: not taken for a sweep on another device.
        if let device { try energy.refuseOnDevice(device.name) }
        let energySetup = device == nil ? try energy.setup() : nil
        let runner = SweepRunner(plan: plan, options: .init(outDir: folder, store: store, shard: shardParts, resume: resume, sweepId: sweepId,
                                                            energy: energySetup, device: device.map(RemoteSession.init)),
                                 environment: environment, profile: machine, preparer: preparer)
        let outcome: SweepRunner.Outcome
        do { outcome = try runner.run() } catch { throw CLIError("\(error)") }
        if json {
            FileHandle.standardOutput.write(try ResultsExport.json(outcome.entries, full: false) + Data("\n".utf8))
        } else {
            print("sweep \(outcome.sweepId) · \(folder.path) · store \(store.description)")
            print("")
            print(ResultsTable.markdown(outcome.entries))
        }
        if outcome.failed > 0 { throw Exit.failedRuns }
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return f.string(from: Date())
    }
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine the folders of a sweep's shards into one sweep folder and store it.")

    @Argument(help: "Shard folders (each made by `sweep --shard i/n`).") var folders: [String]
    @Option(help: "Merged sweep folder.") var out: String
    @Option(help: "Sweep id of the merged sweep (default: the shards' id when they share one).") var id: String?
    @OptionGroup var storeOption: StoreOption
    @Flag(help: "Print the merged results as JSON.") var json = false

    func run() throws {
        do {
            let read = try folders.map { try SweepFolder.read(URL(fileURLWithPath: $0)) }
            let ids = Set(read.map(\.header.id))
            let mergedId = id ?? (ids.count == 1 ? ids.first! : "\(read[0].header.name)-merged-\(Sweep.timestamp())")
            let (header, entries) = try SweepMerge.merge(read, into: URL(fileURLWithPath: out), id: mergedId)
            let store = try storeOption.location
            let db = try store.openForWriting()
            try db.saveSweep(header)
            try db.save(entries)
            if json {
                FileHandle.standardOutput.write(try ResultsExport.json(entries, full: false) + Data("\n".utf8))
            } else {
                print("merged \(read.count) shards into \(out) (sweep \(mergedId), \(entries.count) entries) · store \(store.description)")
                print("")
                print(ResultsTable.markdown(entries))
            }
        } catch let error as StoreError { throw CLIError(error.description) }
    }
}

struct Results: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query stored results by any configuration field; export as a table, CSV or JSON.",
        subcommands: [List.self, Sweeps.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Runs matching every filter given (repeat a filter for alternatives).")
        @OptionGroup var storeOption: StoreOption
        @Option(help: "Only this sweep.") var sweep: String?
        @Option(help: "Model name.") var model: [String] = []
        @Option(help: "Type.") var type: [String] = []
        @Option(help: "Backend.") var backend: [String] = []
        @Option(help: "Threads.") var threads: [Int] = []
        @Option(help: "Sequences decoded together.") var batch: [Int] = []
        @Option(help: "Prompt tokens.") var prompt: [Int] = []
        @Option(help: "Generated tokens.") var gen: [Int] = []
        @Option(help: "Context depth.") var depth: [Int] = []
        @Option(help: "KV-cache type.") var kv: [String] = []
        @Option(help: "Placement policy.") var placement: [String] = []
        @Option(help: "Status (ok, skipped, failed, timeout, oom, crashed, …).") var status: [String] = []
        @Option(help: "Entry kinds: run, reference, quality (repeat).") var kind: [EntryKind] = [.run]
        @Option(help: "md, csv or json.") var format: ReportFormat = .md
        @Flag(help: "With --format json: include each run's raw samples.") var full = false

        func validate() throws {
            guard format != .html && format != .pdf else { throw ValidationError("--format \(format.rawValue) is for `slmbench report`; results list writes md, csv or json") }
        }

        func run() throws {
            let db = try storeOption.location.openForReading()
            var filters: [String: [String]] = [:]
            if !model.isEmpty { filters["model"] = model }
            if !type.isEmpty { filters["model_type"] = type.map { $0.lowercased() } }
            if !backend.isEmpty { filters["backend"] = backend }
            if !threads.isEmpty { filters["n_threads"] = threads.map(String.init) }
            if !batch.isEmpty { filters["n_seq"] = batch.map(String.init) }
            if !prompt.isEmpty { filters["n_prompt"] = prompt.map(String.init) }
            if !gen.isEmpty { filters["n_gen"] = gen.map(String.init) }
            if !depth.isEmpty { filters["n_depth"] = depth.map(String.init) }
            if !kv.isEmpty { filters["kv_type"] = kv }
            if !placement.isEmpty { filters["placement"] = placement }
            if !status.isEmpty { filters["status"] = status }
            do {
                var runs = try db.runs(sweep: sweep, where: filters, kinds: kind)
                if format == .md {
                    // Quality entries of the same sweeps fill the table's quality columns.
                    let sweeps = Set(runs.map(\.sweepId))
                    if !kind.contains(.quality) {
                        runs += try db.runs(where: [:], kinds: [.quality]).filter { sweeps.contains($0.sweepId) }
                    }
                    print(ResultsTable.markdown(runs))
                } else if format == .csv {
                    print(ResultsExport.csv(runs), terminator: "")
                } else {
                    FileHandle.standardOutput.write(try ResultsExport.json(runs, full: full) + Data("\n".utf8))
                }
            } catch let error as StoreError { throw CLIError(error.description) }
        }
    }

    struct Sweeps: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The stored sweeps.")
        @OptionGroup var storeOption: StoreOption
        func run() throws {
            let db = try storeOption.location.openForReading()
            var rows: [String] = []
            do {
                for s in try db.sweeps() {
                    let stored = try db.runs(sweep: s.id, kinds: [.run, .reference, .quality]).count
                    let samples = try db.sampleCount(sweep: s.id)
                    rows.append("| \(s.id) | \(s.name) | \(s.shard ?? "—") | \(s.startedAt) | \(s.hostname) | \(stored) / \(s.planned) | \(samples) |")
                }
            } catch { throw CLIError(error.description) }
            print("| sweep | name | shard | started | host | runs stored / planned | samples |")
            print("|---|---|---|---|---|---:|---:|")
            rows.forEach { print($0) }
        }
    }
}
