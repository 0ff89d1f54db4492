import ArgumentParser
import Foundation
import Measures
import Workloads

/// `--energy-cmd`, `--sample-interval`, `--idle-seconds` and `--max-start-temp-c`, shared by the
/// commands that run a model (run, sweep, soak).
struct EnergyOptions: ParsableArguments {
    @Option(help: ArgumentHelp("An external meter: a shell command that prints the device's cumulative joules ('12.5 J') or its power ('3.2 W'), run at every sample.", valueName: "command"))
    var energyCmd: String?

    @Option(help: ArgumentHelp("Seconds between energy, temperature and clock samples.", valueName: "seconds"))
    var sampleInterval = 0.1

    @Option(help: ArgumentHelp("Seconds of idle power measured before the first run, for the energy above idle (0: none).", valueName: "seconds"))
    var idleSeconds = 5.0

    @Option(help: ArgumentHelp("Before each run, wait until the hottest thermal zone is at most this many °C.", valueName: "°C"))
    var maxStartTempC: Double?

    func validate() throws {
        guard sampleInterval >= 0.01 && sampleInterval <= 60 else { throw ValidationError("--sample-interval must be 0.01 to 60 seconds, got \(sampleInterval)") }
        guard idleSeconds >= 0 && idleSeconds <= 600 else { throw ValidationError("--idle-seconds must be 0 to 600, got \(idleSeconds)") }
        if let energyCmd, energyCmd.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--energy-cmd is empty") }
        if let t = maxStartTempC, !(t > 0 && t < 150) { throw ValidationError("--max-start-temp-c must be between 0 and 150 °C, got \(t)") }
    }

    /// Probes the collectors (printing the `energy:` line on stderr) and measures the idle baseline.
    func setup() throws -> EnergySetup {
        let setup: EnergySetup
        do {
            setup = try EnergySetup.prepare(meterCommand: energyCmd, intervalSeconds: sampleInterval, idleSeconds: idleSeconds,
                                            maxStartTempC: maxStartTempC) { Console.progress($0) }
        } catch { throw CLIError(error.description) }
        Console.progress(setup.probeLine)
        if let idle = setup.request.idleWatts { Console.progress(String(format: "idle: %.2f W", idle)) }
        return setup
    }
}

extension EnergyOptions {
    /// The flags that measure this machine, refused when the work runs on another device.
    func refuseOnDevice(_ device: String) throws {
        if energyCmd != nil { throw ValidationError("--energy-cmd measures this machine, not \(device): leave it out with --on") }
        if maxStartTempC != nil { throw ValidationError("--max-start-temp-c reads this machine's sensors, not \(device)'s: leave it out with --on") }
    }
}
