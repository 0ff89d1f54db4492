import Foundation
import TestSupport
import Testing

/// Energy, heat and sustained speed as users meet them (issue 25): the probe's energy line, the
/// root-only counters as `nobody`, a run on a machine without collectors, and a 2-minute soak.
@Suite("energy, heat, soak", .serialized)
struct EnergyCommandTests {
    func slmbench(_ args: [String], as user: [String] = []) throws -> CommandResult {
        let binary = TestPaths.slmbenchExecutable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: build it (scripts/test.sh does)")
        if user.isEmpty { return try runCommand(binary, args) }
        return try runCommand(URL(fileURLWithPath: "/usr/bin/setpriv"), user + [binary.path] + args)
    }

    func requireRealModel() throws {
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
    }

    static let noCollectorHere = !FileManager.default.fileExists(atPath: "/sys/class/powercap") && !FileManager.default.fileExists(atPath: "/sys/class/hwmon")

    @Test(.enabled(if: noCollectorHere, "this machine has powercap or hwmon"))
    func theProbeSaysEnergyIsNotAvailableHere() throws {
        let r = try slmbench(["probe", "--energy"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("energy: not available (no powercap, no hwmon, no meter"), "\(r.stdout)")
        #expect(r.stdout.contains("\nheat: "))
    }

    /// Linux 5.10+ makes energy_uj root-only: the fixture's counters, mode 0400 and owned by root,
    /// probed by `nobody` (setpriv drops to uid and gid 65534 for the child only).
    @Test(.enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
    func rootOnlyEnergyFilesAsNobody() throws {
        let dir = URL(fileURLWithPath: "/tmp/slmbench-rapl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        let tree = dir.appendingPathComponent("tree")
        try FileManager.default.copyItem(at: TestPaths.packageRoot.appendingPathComponent("Tests/DeviceProbeTests/Fixtures/trees/energy-intel-rapl"), to: tree)
        let zones = tree.appendingPathComponent("sys/class/powercap")
        for zone in try FileManager.default.contentsOfDirectory(atPath: zones.path) {
            try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: zones.appendingPathComponent("\(zone)/energy_uj").path)
        }
        let nobody = try slmbench(["probe", "--energy", "--root", tree.path], as: ["--reuid=65534", "--regid=65534", "--clear-groups"])
        #expect(nobody.status == 0, "\(nobody.stderr)")
        #expect(nobody.stdout.contains("intel-rapl:0/energy_uj is readable by root only (Linux 5.10 and later"), "\(nobody.stdout)\(nobody.stderr)")
        let root = try slmbench(["probe", "--energy", "--root", tree.path])
        #expect(!root.stdout.contains("readable by root only"), "\(root.stdout)")
    }

    @Test func aRunWithoutACollectorCarriesNoEnergyFigures() throws {
        try requireRealModel()
        let common = ["run", "--model", "smollm2-135m", "--type", "q4_0", "--threads", "1", "--prompt", "16", "--gen", "8",
                      "--warmup", "0", "--repetitions", "2", "--idle-seconds", "0"]
        let table = try slmbench(common)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("\nheat     ") && table.stdout.contains("\nsampler  every 0.10 s"), "\(table.stdout)")
        if Self.noCollectorHere {
            #expect(table.stdout.contains("\nenergy   not measured: "), "\(table.stdout)")
            #expect(!table.stdout.contains("J/token"))
            let json = try slmbench(common + ["--json"])
            #expect(json.status == 0)
            for key in ["prefill_joules", "decode_joules", "joules_per_token", "decode_watts"] {
                #expect(!json.stdout.contains("\"\(key)\""), "\(key) in a run without a collector")
            }
        }
        let bad = try slmbench(common + ["--energy-cmd", "echo nonsense"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("--energy-cmd echo nonsense: output \"nonsense\" is not \"<number> J\""), "\(bad.stderr)")
    }

    /// The budgeted long test: two minutes of back-to-back repetitions.
    @Test func aTwoMinuteSoakGivesASeriesAndASteadyState() throws {
        try requireRealModel()
        let out = try TestPaths.temporaryDirectory("slmbench-soak")
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try slmbench(["soak", "--model", "smollm2-135m", "--type", "q4_0", "--threads", "1", "--prompt", "32", "--gen", "32",
                              "--duration", "2m", "--idle-seconds", "0", "--sample-interval", "0.5", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr.suffix(1500))")
        for line in ["burst ", "steady state ", "throttle ", "J/token ", "report "] { #expect(r.stdout.contains(line), "no '\(line)' in\n\(r.stdout)") }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("soak.json"))) as? [String: Any])
        let summary = try #require(json["summary"] as? [String: Any], "no summary in soak.json")
        let steady = try #require(summary["steady_rate"] as? Double), burst = try #require(summary["burst_rate"] as? Double)
        #expect(steady > 0 && burst > 0)
        #expect((summary["duration_seconds"] as? Double ?? 0) >= 120)
        let record = try #require(json["record"] as? [String: Any])
        let sampling = try #require((record["samples"] as? [String: Any])?["sampling"] as? [String: Any])
        #expect((sampling["series_seconds"] as? [Double])?.count ?? 0 >= 200)
        let html = try String(contentsOf: out.appendingPathComponent("soak.html"), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("Speed over time") && html.contains("burst "))
        if Self.noCollectorHere { #expect(html.contains("Power not measured")) }
    }
}
