import CPerfEvent
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program and returns its standard output; an error names `label` (the flag or tool).
/// The program gets `timeout` seconds; stdin is closed; stderr is discarded.
func runProgram(_ executable: String, _ arguments: [String], label: String, timeout: Double = 5) throws(EnergyError) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { throw EnergyError("\(label): cannot start \(executable): \(error.localizedDescription)") }
    let deadline = Date().addingTimeInterval(timeout)
    let reader = out.fileHandleForReading
    var data = Data()
    // Read until EOF (the program exits or closes stdout), capped at 64 KiB.
    while data.count < 1 << 16, let chunk = try? reader.read(upToCount: 4096), !chunk.isEmpty { data.append(chunk) }
    while process.isRunning && Date() < deadline { usleep(2_000) }
    if process.isRunning {
        process.terminate()
        throw EnergyError("\(label): \(executable) did not exit within \(Int(timeout)) s")
    }
    guard process.terminationStatus == 0 else {
        throw EnergyError("\(label): \(executable) exited with status \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}

/// Finds an executable by name on PATH (a path with a slash is taken as it is).
public func findExecutable(_ name: String) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The Raspberry Pi 5's PMIC (DA9091) rails through `vcgencmd pmic_read_adc`: each rail's current
/// (`NAME_A current(n)=…A`) times its voltage (`NAME_V volt(n)=…V`). The sum covers the rails the
/// PMIC supplies (SoC core, memory, I/O); it leaves out the 5 V input and the PMIC's own losses,
/// so it reads below a wall meter.
public final class PiPMICCollector: EnergyCollector {
    public let name = "pi5-pmic"
    public let scope = EnergyScope.board
    public let domains: [EnergyDomain]
    let vcgencmd: String

    public init(vcgencmd: String) throws(EnergyError) {
        self.vcgencmd = vcgencmd
        let rails = try Self.parse(try runProgram(vcgencmd, ["pmic_read_adc"], label: "vcgencmd pmic_read_adc"))
        guard !rails.isEmpty else { throw EnergyError("vcgencmd pmic_read_adc: no rail has both a current and a voltage (not a Raspberry Pi 5?)") }
        domains = rails.map { EnergyDomain(name: $0.name, kind: .power) }
    }

    public func read() throws(EnergyError) -> [Double] {
        let rails = try Self.parse(try runProgram(vcgencmd, ["pmic_read_adc"], label: "vcgencmd pmic_read_adc"))
        let watts = Dictionary(rails.map { ($0.name, $0.watts) }, uniquingKeysWith: { a, _ in a })
        var values: [Double] = []
        for d in domains {
            guard let w = watts[d.name] else { throw EnergyError("vcgencmd pmic_read_adc: rail \(d.name) is missing from its output") }
            values.append(w)
        }
        return values
    }

    /// Rails with both a current and a voltage line, as watts, in the order the currents appear.
    static func parse(_ text: String) throws(EnergyError) -> [(name: String, watts: Double)] {
        var amps: [(String, Double)] = [], volts: [String: Double] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingWhitespace()
            guard !line.isEmpty else { continue }
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let eq = parts[1].firstIndex(of: "=") else {
                throw EnergyError("vcgencmd pmic_read_adc: unexpected line \"\(line.prefix(60))\"")
            }
            let rail = String(parts[0])
            var value = parts[1][parts[1].index(after: eq)...]
            let unit = value.last
            value = value.dropLast()
            guard let number = Double(value), number.isFinite, unit == "A" || unit == "V" else {
                throw EnergyError("vcgencmd pmic_read_adc: \(rail) has no reading in amperes or volts (\"\(line.prefix(60))\")")
            }
            if unit == "A", rail.hasSuffix("_A") { amps.append((String(rail.dropLast(2)), number)) }
            if unit == "V", rail.hasSuffix("_V") { volts[String(rail.dropLast(2))] = number }
        }
        return amps.compactMap { name, a in volts[name].map { (name, a * $0) } }
    }
}

/// An external meter: `--energy-cmd PROGRAM` (run through /bin/sh) prints, on its last line, either
/// cumulative joules (`123.4 J`) or instant power (`5.2 W`). The first reading decides which;
/// every later one must use the same unit.
public final class MeterCollector: EnergyCollector {
    public let name = "meter"
    public let scope = EnergyScope.wall
    public let domains: [EnergyDomain]
    let command: String

    public init(command: String) throws(EnergyError) {
        self.command = command
        let (_, kind) = try Self.parse(try runProgram("/bin/sh", ["-c", command], label: "--energy-cmd"), command: command)
        domains = [EnergyDomain(name: "meter", kind: kind)]
    }

    public func read() throws(EnergyError) -> [Double] {
        let (value, kind) = try Self.parse(try runProgram("/bin/sh", ["-c", command], label: "--energy-cmd"), command: command)
        guard kind == domains[0].kind else {
            throw EnergyError("--energy-cmd \(command): printed \(kind == .counter ? "joules" : "watts") after \(domains[0].kind == .counter ? "joules" : "watts") before; one unit per meter")
        }
        return [value]
    }

    /// The number and unit on the output's last non-empty line: `<number> J` or `<number> W`.
    public static func parse(_ text: String, command: String) throws(EnergyError) -> (Double, EnergyReadingKind) {
        let line = text.split(separator: "\n").map { $0.trimmingWhitespace() }.last { !$0.isEmpty } ?? ""
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let value = Double(parts[0]), value.isFinite, value >= 0 else {
            throw EnergyError("--energy-cmd \(command): output \"\(line.prefix(60))\" is not \"<number> J\" (cumulative joules) or \"<number> W\" (watts)")
        }
        switch parts[1].uppercased() {
        case "J": return (value, .counter)
        case "W": return (value, .power)
        default:
            throw EnergyError("--energy-cmd \(command): unit \"\(parts[1])\" is not J (cumulative joules) or W (watts)")
        }
    }
}

/// The perf `power` PMU (`/sys/bus/event_source/devices/power/events/energy-*`): the same RAPL
/// counters as powercap, through `perf_event_open`, as 64-bit counts × the event's `.scale`
/// (joules), so no wrap. Needs CAP_PERFMON or perf_event_paranoid ≤ 0 for a system-wide event.
public final class PerfEnergyCollector: EnergyCollector {
    public let name = "perf"
    public let scope = EnergyScope.package
    public let domains: [EnergyDomain]
    let events: [(fd: Int32, scale: Double)]

    static let base = "/sys/bus/event_source/devices/power"

    /// An event of the PMU: `energy-pkg` → its config and scale.
    public struct Event: Equatable, Sendable {
        public var name: String
        public var config: UInt64
        public var scale: Double
    }

    /// The PMU's type and energy events from sysfs; nil when there is no power PMU.
    public static func events(files: SystemFiles) throws(EnergyError) -> (type: UInt32, events: [Event])? {
        guard let names = files.list("\(base)/events") else { return nil }
        let typeText: String
        do { typeText = try files.line("\(base)/type") } catch { throw EnergyError(error.description) }
        guard let type = UInt32(typeText) else { throw EnergyError("\(files.resolve(base))/type is not a PMU number (\"\(typeText.prefix(20))\")") }
        var events: [Event] = []
        for name in names where name.hasPrefix("energy-") && !name.contains(".") {
            let path = "\(base)/events/\(name)"
            let text: String
            do { text = try files.line(path) } catch { throw EnergyError(error.description) }
            // "event=0x02" (possibly with other terms, which the power PMU does not use).
            guard let term = text.split(separator: ",").first(where: { $0.hasPrefix("event=") }) else {
                throw EnergyError("\(files.resolve(path)): no event= term (\"\(text.prefix(40))\")")
            }
            let hex = term.dropFirst("event=".count)
            guard let config = hex.hasPrefix("0x") ? UInt64(hex.dropFirst(2), radix: 16) : UInt64(hex) else {
                throw EnergyError("\(files.resolve(path)): event \"\(hex)\" is not a number")
            }
            let scale = try files.number("\(path).scale", scale: 1, field: "scale")
            events.append(Event(name: String(name.dropFirst("energy-".count)), config: config, scale: scale))
        }
        return (type, events)
    }

    /// Opens every energy event on the PMU's first CPU; nil when there is no power PMU.
    public init?(files: SystemFiles) throws(EnergyError) {
        guard let found = try Self.events(files: files) else { return nil }
        let (type, events) = found
        guard !events.isEmpty else { throw EnergyError("perf: the power PMU has no energy events") }
        let cpu = (try? files.line("\(Self.base)/cpumask")).flatMap(parseCPUList)?.first ?? 0
        var opened: [(fd: Int32, scale: Double)] = [], domains: [EnergyDomain] = []
        for e in events {
            let fd = slm_perf_open(type, e.config, Int32(cpu))
            guard fd >= 0 else {
                let code = errno
                for (f, _) in opened { close(f) }
                let paranoid = (try? files.line("/proc/sys/kernel/perf_event_paranoid")).map { " (perf_event_paranoid \($0))" } ?? ""
                throw EnergyError("perf: perf_event_open power/energy-\(e.name): \(String(cString: strerror(code)))\(paranoid)")
            }
            opened.append((fd: fd, scale: e.scale))
            domains.append(EnergyDomain(name: e.name, kind: .counter, inTotal: e.name == "pkg" || e.name == "ram"))
        }
        if !domains.contains(where: \.inTotal), let psys = domains.firstIndex(where: { $0.name == "psys" }) { domains[psys].inTotal = true }
        self.domains = domains
        self.events = opened
    }

    deinit { for e in events { close(e.fd) } }

    public func read() throws(EnergyError) -> [Double] {
        var values: [Double] = []
        for (i, e) in events.enumerated() {
            var count: UInt64 = 0
            guard slm_perf_read(e.fd, &count) == 0 else {
                throw EnergyError("perf: reading power/energy-\(domains[i].name): \(String(cString: strerror(errno)))")
            }
            values.append(Double(count) * e.scale)
        }
        return values
    }
}
