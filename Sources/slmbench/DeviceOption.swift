import ArgumentParser
import Workloads

/// `--on`, shared by the commands that measure: where to measure.
struct DeviceOption: ParsableArguments {
    @Option(name: .customLong("on"), help: ArgumentHelp(
        "Measure on another device: ssh://[USER@]HOST[:PORT], adb://SERIAL, or a name in profiles/devices.yaml ($SLMBENCH_DEVICES).",
        valueName: "device"))
    var on: String?

    /// The device named, or nil for this machine.
    var device: Device? {
        get throws {
            guard let on else { return nil }
            do { return try Device.resolve(on, flag: "--on") } catch { throw CLIError("\(error)") }
        }
    }
}
