import DeviceProbe
import Foundation
import TestSupport
import Testing

/// The adb path with a stand-in `adb` on PATH that logs its calls and runs them here (`shell` in
/// sh, `push` as a copy). No phone is involved: this checks what slmbench asks of adb.
@Suite("remote devices over adb (stand-in adb)")
struct AdbStandInTests {
    let binary = TestPaths.slmbenchExecutable

    static let standIn = """
        #!/bin/sh
        # A stand-in adb for the tests: logs each call, then runs it on this machine.
        printf '%s\\n' "$*" >> "$ADB_LOG"
        [ "$1" = "-s" ] || { echo "stand-in adb: expected -s SERIAL first" >&2; exit 1; }
        shift 2
        case "$1" in
          shell) shift; exec sh -c "$1" ;;
          push) cp "$2" "$3" && echo "$2: 1 file pushed" ;;
          *) echo "stand-in adb: unsupported $1" >&2; exit 1 ;;
        esac
        """

    @Test func probeAndRunThroughAdb() throws {
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: build it (scripts/test.sh does)")
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        let dir = try TestPaths.temporaryDirectory("slmbench-adb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bin = dir.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let adb = bin.appendingPathComponent("adb")
        try Self.standIn.write(to: adb, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: adb.path)
        let log = dir.appendingPathComponent("adb.log")
        let devices = dir.appendingPathComponent("devices.yaml")
        try """
            devices:
              - name: phone
                url: adb://emulator-5554
                cache: \(dir.path)/cache
                slmbench: \(binary.path)
              - name: stock-phone
                url: adb://emulator-5554
                slmbench: /nonexistent/slmbench
            """.write(to: devices, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = bin.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["ADB_LOG"] = log.path
        env["SLMBENCH_DEVICES"] = devices.path

        let stock = try runCommand(binary, ["probe", "--on", "stock-phone", "--json"], environment: env)
        #expect(stock.status == 0, "\(stock.stderr)")
        let profile = try HardwareProfile.decode(Data(stock.stdout.utf8), path: "stdout")
        #expect(profile.name == "stock-phone")
        #expect(profile.unavailable["bandwidth"]?.contains("shell probe") == true)

        let model = dir.appendingPathComponent("tiny-q8_0.gguf").path
        let synth = try runCommand(binary, ["models", "synth", "--preset", "tiny", "--type", "q8_0", "-o", model], environment: env)
        #expect(synth.status == 0, "\(synth.stderr)")
        let run = try runCommand(binary, ["run", "--on", "phone", "--model", model, "--prompt", "8", "--gen", "4", "--warmup", "0",
                                          "--repetitions", "2", "--json"], environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(record["status"] as? String == "ok")

        let calls = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        #expect(calls.allSatisfy { $0.hasPrefix("-s emulator-5554 ") }, "\(calls)")
        #expect(calls.contains { $0.hasPrefix("-s emulator-5554 push \(model) \(dir.path)/cache/") }, "\(calls)")
        #expect(calls.contains { $0.contains(" shell ") && $0.contains("worker") }, "\(calls)")
    }
}
