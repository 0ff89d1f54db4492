import Foundation

/// Intel and AMD RAPL through the powercap framework: `/sys/class/powercap/intel-rapl:N` (a
/// package, or `psys` on parts that have it) and `intel-rapl:N:M` (its core, uncore and dram
/// subzones). Each `energy_uj` is a counter in microjoules that wraps at `max_energy_range_uj`.
/// AMD Zen reports package and core only: no DRAM domain. Since Linux 5.10 `energy_uj` is
/// readable by root only.
public final class RAPLCollector: EnergyCollector {
    public let name = "rapl"
    public let scope = EnergyScope.package
    public let domains: [EnergyDomain]
    let files: SystemFiles
    let paths: [String]

    static let base = "/sys/class/powercap"

    /// The zones under powercap, each read once to prove it readable; nil when there is no
    /// powercap RAPL zone at all.
    public init?(files: SystemFiles) throws(EnergyError) {
        guard let names = files.list(Self.base) else { return nil }
        let zones = names.filter { $0.hasPrefix("intel-rapl:") }
        guard !zones.isEmpty else { return nil }
        var domains: [EnergyDomain] = [], paths: [String] = []
        for zone in zones {
            let dir = "\(Self.base)/\(zone)"
            let label: String
            do { label = try files.line("\(dir)/name") } catch { throw EnergyError(error.description) }
            let wrap = try? files.number("\(dir)/max_energy_range_uj", scale: 1e-6, field: "max_energy_range_uj")
            _ = try files.number("\(dir)/energy_uj", scale: 1e-6, field: "energy_uj")
            // Packages and DRAM add up to the total; core and uncore are parts of a package, and
            // psys (the whole SoC platform) would count the package twice.
            let inTotal = label.hasPrefix("package") || label == "dram"
            domains.append(EnergyDomain(name: label, kind: .counter, wrapJoules: wrap, inTotal: inTotal))
            paths.append("\(dir)/energy_uj")
        }
        if !domains.contains(where: \.inTotal), let psys = domains.firstIndex(where: { $0.name == "psys" }) { domains[psys].inTotal = true }
        self.domains = domains
        self.paths = paths
        self.files = files
    }

    public func read() throws(EnergyError) -> [Double] {
        var values: [Double] = []
        for path in paths { values.append(try files.number(path, scale: 1e-6, field: "energy_uj")) }
        return values
    }
}

/// hwmon power and energy sensors: `energyN_input` (µJ counters, e.g. amd_energy), `powerN_input`
/// or `powerN_average` (µW), and, for current monitors that report only voltage and current
/// (INA3221 on Jetson), `inN_input` (mV) × `currN_input` (mA) of the same labelled channel.
/// The total is the input rail (`VDD_IN`, a socket) where one is labelled, else every sensor.
public final class HwmonCollector: EnergyCollector {
    public let name = "hwmon"
    public let scope = EnergyScope.board
    public let domains: [EnergyDomain]
    let files: SystemFiles
    /// Per domain: a counter or power file, or a voltage and a current file.
    let sources: [(value: String, current: String?, scale: Double)]

    static let base = "/sys/class/hwmon"

    /// nil when there is no hwmon class; throws when it has sensors but none can be read.
    public init?(files: SystemFiles) throws(EnergyError) {
        guard let devices = files.list(Self.base) else { return nil }
        var domains: [EnergyDomain] = [], sources: [(value: String, current: String?, scale: Double)] = []
        var firstError: EnergyError?
        for device in devices {
            let dir = "\(Self.base)/\(device)"
            guard let entries = files.list(dir) else { continue }
            let chip = (try? files.line("\(dir)/name")) ?? device
            func label(_ prefix: String, _ n: String) -> String {
                (try? files.line("\(dir)/\(prefix)\(n)_label")).flatMap { $0.isEmpty ? nil : $0 } ?? "\(chip) \(prefix)\(n)"
            }
            func add(_ domain: EnergyDomain, _ source: (value: String, current: String?, scale: Double)) {
                do {
                    _ = try files.number(source.0, scale: 1, field: (source.0 as NSString).lastPathComponent)
                    if let c = source.1 { _ = try files.number(c, scale: 1, field: (c as NSString).lastPathComponent) }
                    domains.append(domain); sources.append(source)
                } catch { firstError = firstError ?? error }
            }
            func number(_ name: String, _ prefix: String, _ suffix: String) -> String? {
                guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
                let n = name.dropFirst(prefix.count).dropLast(suffix.count)
                return !n.isEmpty && n.allSatisfy(\.isNumber) ? String(n) : nil
            }
            var powered = Set<String>()
            for entry in entries {
                if let n = number(entry, "energy", "_input") {
                    add(EnergyDomain(name: label("energy", n), kind: .counter), ("\(dir)/\(entry)", nil, 1e-6))
                } else if let n = number(entry, "power", "_input") ?? number(entry, "power", "_average"),
                          !powered.contains(n) {
                    powered.insert(n)
                    add(EnergyDomain(name: label("power", n), kind: .power), ("\(dir)/\(entry)", nil, 1e-6))
                }
            }
            // Voltage × current per channel, where the chip gives no power of its own.
            if powered.isEmpty {
                for entry in entries {
                    guard let n = number(entry, "curr", "_input") else { continue }
                    guard entries.contains("in\(n)_input") else { continue }
                    let name = (try? files.line("\(dir)/in\(n)_label")).flatMap { $0.isEmpty ? nil : $0 }
                        ?? (try? files.line("\(dir)/curr\(n)_label")).flatMap { $0.isEmpty ? nil : $0 } ?? "\(chip) channel \(n)"
                    // mV × mA = µW.
                    add(EnergyDomain(name: name, kind: .power), ("\(dir)/in\(n)_input", "\(dir)/curr\(n)_input", 1e-6))
                }
            }
        }
        guard !domains.isEmpty else {
            if let firstError { throw firstError }
            throw EnergyError("hwmon has no power or energy sensors")
        }
        let inputs = domains.indices.filter { i in
            let n = domains[i].name.lowercased()
            return n == "vdd_in" || n.hasPrefix("vin") || n.contains("socket") || n.contains("package")
        }
        if !inputs.isEmpty { for i in domains.indices { domains[i].inTotal = inputs.contains(i) } }
        self.domains = domains
        self.sources = sources
        self.files = files
    }

    public func read() throws(EnergyError) -> [Double] {
        var values: [Double] = []
        for s in sources {
            let v = try files.number(s.value, scale: 1, field: (s.value as NSString).lastPathComponent)
            if let c = s.current {
                values.append(v * (try files.number(c, scale: 1, field: (c as NSString).lastPathComponent)) * s.scale)
            } else {
                values.append(v * s.scale)
            }
        }
        return values
    }
}

/// A battery through `/sys/class/power_supply/*` (Android, laptops): `power_now` (µW) where the
/// driver has it, else |`current_now`| (µA) × `voltage_now` (µV). Valid only while discharging:
/// on a charger the current is the net flow into the battery, not what the device draws, so a
/// reading while `status` is Charging or Full is an error.
public final class BatteryCollector: EnergyCollector {
    public let name = "battery"
    public let scope = EnergyScope.battery
    public let domains: [EnergyDomain]
    let files: SystemFiles
    let dir: String
    let hasPower: Bool

    static let base = "/sys/class/power_supply"

    /// nil when there is no battery; throws when it is charging or unreadable.
    public init?(files: SystemFiles) throws(EnergyError) {
        guard let supplies = files.list(Self.base),
              let battery = supplies.first(where: { (try? files.line("\(Self.base)/\($0)/type")) == "Battery" }) else { return nil }
        self.files = files
        dir = "\(Self.base)/\(battery)"
        hasPower = files.exists("\(dir)/power_now")
        domains = [EnergyDomain(name: battery, kind: .power)]
        _ = try read()
    }

    public func read() throws(EnergyError) -> [Double] {
        let status = (try? files.line("\(dir)/status")) ?? "Unknown"
        guard status == "Discharging" || status == "Not charging" else {
            throw EnergyError("\(files.resolve(dir))/status is \(status): the battery's current measures the device only while it discharges (unplug the charger)")
        }
        if hasPower { return [abs(try files.number("\(dir)/power_now", scale: 1e-6, field: "power_now"))] }
        let current = try files.number("\(dir)/current_now", scale: 1e-6, field: "current_now")
        let voltage = try files.number("\(dir)/voltage_now", scale: 1e-6, field: "voltage_now")
        return [abs(current) * voltage]
    }
}
