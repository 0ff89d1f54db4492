import Foundation
import TestSupport
import Testing

/// `slmbench sweep`, `merge` and `results` as users run them, on a tiny synthetic model with
/// the native engine in real worker processes.
@Suite("sweep, resume, shards", .serialized)
struct SweepCommandTests {
    static let spec = """
        name: killtest
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
          cooldown: 150ms
        reference:
          every: 3
        """

    func slmbench(_ args: [String]) throws -> CommandResult {
        let binary = TestPaths.slmbenchExecutable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: build it (scripts/test.sh does)")
        return try runCommand(binary, args)
    }

    /// Synthetic models borrow the real model's tokenizer.
    func requireRealModel() throws {
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
    }

    func writeSpec(_ dir: URL, _ text: String = spec) throws -> String {
        let path = dir.appendingPathComponent("spec.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Key, kind and status of every logical journal entry (the last line of each key), and the raw line count per key.
    func journal(_ folder: URL) throws -> (entries: [String: String], linesPerKey: [String: Int]) {
        let text = try String(contentsOf: folder.appendingPathComponent("journal.jsonl"), encoding: .utf8)
        var entries: [String: String] = [:]
        var lines: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let key = try #require(object["key"] as? String)
            entries[key] = "\(object["kind"] ?? "?") \(object["status"] ?? "?")"
            lines[key, default: 0] += 1
        }
        return (entries, lines)
    }

    func storedKeys(_ store: String, sweep: String? = nil) throws -> [String] {
        var args = ["results", "list", "--store", store, "--format", "json", "--kind", "run", "--kind", "reference"]
        if let sweep { args += ["--sweep", sweep] }
        let listed = try slmbench(args)
        #expect(listed.status == 0, "\(listed.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        return rows.compactMap { $0["key"] as? String }
    }

    @Test func killedAtRandomMomentsAndResumedItEqualsAnUninterruptedSweep() throws {
        try requireRealModel()
        let dir = try TestPaths.temporaryDirectory()
        let spec = try writeSpec(dir)
        let store = dir.appendingPathComponent("results.sqlite").path

        let straight = dir.appendingPathComponent("straight")
        let started = Date()
        let whole = try slmbench(["sweep", spec, "--out", straight.path, "--store", store, "--id", "straight"])
        let duration = Date().timeIntervalSince(started)
        #expect(whole.status == 0, "\(whole.stderr.suffix(1500))")
        let expected = try journal(straight).entries
        #expect(expected.count == 8 + 4, "8 runs and 4 references: \(expected.keys.sorted())")
        #expect(expected.values.allSatisfy { $0.hasSuffix(" ok") }, "\(expected)")

        let binary = TestPaths.slmbenchExecutable
        let interrupted = dir.appendingPathComponent("interrupted")
        var kills: [String] = []
        for round in 0..<4 {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["sweep", spec, "--out", interrupted.path, "--store", store, "--id", "interrupted"] + (round > 0 ? ["--resume"] : [])
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Somewhere inside the time a whole sweep takes, so most rounds land mid-sweep.
            let delay = Double.random(in: 0.05...0.6) * duration
            Thread.sleep(forTimeInterval: delay)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                let done = (try? journal(interrupted).entries.count) ?? 0
                kills.append(String(format: "killed after %.2f s with %d entries stored", delay, done))
            } else {
                kills.append(String(format: "finished before %.2f s", delay))
            }
            process.waitUntilExit()
        }
        #expect(kills.contains { $0.hasPrefix("killed") }, "no round was killed mid-sweep, so nothing was tested: \(kills)")
        let finish = try slmbench(["sweep", spec, "--out", interrupted.path, "--store", store, "--id", "interrupted", "--resume"])
        #expect(finish.status == 0, "\(kills): \(finish.stderr.suffix(1500))")
        let (resumed, lines) = try journal(interrupted)
        #expect(resumed == expected, "after \(kills)")
        #expect(lines.values.allSatisfy { $0 == 1 }, "a run was journaled twice: \(lines.filter { $0.value > 1 }) after \(kills)")
        let stored = try storedKeys(store, sweep: "interrupted")
        #expect(stored.count == Set(stored).count && Set(stored) == Set(expected.keys), "database: \(stored.sorted()) after \(kills)")

        // A changed spec is not silently resumed.
        try (Self.spec + "\n# changed\n").write(toFile: spec, atomically: true, encoding: .utf8)
        let changed = try slmbench(["sweep", spec, "--out", interrupted.path, "--store", store, "--resume"])
        #expect(changed.status == 1 && changed.stderr.contains("changed since"), "\(changed.stderr)")
    }

    @Test func shardsMergedEqualTheUnshardedPlan() throws {
        try requireRealModel()
        let dir = try TestPaths.temporaryDirectory()
        let spec = try writeSpec(dir)
        let store = dir.appendingPathComponent("results.sqlite").path
        let dry = try slmbench(["sweep", spec, "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any])
        let planned = try #require(plan["plan"] as? [[String: Any]]).filter { $0["kind"] as? String == "run" }.compactMap { $0["key"] as? String }
        #expect(planned.count == 8)

        var folders: [String] = []
        for i in 1...3 {
            let folder = dir.appendingPathComponent("shard\(i)").path
            let shard = try slmbench(["sweep", spec, "--shard", "\(i)/3", "--id", "sharded", "--out", folder, "--store", store])
            #expect(shard.status == 0, "shard \(i): \(shard.stderr.suffix(1000))")
            folders.append(folder)
        }
        let merged = dir.appendingPathComponent("merged")
        let merge = try slmbench(["merge"] + folders.reversed() + ["--out", merged.path, "--store", store, "--id", "merged"])
        #expect(merge.status == 0, "\(merge.stderr)")
        let entries = try journal(merged).entries
        let runs = entries.filter { $0.value.hasPrefix("run ") }.keys.sorted()
        #expect(runs == planned.sorted())
        #expect(Set(try storedKeys(store, sweep: "merged")).isSuperset(of: planned))
        // Two folders of the same shard, or a missing shard, are refused.
        let twice = try slmbench(["merge", folders[0], folders[0], folders[1], "--out", dir.appendingPathComponent("m2").path, "--store", store])
        #expect(twice.status == 1 && twice.stderr.contains("appears twice"), "\(twice.stderr)")
        let partial = try slmbench(["merge", folders[0], folders[1], "--out", dir.appendingPathComponent("m3").path, "--store", store])
        #expect(partial.status == 1 && partial.stderr.contains("3/3"), "\(partial.stderr)")
    }

    @Test func aSpecWithATypeErrorNamesItsLineAndRunsNothing() throws {
        let dir = try TestPaths.temporaryDirectory()
        let spec = try writeSpec(dir, "name: bad\naxes:\n  model: tiny\n  threads: two\n")
        let result = try slmbench(["sweep", spec, "--out", dir.appendingPathComponent("out").path, "--store", dir.appendingPathComponent("r.sqlite").path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(spec):4:") && result.stderr.contains("axes.threads") && result.stderr.contains("expected an integer"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
    }

    /// `measurement: {sustain: …}`: every run goes back to back for the duration and stores its
    /// burst and steady-state rates; `recommend --sustained` ranks by the steady one.
    @Test func aSustainedSweepStoresSteadyStateAndRecommendRanksByIt() throws {
        try requireRealModel()
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = try writeSpec(dir, "name: sustained\naxes:\n  model: tiny\n  type: q8_0\n  prompt: 8\n  gen: 8\nmeasurement:\n  warmup: 0\n  sustain: 12s\nreference:\n  every: 0\n")
        let plan = try slmbench(["sweep", spec, "--dry-run"])
        #expect(plan.stdout.contains("back to back for 12 s"), "\(plan.stdout)")
        let folder = dir.appendingPathComponent("out").path, store = dir.appendingPathComponent("r.sqlite").path
        let sweep = try slmbench(["sweep", spec, "--out", folder, "--store", store, "--idle-seconds", "0"])
        try #require(sweep.status == 0, "\(sweep.stderr.suffix(800))")
        let listed = try slmbench(["results", "list", "--store", store, "--format", "json", "--kind", "run"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]], "\(listed.stderr)")
        let context = try #require(rows.first?["context"] as? [String: Any], "\(rows)")
        let summary = try #require(context["sustained"] as? [String: Any], "\(context.keys)")
        let steady = try #require(summary["steady_rate"] as? Double, "\(summary)"), burst = try #require(summary["burst_rate"] as? Double)
        #expect(steady > 0 && burst > 0)
        #expect((rows.first?["repetitions"] as? Double ?? 0) >= 3, "a 12 s sustained run of a tiny model has many repetitions")
        let profile = dir.appendingPathComponent("here.json").path
        try #require(try slmbench(["probe", "--save", profile]).status == 0)
        let ranked = try slmbench(["recommend", "--target", profile, "--results", folder, "--sustained"])
        #expect(ranked.status == 0 && ranked.stdout.contains("steady-state decode t/s per seq") && ranked.stdout.contains("| ★ | tiny | q8_0 | native |"),
                "\(ranked.stdout)\n\(ranked.stderr)")
        let tooFast = try slmbench(["recommend", "--target", profile, "--results", folder, "--sustained", "--min-decode-tps", String(format: "%.1f", steady * 1.5 + 1)])
        #expect(tooFast.stdout.contains("(none meets every constraint)"), "\(tooFast.stdout)")
    }
}

/// `slmbench compare` on real sweep folders.
@Suite("compare", .serialized)
struct CompareCommandTests {
    @Test func aSweepComparedWithItselfHasNoRegressionAndBadSidesAreNamed() throws {
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        let dir = try TestPaths.temporaryDirectory()
        let spec = dir.appendingPathComponent("spec.yaml").path
        try "name: cmp\naxes:\n  model: tiny\n  type: q8_0\n  backend: [native, llama.cpp]\n  prompt: 8\n  gen: 8\nmeasurement:\n  warmup: 0\n  min_repetitions: 4\n  max_repetitions: 4\nreference:\n  every: 0\n"
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let folder = dir.appendingPathComponent("a").path
        let store = dir.appendingPathComponent("r.sqlite").path
        let sweep = try runCommand(TestPaths.slmbenchExecutable, ["sweep", spec, "--out", folder, "--store", store, "--id", "cmp-a"])
        try #require(sweep.status == 0, "\(sweep.stderr.suffix(800))")
        // A folder against the same sweep by id: identical samples, so no change and exit 0.
        let same = try runCommand(TestPaths.slmbenchExecutable, ["compare", folder, "cmp-a", "--store", store, "--fail-on-regression"])
        #expect(same.status == 0, "\(same.stdout)\n\(same.stderr)")
        #expect(same.stdout.contains("no change") && !same.stdout.contains("**regression**"), "\(same.stdout)")
        // A copy of the sweep in which every prefill and decode step takes 10% longer than the slowest
        // one measured: the sides separate whatever this tiny model's noise, so this checks the gate's
        // plumbing on real files (samples read from records, the test, exit 2). Catching a 10% slowdown
        // in real noise is scripts/check/check-compare.sh's job.
        let slow = dir.appendingPathComponent("slow")
        try FileManager.default.createDirectory(at: slow, withIntermediateDirectories: true)
        // The copy is a sweep of its own (id cmp-slow), so that a side can pool it with the original.
        var header = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/sweep.json"))) as? [String: Any])
        header["id"] = "cmp-slow"
        try JSONSerialization.data(withJSONObject: header).write(to: slow.appendingPathComponent("sweep.json"))
        var planted: [String] = []
        for line in try String(contentsOfFile: folder + "/journal.jsonl", encoding: .utf8).split(separator: "\n") {
            var entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            entry["sweep_id"] = "cmp-slow"
            if var record = try JSONSerialization.jsonObject(with: Data((entry["record"] as? String ?? "{}").utf8)) as? [String: Any],
               var samples = record["samples"] as? [String: Any], let repetitions = samples["repetitions"] as? [[String: Any]] {
                var slowest: [String: Double] = [:]
                for r in repetitions {
                    for key in ["step_seconds", "prefill_seconds", "ttft_seconds"] { slowest[key] = max(slowest[key] ?? 0, (r[key] as? [Double])?.max() ?? 0) }
                }
                samples["repetitions"] = repetitions.map { r -> [String: Any] in
                    var r = r
                    for key in ["step_seconds", "prefill_seconds", "ttft_seconds"] { r[key] = (r[key] as? [Double])?.map { _ in slowest[key]! * 1.1 } }
                    return r
                }
                record["samples"] = samples
                entry["record"] = String(decoding: try JSONSerialization.data(withJSONObject: record), as: UTF8.self)
            }
            planted.append(String(decoding: try JSONSerialization.data(withJSONObject: entry), as: UTF8.self))
        }
        try (planted.joined(separator: "\n") + "\n").write(to: slow.appendingPathComponent("journal.jsonl"), atomically: true, encoding: .utf8)
        let gate = try runCommand(TestPaths.slmbenchExecutable, ["compare", folder, slow.path, "--fail-on-regression"])
        #expect(gate.status == 2 && gate.stdout.contains("**regression**"), "\(gate.stdout)\n\(gate.stderr)")
        let missing = try runCommand(TestPaths.slmbenchExecutable, ["compare", folder, "nonexistent-sweep", "--store", store])
        #expect(missing.status == 1 && missing.stderr.contains("nonexistent-sweep"), "\(missing.stderr)")
        // A side may pool several sweeps (comma-separated): the folder and the slowed copy pool
        // twice the repetitions. The same sweep named twice (here as a folder and by its id) counts
        // once, so it is refused rather than doubled.
        let pooled = try runCommand(TestPaths.slmbenchExecutable, ["compare", "\(folder),\(slow.path)", folder, "--json"])
        let pooledJSON = try #require(try JSONSerialization.jsonObject(with: Data(pooled.stdout.utf8)) as? [String: Any], "\(pooled.stderr)")
        let pooledRows = try #require(pooledJSON["rows"] as? [[String: Any]])
        #expect(pooled.status == 0 && pooledRows.allSatisfy { ($0["base_count"] as? Int) == 2 * (($0["new_count"] as? Int) ?? -1) }, "\(pooledRows)")
        let twice = try runCommand(TestPaths.slmbenchExecutable, ["compare", "\(folder),cmp-a", folder, "--store", store])
        #expect(twice.status == 1 && twice.stderr.contains("names sweep 'cmp-a' twice"), "\(twice.stderr)")
        let pooledMissing = try runCommand(TestPaths.slmbenchExecutable, ["compare", "\(folder),nonexistent-sweep", folder, "--store", store])
        #expect(pooledMissing.status == 1 && pooledMissing.stderr.contains("BASE 'nonexistent-sweep'"), "\(pooledMissing.stderr)")
        // recommend: this machine's own results are found by its fingerprint.
        let profile = dir.appendingPathComponent("here.json").path
        let probe = try runCommand(TestPaths.slmbenchExecutable, ["probe", "--bandwidth", "--save", profile])
        try #require(probe.status == 0, "\(probe.stderr)")
        let here = try runCommand(TestPaths.slmbenchExecutable, ["recommend", "--target", profile, "--results", folder, "--min-decode-tps", "1"])
        #expect(here.status == 0 && here.stdout.contains("| ★ | tiny | q8_0 | native |") && here.stdout.contains("| measured"),
                "\(here.stdout)\n\(here.stderr)")
        // A device not at hand is predicted by the cross-device model (the corpus, and this machine's
        // llama.cpp runs with its measured bandwidth), with the validated error; the native engine is not predicted.
        let root = TestPaths.packageRoot
        let pi = root.appendingPathComponent("profiles/hardware/raspberry-pi-5.json").path
        let elsewhere = try runCommand(TestPaths.slmbenchExecutable, ["recommend", "--target", pi, "--results", folder, "--machine", profile])
        #expect(elsewhere.status == 0 && elsewhere.stdout.contains("predicted (nothing measured on the target)")
                && elsewhere.stdout.contains("| tiny | q8_0 | llama.cpp | 4 | 1 |") && !elsewhere.stdout.contains("| tiny | q8_0 | native | 4 |")
                && elsewhere.stdout.contains("Cross-device model:") && elsewhere.stdout.contains("Leave-one-device-out"),
                "\(elsewhere.stdout)\n\(elsewhere.stderr)")
        // Without the validation corpus (run from another folder), nothing can be predicted, and the error says why.
        let blind = try runCommand(TestPaths.slmbenchExecutable, ["recommend", "--target", pi, "--results", folder, "--store", store],
                                   currentDirectory: dir)
        #expect(blind.status == 1 && blind.stderr.contains("no measured results for raspberry-pi-5") && blind.stderr.contains("profiles/validation"),
                "\(blind.stderr)")
        // cost: for this machine (rented by the hour) and for the Raspberry Pi 5 (its profile's price and power, predicted speed).
        let costFiles = ["--cloud", root.appendingPathComponent("profiles/cost/cloud-prices.yaml").path,
                         "--cost-defaults", root.appendingPathComponent("profiles/cost/device-defaults.yaml").path]
        let costHere = try runCommand(TestPaths.slmbenchExecutable, ["cost", folder, "--device", profile, "--machine", profile, "--hourly-usd", "0.1"] + costFiles)
        #expect(costHere.status == 0 && costHere.stdout.contains("| tiny | q8_0 | native |") && costHere.stdout.contains("| measured")
                && costHere.stdout.contains("device rental (USD/hour): 0.1000 — flag --hourly-usd"), "\(costHere.stdout)\n\(costHere.stderr)")
        let costPi = try runCommand(TestPaths.slmbenchExecutable, ["cost", folder, "--device", pi, "--machine", profile, "--json"] + costFiles)
        let costJSON = try #require(try JSONSerialization.jsonObject(with: Data(costPi.stdout.utf8)) as? [String: Any], "\(costPi.stderr)")
        let piRows = try #require(costJSON["device_rows"] as? [[String: Any]])
        #expect(piRows.first?["kind"] as? String == "prediction" && (costJSON["cloud_rows"] as? [Any])?.isEmpty == false)
        let assumptions = try #require(costJSON["assumptions"] as? [[String: String]])
        #expect(assumptions.contains { $0["name"] == "device purchase price (USD)" && $0["source"]?.contains("raspberry-pi-5") == true })
        let noPrice = try runCommand(TestPaths.slmbenchExecutable, ["cost", folder, "--device", profile, "--machine", profile] + costFiles)
        #expect(noPrice.status == 1 && noPrice.stderr.contains("--hourly-usd"), "\(noPrice.stderr)")
        // predict --validate against llama-bench output: every row predicted, the median error printed.
        let csv = root.appendingPathComponent("Tests/ReporterTests/Fixtures/llama-bench-smollm2-q8_0.csv").path
        let validate = try runCommand(TestPaths.slmbenchExecutable, ["predict", "--target", profile, "--results", folder, "--machine", profile,
                                                                    "--validate", csv])
        #expect(validate.status == 0 && validate.stdout.contains("median absolute error on") && validate.stdout.contains("| q8_0 | llama.cpp | 2 |"),
                "\(validate.stdout)\n\(validate.stderr)")
        // history over the store: one sweep, so one point and no change point.
        let history = try runCommand(TestPaths.slmbenchExecutable, ["history", "--store", store, "--config", "type=q8_0", "--svg", dir.appendingPathComponent("h.svg").path])
        #expect(history.status == 0 && history.stdout.contains("| cmp-a |") && !history.stdout.contains("◆"), "\(history.stdout)\n\(history.stderr)")
        let badKey = try runCommand(TestPaths.slmbenchExecutable, ["history", "--store", store, "--config", "colour=red"])
        #expect(badKey.status == 64 && badKey.stderr.contains("--config 'colour=red'"), "\(badKey.stderr)")
        let badThreshold = try runCommand(TestPaths.slmbenchExecutable, ["compare", folder, folder, "--metric-threshold", "speed=3%"])
        #expect(badThreshold.status == 64 && badThreshold.stderr.contains("--metric-threshold"), "\(badThreshold.stderr)")
    }
}

/// A sweep keeps running its own binary when the file on disk is replaced (a rebuild mid-sweep).
@Suite("sweep survives a rebuild", .serialized)
struct SweepRebuildTests {
    @Test func replacingTheBinaryMidSweepCostsNoRun() throws {
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        let dir = try TestPaths.temporaryDirectory()
        let copy = dir.appendingPathComponent("slmbench")
        try FileManager.default.copyItem(at: TestPaths.slmbenchExecutable, to: copy)
        let spec = dir.appendingPathComponent("spec.yaml").path
        try "name: rebuild\naxes:\n  model: tiny\n  threads: [1, 2]\n  batch: [1, 2]\n  type: q8_0\n  prompt: 8\n  gen: 4\nmeasurement:\n  warmup: 0\n  min_repetitions: 1\n  max_repetitions: 1\n  cooldown: 300ms\nreference:\n  every: 0\n"
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = copy
        process.arguments = ["sweep", spec, "--out", dir.appendingPathComponent("out").path, "--store", dir.appendingPathComponent("r.sqlite").path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 0.5)
        // As a build does: the old file goes away and a new one takes its name.
        try FileManager.default.removeItem(at: copy)
        try Data("#!/bin/sh\nexit 99\n".utf8).write(to: copy)
        process.waitUntilExit()
        let journal = try String(contentsOf: dir.appendingPathComponent("out/journal.jsonl"), encoding: .utf8)
        let statuses = journal.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["status"] as? String
        }
        #expect(process.terminationStatus == 0 && statuses == ["ok", "ok", "ok", "ok"], "\(statuses)")
    }
}

/// A crashing or hanging backend costs its own run only (the memory ceiling is tested on the launcher).
@Suite("sweep with failing backends", .serialized)
struct SweepFaultTests {
    @Test func crashedAndTimedOutRunsAreRecordedAndTheSweepGoesOn() throws {
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        let dir = try TestPaths.temporaryDirectory()
        let fake = TestPaths.packageRoot.appendingPathComponent("Tests/WorkerTests/FakeWorkers/fake_worker.py").path
        let spec = dir.appendingPathComponent("spec.yaml").path
        // Two programs stand for two backends, each failing its own way, then the native engine.
        try """
            name: faults
            axes:
              model: tiny
              type: q8_0
              backend: ["cmd:/usr/bin/python3", "cmd:/usr/bin/env", native]
              prompt: 8
              gen: 4
            measurement:
              warmup: 0
              min_repetitions: 1
              max_repetitions: 1
              timeout: 3s
            reference:
              every: 0
            backend_args:
              "cmd:/usr/bin/python3": [\(fake), segv]
              "cmd:/usr/bin/env": [python3, \(fake), hang]
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        let folder = dir.appendingPathComponent("out")
        let result = try runCommand(TestPaths.slmbenchExecutable, ["sweep", spec, "--out", folder.path, "--store", dir.appendingPathComponent("r.sqlite").path])
        #expect(result.status == 3, "exit \(result.status): \(result.stderr.suffix(1500))")
        let lines = try String(contentsOf: folder.appendingPathComponent("journal.jsonl"), encoding: .utf8).split(separator: "\n")
        var status: [String: String] = [:]
        for line in lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let config = try #require(o["config"] as? [String: Any])
            status["\(config["backend"] ?? "?")"] = "\(o["status"] ?? "?"): \(o["reason"] as? String ?? "")"
        }
        #expect(status["cmd:/usr/bin/python3"]?.hasPrefix("crashed: killed by signal 11") == true, "\(status)")
        #expect(status["cmd:/usr/bin/env"]?.hasPrefix("timeout: no result within 3 s") == true, "\(status)")
        #expect(status["native"]?.hasPrefix("ok") == true, "\(status)")
        #expect(result.stdout.contains("failed"), "the table lists the failures: \(result.stdout)")
    }
}
