import DeviceProbe
import Foundation
import TestSupport
import Testing

/// `probe`, `run` and `sweep --on ssh://…` against a real OpenSSH server on 127.0.0.1 (started
/// per test with keys made for it; host keys checked), the remote side being this build's
/// slmbench on the server's PATH. No other network is used.
@Suite("remote devices over ssh (loopback sshd)", .serialized)
struct RemoteTests {
    let binary = TestPaths.slmbenchExecutable

    func server() throws -> LoopbackSSHD {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: build it (scripts/test.sh does)")
        try #require(FileManager.default.isExecutableFile(atPath: LoopbackSSHD.program), Comment(rawValue: LoopbackSSHD.missingMessage))
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        let sshd = try LoopbackSSHD(remotePath: binary.deletingLastPathComponent().path)
        try sshd.start()
        return sshd
    }

    func slmbench(_ sshd: LoopbackSSHD, _ args: [String], devices: String? = nil) throws -> CommandResult {
        try runCommand(binary, args, environment: sshd.environment(devices: devices))
    }

    /// A devices file naming the server twice: with slmbench there, and as a bare device without it.
    func devicesFile(_ sshd: LoopbackSSHD, cache: URL) throws -> String {
        let path = sshd.dir.appendingPathComponent("devices.yaml").path
        try """
            devices:
              - name: loopback
                url: \(sshd.url)
                cache: \(cache.path)
                slmbench: \(binary.path)
                notes: the test's own sshd
              - name: bare
                url: \(sshd.url)
                cache: \(cache.path)
                slmbench: /nonexistent/slmbench
                connect_timeout: 5s
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func journal(_ folder: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: folder.appendingPathComponent("journal.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    func environment(_ entry: [String: Any]) throws -> [String: Any] {
        let context = try #require(entry["context"] as? String)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(context.utf8)) as? [String: Any])
        return try #require(object["environment"] as? [String: Any])
    }

    @Test func probeUsesTheRemoteSlmbenchElseTheShellProbe() throws {
        let sshd = try server()
        defer { sshd.stop() }
        let devices = try devicesFile(sshd, cache: sshd.dir.appendingPathComponent("cache"))

        let own = try slmbench(sshd, ["probe", "--on", sshd.url, "--json"])
        #expect(own.status == 0, "\(own.stderr)\n\(sshd.log)")
        let profile = try HardwareProfile.decode(Data(own.stdout.utf8), path: "stdout")
        #expect(profile.name == sshd.url)
        #expect(profile.producer?.hasPrefix("slmbench ") == true)

        let saved = sshd.dir.appendingPathComponent("bare.json").path
        let shell = try slmbench(sshd, ["probe", "--on", "bare", "--json", "--save", saved], devices: devices)
        #expect(shell.status == 0, "\(shell.stderr)")
        #expect(shell.stderr.contains("shell probe"), "\(shell.stderr)")
        let bare = try HardwareProfile.load(path: saved) // validates, fingerprint included
        #expect(bare.name == "bare")
        #expect(bare.cpu.logicalCPUs == profile.cpu.logicalCPUs)
        #expect(bare.memory.totalBytes == profile.memory.totalBytes)
        #expect(bare.cpu.model == profile.cpu.model)
        #expect(bare.unavailable["bandwidth"]?.contains("shell probe") == true)
        #expect(bare.unavailable["topology"] != nil)
        let validated = try slmbench(sshd, ["probe", "--validate", saved])
        #expect(validated.status == 0, "\(validated.stdout)")

        // A device that does not answer is a one-line error naming it.
        sshd.kill()
        let gone = try slmbench(sshd, ["probe", "--on", "bare"], devices: devices)
        #expect(gone.status == 1)
        #expect(gone.stderr.contains("bare does not answer"), "\(gone.stderr)")
    }

    @Test func runCopiesTheModelOnceAndMeasuresThere() throws {
        let sshd = try server()
        defer { sshd.stop() }
        let cache = sshd.dir.appendingPathComponent("cache")
        let devices = try devicesFile(sshd, cache: cache)
        let model = sshd.dir.appendingPathComponent("tiny-q8_0.gguf").path
        let synth = try slmbench(sshd, ["models", "synth", "--preset", "tiny", "--type", "q8_0", "-o", model])
        #expect(synth.status == 0, "\(synth.stderr)")

        let args = ["run", "--on", "loopback", "--model", model, "--prompt", "8", "--gen", "4", "--warmup", "0", "--repetitions", "2", "--json"]
        let first = try slmbench(sshd, args, devices: devices)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("copying"), "\(first.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        #expect(record["status"] as? String == "ok")
        let spec = try #require(record["spec"] as? [String: Any])
        let remoteModel = try #require(spec["model"] as? String)
        #expect(remoteModel.hasPrefix(cache.path + "/") && remoteModel.hasSuffix(".gguf"), "\(remoteModel)")
        #expect(FileManager.default.contentsEqual(atPath: remoteModel, andPath: model))
        #expect(record["peak_rss_bytes"] == nil, "the local peak RSS is ssh's, not the worker's")

        let second = try slmbench(sshd, args, devices: devices)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(!second.stderr.contains("copying"), "the cached copy is reused: \(second.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).count == 1)
    }

    static let spec = """
        name: remote
        axes:
          model: tiny
          type: [q8_0, q4_0]
          threads: [1, 2]
          prompt: 16
          gen: 16
        measurement:
          warmup: 0
          min_repetitions: 3
          max_repetitions: 3
        reference:
          every: 0
        """

    @Test func sweepStoresRunsCarryingTheDeviceProfileAndTheReportNamesIt() throws {
        let sshd = try server()
        defer { sshd.stop() }
        let spec = sshd.dir.appendingPathComponent("spec.yaml").path
        try Self.spec.write(toFile: spec, atomically: true, encoding: .utf8)
        let out = sshd.dir.appendingPathComponent("sweep")
        let store = sshd.dir.appendingPathComponent("results.sqlite").path
        // Named through a devices file, so that the models go to a cache in the test's folder.
        let cache = sshd.dir.appendingPathComponent("cache")
        let devices = try devicesFile(sshd, cache: cache)
        let swept = try slmbench(sshd, ["sweep", spec, "--on", "loopback", "--out", out.path, "--store", store, "--id", "remote-sweep"], devices: devices)
        #expect(swept.status == 0, "\(swept.stderr.suffix(2000))")
        let profile = try HardwareProfile.decode(Data(try slmbench(sshd, ["probe", "--on", sshd.url, "--json"]).stdout.utf8), path: "stdout")

        let entries = try journal(out).filter { $0["kind"] as? String == "run" }
        #expect(entries.count == 4)
        for entry in entries {
            #expect(entry["status"] as? String == "ok", "\(entry["reason"] ?? "")")
            let env = try environment(entry)
            #expect(env["device"] as? String == "loopback")
            #expect(env["fingerprint"] as? String == profile.fingerprint)
            #expect(entry["peak_rss_bytes"] == nil)
        }
        let html = sshd.dir.appendingPathComponent("report.html").path
        let report = try slmbench(sshd, ["report", out.path, "--format", "html", "--out", html, "--store", store])
        #expect(report.status == 0, "\(report.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("device loopback (\(sshd.url)), profile loopback \(profile.fingerprint)"), "\(page.prefix(1200))")
        #expect(!page.contains("No hardware profile was found"))

        // The device's cache: the sweep's two models, named from the store, plus a copy that was
        // interrupted and a model no run in this store used; only those two are stale.
        let used = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        #expect(used.count == 2 && used.allSatisfy { $0.hasSuffix(".gguf") }, "\(used)")
        try Data("x".utf8).write(to: cache.appendingPathComponent("\(used[0]).partial-1234abcd"))
        try Data("y".utf8).write(to: cache.appendingPathComponent(String(repeating: "ab", count: 32) + ".gguf"))
        let listed = try slmbench(sshd, ["models", "remote-ls", "--on", "loopback", "--store", store], devices: devices)
        #expect(listed.status == 0, "\(listed.stderr)")
        for line in ["| tiny | q8_0 | in use |", "| tiny | q4_0 | in use |", "stale: an interrupted copy", "stale: no model in the store has this SHA-256",
                     "4 files, 2 stale"] {
            #expect(listed.stdout.contains(line), "no '\(line)' in\n\(listed.stdout)")
        }
        let removed = try slmbench(sshd, ["models", "remote-ls", "--on", "loopback", "--store", store, "--remove-stale"], devices: devices)
        #expect(removed.status == 0 && removed.stdout.contains("removed 2 stale files"), "\(removed.stdout)\(removed.stderr)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: cache.path)) == Set(used))
        let missing = try slmbench(sshd, ["models", "remote-ls"], devices: devices)
        #expect(missing.status == 64 && missing.stderr.contains("--on is required"), "\(missing.stderr)")
    }

    @Test func sshdKilledMidRunIsARecordedFailureAndResumeFinishes() throws {
        let sshd = try server()
        defer { sshd.stop() }
        let spec = sshd.dir.appendingPathComponent("spec.yaml").path
        try Self.spec.replacingOccurrences(of: "gen: 16", with: "gen: 96").write(toFile: spec, atomically: true, encoding: .utf8)
        let out = sshd.dir.appendingPathComponent("sweep")
        let store = sshd.dir.appendingPathComponent("results.sqlite").path
        let args = ["sweep", spec, "--on", sshd.url, "--out", out.path, "--store", store, "--id", "dropped"]

        let sweep = Process()
        sweep.executableURL = binary
        sweep.arguments = args
        sweep.environment = sshd.environment()
        let errors = sshd.dir.appendingPathComponent("sweep.stderr")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        sweep.standardError = try FileHandle(forWritingTo: errors)
        sweep.standardOutput = FileHandle.nullDevice
        try sweep.run()
        // Kill the server with everything under it once the second run's worker is running there.
        let deadline = Date().addingTimeInterval(120)
        var killed = false
        while Date() < deadline && sweep.isRunning {
            // Complete lines, read without recording anything (the file is being written).
            let done = (try? String(contentsOf: out.appendingPathComponent("journal.jsonl"), encoding: .utf8))?.filter { $0 == "\n" }.count ?? 0
            if done >= 1 && sshd.sessionCommands().contains(where: { $0.contains("slmbench worker") }) {
                sshd.kill(); killed = true; break
            }
            usleep(5_000)
        }
        sweep.waitUntilExit()
        let seen = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        try #require(killed, "no remote worker was seen to kill: \(seen.suffix(1500))")
        #expect(sweep.terminationStatus == 1)
        let stderr = try String(contentsOf: errors, encoding: .utf8)
        #expect(stderr.contains("--resume"), "\(stderr.suffix(1500))")
        let partial = try journal(out)
        let failed = partial.filter { $0["status"] as? String != "ok" }
        #expect(failed.count == 1, "\(partial.map { "\($0["key"] ?? "") \($0["status"] ?? "") \($0["reason"] ?? "")" })")
        #expect((failed.first?["reason"] as? String)?.contains("connection") == true, "\(failed.first?["reason"] ?? "")")
        #expect(partial.count < 4)

        try sshd.start()
        let resumed = try slmbench(sshd, args + ["--resume"])
        #expect(resumed.status == 3, "a failed run remains in the sweep: \(resumed.stderr.suffix(1500))")
        let all = try journal(out)
        let keys = all.compactMap { $0["key"] as? String }
        #expect(Set(keys).count == keys.count, "nothing repeated: \(keys)")
        #expect(keys.count == 4, "nothing lost: \(keys)")
        #expect(all.filter { $0["status"] as? String == "ok" }.count == 3)
        for (before, after) in zip(partial, all) {
            #expect(before["key"] as? String == after["key"] as? String)
            #expect(before["status"] as? String == after["status"] as? String)
        }
    }

    /// The pinned llama-bench scripts/tools/build-llamacpp.sh builds into the cache.
    static var llamaBench: URL {
        let cache = ProcessInfo.processInfo.environment["SLMBENCH_CACHE"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/slmbench")
        return cache.appendingPathComponent("llama.cpp/llama-cpp-python-\(LlamaCppVocabularies.version)/bin/llama-bench")
    }

    @Test func llamaBenchModeOnADeviceWithOnlyLlamaCpp() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.llamaBench.path),
                     "\(Self.llamaBench.path) is missing: run scripts/bootstrap.sh (scripts/tools/build-llamacpp.sh builds it)")
        let sshd = try server()
        defer { sshd.stop() }
        let cache = sshd.dir.appendingPathComponent("cache")
        let devices = sshd.dir.appendingPathComponent("devices.yaml").path
        try """
            devices:
              - name: phone-like
                url: \(sshd.url)
                cache: \(cache.path)
                slmbench: /nonexistent/slmbench
                llama_bench: \(Self.llamaBench.path)
            """.write(toFile: devices, atomically: true, encoding: .utf8)
        let model = sshd.dir.appendingPathComponent("tiny-q8_0.gguf").path
        let synth = try slmbench(sshd, ["models", "synth", "--preset", "tiny", "--type", "q8_0", "-o", model])
        #expect(synth.status == 0, "\(synth.stderr)")
        let run = try slmbench(sshd, ["run", "--on", "phone-like", "--backend", "llama-bench", "--model", model, "--prompt", "16", "--gen", "8",
                                      "--repetitions", "2", "--kv", "f16", "--json"], devices: devices)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("shell probe"), "a device without slmbench is probed by the shell probe: \(run.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(record["status"] as? String == "ok", "\(record["reason"] ?? "")")
        let backend = try #require(record["backend"] as? [String: Any])
        #expect(backend["name"] as? String == "llama-bench")
        let metrics = try #require(record["metrics"] as? [String: Any])
        let tg = try #require(metrics["tg_tps"] as? [String: Any])
        #expect((tg["mean"] as? Double ?? 0) > 0)
        #expect((metrics["pp_tps"] as? [String: Any])?["mean"] as? Double ?? 0 > 0)
        #expect(metrics["ttft_seconds"] == nil && metrics["itl_seconds"] == nil && metrics["e2e_seconds"] == nil, "missing, not guessed: \(metrics.keys.sorted())")
        let samples = try #require(record["samples"] as? [String: Any])
        #expect((samples["repetitions"] as? [Any])?.count == 2)
    }
}
