import Foundation
import TestSupport
import Testing

/// Hostile specs and flags given to the built `slmbench`: each must be one line on stderr naming
/// the file and key (or the flag) and a documented exit code, never a trap (exit 132/134) or an
/// attempt to build billions of runs.
@Suite("hostile specs and flags")
struct HostileInputTests {
    /// A valid spec on the synthetic `tiny` preset (planning it needs no file) with `extra`
    /// appended and `axes` lines replacing the default axes.
    static func spec(axes: String = "  threads: 1", _ extra: String = "") -> String {
        "name: hostile\naxes:\n  model: tiny\n  type: q8_0\n\(axes)\n\(extra)"
    }

    /// (spec text, the key the one-line error must name)
    static let specs: [(String, String)] = [
        (spec(axes: "  prompt: 0..9223372036854775807"), "axes.prompt"),
        (spec(axes: "  threads: 1..4000000000"), "axes.threads"),
        (spec(axes: "  depth: 0..9223372036854775807"), "axes.depth"),
        (spec(axes: "  batch: {from: 1, to: 9223372036854775807, times: 2}"), "axes.batch"),
        (spec(axes: "  gen: {from: 0, to: 9223372036854775807, step: 1}"), "axes.gen"),
        (spec(axes: "  gen: {from: 0, to: 512, times: 2}"), "axes.gen"),
        (spec(axes: "  threads: [1, 9223372036854775807]"), "axes.threads[1]"),
        (spec(axes: "  threads: 1..1000\n  batch: 1..1000"), "axes"),
        (spec(axes: "  prompt: -5"), "axes.prompt"),
        (spec("measurement:\n  timeout: 1e300\n"), "measurement.timeout"),
        (spec("measurement:\n  timeout: .nan\n"), "measurement.timeout"),
        (spec("measurement:\n  timeout: nan\n"), "measurement.timeout"),
        (spec("measurement:\n  timeout: infs\n"), "measurement.timeout"),
        (spec("measurement:\n  timeout: -5s\n"), "measurement.timeout"),
        (spec("measurement:\n  cooldown: 1e300\n"), "measurement.cooldown"),
        (spec("measurement:\n  cooldown: inf\n"), "measurement.cooldown"),
        (spec("measurement:\n  target_ci: nan\n"), "measurement.target_ci"),
        (spec("measurement:\n  high_cv: -1%\n"), "measurement.high_cv"),
        (spec("measurement:\n  memory_limit: 1e300\n"), "measurement.memory_limit"),
        (spec("measurement:\n  warmup: 9223372036854775807\n"), "measurement.warmup"),
        (spec("measurement:\n  max_repetitions: 9223372036854775807\n"), "measurement.max_repetitions"),
        (spec("measurement:\n  seed: -1\n"), "measurement.seed"),
        (spec("reference:\n  drift: inf\n"), "reference.drift"),
        (spec("reference:\n  config: {backend: bogus}\n"), "reference.config.backend"),
        (spec("reference:\n  config: {threads: two}\n"), "reference.config.threads"),
        (spec("reference:\n  config: {type: q9_9}\n"), "reference.config.type"),
        (spec("quality:\n  context: 9223372036854775807\n"), "quality.context"),
    ]

    func slmbench(_ args: [String]) throws -> CommandResult {
        let binary = TestPaths.slmbenchExecutable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: build it (scripts/test.sh does)")
        return try runCommand(binary, args)
    }

    @Test(arguments: specs.indices)
    func aHostileSpecIsOneLineNamingTheFileAndKey(index: Int) throws {
        let (text, key) = Self.specs[index]
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("hostile-\(index).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        // A spec profile: planning against it needs no probe.
        let profile = TestPaths.packageRoot.appendingPathComponent("profiles/hardware/cloud-x86-vm.json").path
        let result = try slmbench(["sweep", path, "--dry-run", "--profile", profile])
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(result.status == 1, "exit \(result.status) for\n\(text)\nstderr: \(result.stderr)")
        #expect(lines.count == 1, "one line expected:\n\(result.stderr)")
        #expect(result.stderr.contains(path) && result.stderr.contains(": \(key)"), "names \(path) and \(key)? \(result.stderr)")
    }

    @Test(arguments: ["--price-usd", "--hourly-usd", "--lifetime-years", "--utilisation", "--load-watts", "--idle-watts",
                      "--electricity-usd-per-kwh", "--requests-per-day"], ["0", "-1", "nan", "inf"])
    func aNonPositiveEconomicFlagIsAUsageErrorNamingIt(flag: String, value: String) throws {
        let profile = TestPaths.packageRoot.appendingPathComponent("profiles/hardware/raspberry-pi-5.json").path
        let result = try slmbench(["cost", "--device", profile, "\(flag)=\(value)"])
        #expect(result.status == 64, "\(flag) \(value): exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains(flag), "\(result.stderr)")
    }

    @Test func aMissingModelFileIsNamedOnce() throws {
        let result = try slmbench(["models", "inspect", "/nonexistent/hostile.gguf"])
        #expect(result.status == 1)
        #expect(result.stderr.components(separatedBy: "/nonexistent/hostile.gguf").count == 2, "named once: \(result.stderr)")
    }
}
