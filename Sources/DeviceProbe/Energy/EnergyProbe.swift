import Foundation

/// Which energy collectors this machine has: each one tried, in order of preference (a meter the
/// user named, RAPL through powercap, RAPL through perf, hwmon, the Pi 5 PMIC, a battery), and
/// either usable or listed with the reason it is not. The first usable one is the one runs use.
public struct EnergyProbe: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// nil when usable; else why not ("no powercap", a root-only file, a counter that does not count).
        public var unavailable: String?
    }

    public var entries: [Entry]
    public var collector: EnergyCollector?

    /// Where a collector looks and what it runs.
    public struct Sources: Sendable {
        public var files: SystemFiles
        /// `--energy-cmd`: a shell command printing `<number> J` or `<number> W`.
        public var meterCommand: String?
        /// The `vcgencmd` executable (nil: not on PATH).
        public var vcgencmd: String?
        /// How long a counter is watched to see that it counts.
        public var settleSeconds: Double

        public init(files: SystemFiles = SystemFiles(), meterCommand: String? = nil, vcgencmd: String? = findExecutable("vcgencmd"),
                    settleSeconds: Double = 0.1) {
            self.files = files; self.meterCommand = meterCommand; self.vcgencmd = vcgencmd; self.settleSeconds = settleSeconds
        }
    }

    public static let order = ["meter", "rapl", "perf", "hwmon", "pi5-pmic", "battery"]

    /// Tries every collector (or only `only`) and keeps the first usable one.
    public static func probe(_ sources: Sources = Sources(), only: String? = nil) -> EnergyProbe {
        var entries: [Entry] = []
        var chosen: EnergyCollector?
        for name in order where only == nil || only == name {
            switch open(name, sources) {
            case let .success(c):
                entries.append(Entry(name: name, unavailable: nil))
                if chosen == nil { chosen = c }
            case let .failure(reason):
                entries.append(Entry(name: name, unavailable: reason.description))
            }
        }
        return EnergyProbe(entries: entries, collector: chosen)
    }

    /// One collector, opened and shown to work: a counter must move within `settleSeconds`.
    public static func open(_ name: String, _ s: Sources) -> Result<EnergyCollector, EnergyError> {
        do throws(EnergyError) {
            let collector: EnergyCollector?
            switch name {
            case "meter": collector = try s.meterCommand.map { c throws(EnergyError) -> EnergyCollector in try MeterCollector(command: c) }
            case "rapl": collector = try RAPLCollector(files: s.files)
            case "perf": collector = s.files.isLive ? try PerfEnergyCollector(files: s.files) : nil
            case "hwmon": collector = try HwmonCollector(files: s.files)
            case "pi5-pmic": collector = try s.vcgencmd.map { v throws(EnergyError) -> EnergyCollector in try PiPMICCollector(vcgencmd: v) }
            case "battery": collector = try BatteryCollector(files: s.files)
            default: throw EnergyError("unknown energy collector '\(name)' (one of \(order.joined(separator: ", ")))")
            }
            guard let collector else { return .failure(EnergyError(absent[name] ?? "no \(name)")) }
            if collector.domains.contains(where: { $0.kind == .counter }) && s.settleSeconds > 0 {
                var accumulator = EnergyAccumulator(domains: collector.domains)
                accumulator.add(time: 0, values: try collector.read())
                Thread.sleep(forTimeInterval: s.settleSeconds)
                if accumulator.add(time: s.settleSeconds, values: try collector.read()) <= 0 {
                    let names = collector.domains.filter(\.inTotal).map(\.name).joined(separator: ", ")
                    return .failure(EnergyError("\(name): \(names) did not count in \(s.settleSeconds) s (a virtual machine passes the counter through as zero)"))
                }
            }
            return .success(collector)
        } catch {
            return .failure(error)
        }
    }

    static let absent = ["meter": "no meter", "rapl": "no powercap", "perf": "no perf power PMU", "hwmon": "no hwmon",
                         "pi5-pmic": "no vcgencmd", "battery": "no battery"]

    /// One line: `energy: rapl (package-0, dram; the CPU package)` or
    /// `energy: not available (no powercap, no hwmon, no meter, …)`.
    public var line: String {
        guard let c = collector else { return "energy: not available (\(reasons))" }
        let totals = c.domains.filter(\.inTotal).map(\.name)
        let others = c.domains.filter { !$0.inTotal }.map(\.name)
        return "energy: \(c.name) (\(totals.joined(separator: " + "))\(others.isEmpty ? "" : "; also \(others.joined(separator: ", "))"); \(Self.scopeText(c.scope)))"
    }

    /// Why each collector is not usable: the system's own sources first, then the meter, then the fallbacks.
    public var reasons: String {
        let shown = ["rapl", "hwmon", "meter", "perf", "pi5-pmic", "battery"]
        return entries.sorted { (shown.firstIndex(of: $0.name) ?? 99) < (shown.firstIndex(of: $1.name) ?? 99) }
            .compactMap(\.unavailable).joined(separator: ", ")
    }

    public static func scopeText(_ scope: EnergyScope) -> String {
        switch scope {
        case .package: return "the CPU package, not the wall"
        case .board: return "board rails, not the wall"
        case .battery: return "the battery's discharge"
        case .wall: return "the wall, through a meter"
        }
    }
}
