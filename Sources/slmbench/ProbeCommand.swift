import ArgumentParser
import Backends
import DeviceProbe
import Foundation
import Workloads

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Probe this machine: cores, caches, ISA, NUMA, limits, memory, and (with --bandwidth) measured bandwidth and compute.",
        discussion: reflow("""
            Prints a human summary, or the full HardwareProfile as JSON with --json
            (schema: docs/hardware-profile.md). --save writes the JSON to a file as well.
            --validate checks profile files (yours or profiles/hardware/*.json) against the schema.
            """))

    @Flag(help: "Measure memory read and triad bandwidth and peak f32 FMA and int8 throughput (takes a few seconds per thread count).")
    var bandwidth = false

    @Flag(help: "Print the profile as one JSON document on stdout; progress goes to stderr.")
    var json = false

    @Option(help: ArgumentHelp("Also write the JSON profile to this file.", valueName: "path"))
    var save: String?

    @Option(help: ArgumentHelp("Profile name (default: the host name).", valueName: "name"))
    var name: String?

    @Option(help: ArgumentHelp("Comma-separated thread counts for --bandwidth (default: 1, powers of two, all usable CPUs).", valueName: "list"))
    var threads: String?

    @Option(help: "Timed trials per measurement for --bandwidth.")
    var trials = 7

    @Option(help: ArgumentHelp("Bytes per streaming array for --bandwidth, in MiB (default: 8× last-level cache, at least 256).", valueName: "MiB"))
    var arrayMib: Int?

    @Option(help: ArgumentHelp("Kernel ISA for --bandwidth: scalar, avx2, avx512, neon, neon-dotprod (default: best available).", valueName: "isa"))
    var isa: String?

    @Flag(name: .customLong("validate"), help: "Validate the profile files given as arguments instead of probing.")
    var validateOnly = false

    @Argument(help: ArgumentHelp("Profile files for --validate.", valueName: "file"))
    var filesToValidate: [String] = []

    @Flag(help: "With --validate: rewrite each file's fingerprint to match its properties.")
    var updateFingerprint = false

    @Flag(help: "Only the energy collectors and heat sensors: which ones run, sweep and soak can use here, and why the others cannot.")
    var energy = false

    @Option(help: ArgumentHelp("With --energy: read /sys below this folder (a captured tree) instead of the live system.", valueName: "dir"))
    var root: String?
    @OptionGroup var deviceOption: DeviceOption

    func validate() throws {
        if trials < 1 { throw ValidationError("--trials must be at least 1") }
        if let arrayMib, arrayMib < 1 { throw ValidationError("--array-mib must be at least 1") }
        if threads != nil && !bandwidth { throw ValidationError("--threads needs --bandwidth") }
        if root != nil && !energy { throw ValidationError("--root needs --energy") }
        if updateFingerprint && !validateOnly { throw ValidationError("--update-fingerprint needs --validate FILE…") }
        if validateOnly && filesToValidate.isEmpty { throw ValidationError("--validate needs at least one profile file") }
        if !validateOnly && !filesToValidate.isEmpty {
            throw ValidationError("unexpected arguments \(filesToValidate.joined(separator: " ")); did you mean --validate?")
        }
        if let threads, parsedThreads(threads) == nil {
            throw ValidationError("--threads expects positive integers separated by commas, e.g. 1,2,4 (got '\(threads)')")
        }
    }

    func parsedThreads(_ text: String) -> [Int]? {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return values.compactMap { $0 }
    }

    func run() throws {
        if validateOnly { return try checkFiles() }
        if energy {
            let files = SystemFiles(root: root ?? "/")
            let vcgencmd = root == nil ? findExecutable("vcgencmd") : nil
            print(EnergyProbe.probe(EnergyProbe.Sources(files: files, vcgencmd: vcgencmd)).line)
            print("heat: " + HeatReader(files: files, vcgencmd: vcgencmd).description)
            return
        }
        if let device = try deviceOption.device { return try show(probeRemote(device)) }
        var bandwidthOptions: BandwidthOptions?
        if bandwidth {
            bandwidthOptions = BandwidthOptions(
                threadCounts: threads.flatMap(parsedThreads), trials: trials,
                arrayBytes: arrayMib.map { $0 << 20 }, isa: isa)
            if BuildInfo.configuration == "debug" {
                Console.warn("WARNING: this is a debug build; measured compute is understated. Build with -c release.")
            }
        }
        let options = ProbeOptions(bandwidth: bandwidthOptions, name: name, producer: BuildInfo.producer)
        let profile: HardwareProfile
        do {
            profile = try DeviceProbe.probe(options) { Console.progress($0) }
        } catch {
            throw CLIError("\(error)")
        }
        try show(profile)
    }

    /// `--on`: the device's own slmbench probe, or the read-only shell probe.
    func probeRemote(_ device: Device) throws -> HardwareProfile {
        if threads != nil || isa != nil || arrayMib != nil || trials != 7 || name != nil {
            throw CLIError("--on probes with the device's defaults: drop --threads, --isa, --array-mib, --trials and --name (the device's name is its name in the devices file)")
        }
        do { return try RemoteProbe.probe(device, bandwidth: bandwidth) { Console.progress($0) } } catch { throw CLIError("\(error)") }
    }

    func show(_ profile: HardwareProfile) throws {
        for note in profile.notes where note.hasPrefix("WARNING") { Console.warn(note) }
        if json {
            FileHandle.standardOutput.write(try profile.jsonData())
        } else {
            print(profile.summary())
            // What the energy and heat samplers of run, sweep and soak can read here (issue 25).
            print("")
            print(EnergyProbe.probe().line)
            print("heat: " + HeatReader(vcgencmd: findExecutable("vcgencmd")).description)
        }
        if let save {
            do { try profile.save(to: save) } catch {
                throw CLIError("cannot write --save \(save): \(error.localizedDescription)")
            }
            Console.progress("saved \(save)")
        }
    }

    func checkFiles() throws {
        var failures = 0
        for path in filesToValidate {
            do {
                _ = try HardwareProfile.load(path: path)
                print("ok  \(path)")
            } catch let error where updateFingerprint && error.field == "fingerprint" {
                var profile = try JSONDecoder().decode(HardwareProfile.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
                profile = profile.refingerprinted()
                try profile.save(to: path)
                print("fixed fingerprint  \(path) → \(profile.fingerprint)")
            } catch {
                failures += 1
                print("FAIL \(error)")
            }
        }
        if failures > 0 { throw Exit.failure }
    }
}
