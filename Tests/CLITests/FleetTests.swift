import Foundation
import TestSupport
import Testing

/// A fleet in miniature: shards of one sweep running at once as separate processes, all writing
/// into one real PostgreSQL, and the reading commands working from it.
@Suite("fleet: shards into one PostgreSQL", .serialized)
struct FleetTests {
    static let spec = """
        name: fleet
        axes:
          model: tiny
          type: [q8_0, q4_0]
          threads: [1, 2]
          batch: [1, 2]
          prompt: 8
          gen: 4
        measurement:
          warmup: 0
          min_repetitions: 2
          max_repetitions: 2
        reference:
          every: 3
        """

    func slmbench(_ args: [String], environment: [String: String]? = nil) throws -> CommandResult {
        let binary = TestPaths.slmbenchExecutable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: build it (scripts/test.sh does)")
        return try runCommand(binary, args, environment: environment)
    }

    /// Starts a program with output to a file (so nothing blocks on a full pipe).
    func launch(_ executable: URL, _ args: [String], environment: [String: String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        p.environment = environment
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    func keys(_ url: String) throws -> [String] {
        let listed = try slmbench(["results", "list", "--store", url, "--sweep", "fleet", "--format", "json", "--kind", "run", "--kind", "reference"])
        try #require(listed.status == 0, "\(listed.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        return rows.compactMap { $0["key"] as? String }
    }

    func journalKeys(_ folder: URL) throws -> Set<String> {
        let text = try String(contentsOf: folder.appendingPathComponent("journal.jsonl"), encoding: .utf8)
        return Set(try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])["key"] as! String
        })
    }

    @Test func threeShardsAtOnceStoreThePlanOnceAndEveryReadingCommandWorksFromIt() throws {
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        try #require(TestPostgres.serverURL != nil, Comment(rawValue: TestPostgres.missingMessage))
        let url = try TestPostgres.freshDatabase("fleet")
        let dir = try TestPaths.temporaryDirectory()
        let spec = dir.appendingPathComponent("fleet.yaml").path
        try Self.spec.write(toFile: spec, atomically: true, encoding: .utf8)

        // The shards get the password in the URL itself, to show it is never printed or stored.
        let password = try #require(ProcessInfo.processInfo.environment["PGPASSWORD"], "scripts/tools/postgres.sh's env file sets PGPASSWORD")
        var withPassword = try #require(URLComponents(string: url))
        withPassword.password = password
        let secretURL = withPassword.string!

        // Started as the schedulers start them, through scripts/fleet/shard.sh: shards 1 and 2 as a
        // Kubernetes Indexed Job's pods, shard 3 as a Slurm array task.
        let shards = (1...3).map { dir.appendingPathComponent("shard-\($0)") }
        let processes = try (1...3).map { i in
            var environment = ProcessInfo.processInfo.environment
            environment.merge(["SWEEP_SPEC": spec, "SWEEP_ID": "fleet", "SLMBENCH_STORE": secretURL, "SWEEP_OUT": shards[i - 1].path,
                               "SLMBENCH": TestPaths.slmbenchExecutable.path]) { $1 }
            environment.merge(i < 3 ? ["JOB_COMPLETION_INDEX": "\(i - 1)", "SHARDS": "3"]
                                    : ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"]) { $1 }
            return try launch(TestPaths.packageRoot.appendingPathComponent("scripts/fleet/shard.sh"), [], environment: environment,
                              log: dir.appendingPathComponent("shard-\(i).log"))
        }
        processes.forEach { $0.waitUntilExit() }
        var printed = ""
        for (i, p) in processes.enumerated() {
            let log = try String(contentsOf: dir.appendingPathComponent("shard-\(i + 1).log"), encoding: .utf8)
            printed += log
            #expect(p.terminationStatus == 0, "shard \(i + 1): \(log.suffix(1500))")
        }

        // Every shard's entries are stored once: the database holds exactly the union of the journals.
        let journals = try shards.map(journalKeys)
        let union = journals.reduce(Set<String>()) { $0.union($1) }
        #expect(journals.map(\.count).reduce(0, +) == union.count, "shards do not overlap")
        let plan = try slmbench(["sweep", spec, "--dry-run", "--json"])
        let planned = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        #expect(union.filter { !$0.hasPrefix("ref") }.count == planned["runs"] as? Int)
        let stored = try keys(url)
        #expect(stored.count == union.count && Set(stored) == union, "stored \(stored.count), journals \(union.count)")
        let sweeps = try slmbench(["results", "sweeps", "--store", url])
        #expect(sweeps.status == 0 && sweeps.stdout.contains("| fleet | fleet | 1/3,2/3,3/3 |")
                && sweeps.stdout.contains("| \(union.count) / \(union.count) |"), "\(sweeps.stdout)\n\(sweeps.stderr)")

        // Rerunning a shard from scratch stores nothing twice.
        let again = try slmbench(["sweep", spec, "--shard", "2/3", "--id", "fleet", "--out", dir.appendingPathComponent("shard-2-again").path,
                                  "--store", url])
        #expect(again.status == 0, "\(again.stderr.suffix(1500))")
        #expect(try keys(url).count == union.count)
        let samples = try TestPostgres.psql(url, "SELECT count(*) FROM samples JOIN runs ON runs.id = run_id WHERE runs.sweep_id = 'fleet'")
        let ok = try TestPostgres.psql(url, "SELECT coalesce(sum(jsonb_array_length((entry::jsonb)->'samples_ts')), 0) FROM runs WHERE sweep_id = 'fleet'")
        #expect(samples == ok, "one sample row per stored repetition, none from the rerun")

        // The reading commands work from PostgreSQL as from SQLite.
        let report = try slmbench(["report", "fleet", "--store", url, "--format", "json"])
        let reported = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [[String: Any]], "\(report.stderr)")
        #expect(reported.filter { $0["kind"] as? String == "run" }.count == planned["runs"] as? Int)
        let compare = try slmbench(["compare", "fleet", "fleet", "--store", url, "--fail-on-regression"])
        #expect(compare.status == 0 && compare.stdout.contains("no change"), "\(compare.stdout)\n\(compare.stderr)")
        let history = try slmbench(["history", "--store", url, "--metric", "tg", "--config", "model=tiny", "--config", "threads=1", "--json"])
        #expect(history.status == 0 && history.stdout.contains("\"fleet\""), "\(history.stdout)\n\(history.stderr)")
        let profile = dir.appendingPathComponent("here.json").path
        let probe = try slmbench(["probe", "--save", profile])
        try #require(probe.status == 0, "\(probe.stderr)")
        let recommend = try slmbench(["recommend", "--target", profile, "--store", url, "--min-decode-tps", "1"])
        #expect(recommend.status == 0 && recommend.stdout.contains("| measured"), "\(recommend.stdout)\n\(recommend.stderr)")
        // $SLMBENCH_STORE stands in for --store.
        var environment = ProcessInfo.processInfo.environment
        environment["SLMBENCH_STORE"] = url
        let viaEnvironment = try slmbench(["results", "sweeps"], environment: environment)
        #expect(viaEnvironment.status == 0 && viaEnvironment.stdout.contains("| fleet |"), "\(viaEnvironment.stderr)")

        // The password appears nowhere: not in output, journals, sweep headers or stored rows.
        printed += sweeps.stdout + sweeps.stderr + again.stdout + again.stderr
        #expect(!printed.contains(password) && printed.contains("store postgres://") && printed.contains("shard 3/3 of fleet"),
                "\(printed.suffix(800))")
        for folder in shards {
            for file in ["journal.jsonl", "sweep.json"] {
                #expect(!(try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)).contains(password), "\(folder.path)/\(file)")
            }
        }
        #expect(try TestPostgres.psql(url, "SELECT count(*) FROM runs WHERE entry LIKE '%\(password)%'") == "0")
        #expect(try TestPostgres.psql(url, "SELECT count(*) FROM sweeps WHERE spec_text LIKE '%\(password)%' OR hostname LIKE '%\(password)%'") == "0")
    }
}
