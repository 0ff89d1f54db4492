import Foundation

/// Temperatures, clocks and throttle bits at one instant: the hottest
/// `/sys/class/thermal/thermal_zone*/temp`, the highest `scaling_cur_freq` over the CPUs (the busy
/// cores set it; idle ones sit low), and the Raspberry Pi's `vcgencmd get_throttled` bits.
public struct HeatReading: Codable, Sendable, Equatable {
    public var tempC: Double?
    public var mhz: Double?
    public var throttleBits: UInt32?
}

/// Reads `HeatReading`s. What the machine lacks is listed in `unavailable` and left nil.
public final class HeatReader: Sendable {
    let files: SystemFiles
    let zones: [String]
    let cpufreq: [String]
    let vcgencmd: String?
    public let unavailable: [String]

    public init(files: SystemFiles = SystemFiles(), vcgencmd: String? = nil) {
        self.files = files
        zones = (files.list("/sys/class/thermal") ?? []).filter { $0.hasPrefix("thermal_zone") }
            .map { "/sys/class/thermal/\($0)/temp" }.filter { files.exists($0) }
        cpufreq = (files.list("/sys/devices/system/cpu") ?? []).filter { $0.hasPrefix("cpu") && $0.dropFirst(3).allSatisfy(\.isNumber) && $0.count > 3 }
            .map { "/sys/devices/system/cpu/\($0)/cpufreq/scaling_cur_freq" }.filter { files.exists($0) }
        var tool = vcgencmd
        if let v = tool, (try? runProgram(v, ["get_throttled"], label: "vcgencmd get_throttled")) == nil { tool = nil }
        self.vcgencmd = tool
        var missing: [String] = []
        if zones.isEmpty { missing.append("no thermal zones") }
        if cpufreq.isEmpty { missing.append("no cpufreq") }
        if tool == nil { missing.append("no vcgencmd") }
        unavailable = missing
    }

    /// What can be read now; a file that fails is left out of this reading.
    public func read() -> HeatReading {
        let temps = zones.compactMap { try? files.number($0, scale: 1e-3, field: "temp") }
        let clocks = cpufreq.compactMap { try? files.number($0, scale: 1e-3, field: "scaling_cur_freq") }
        var bits: UInt32?
        if let vcgencmd, let text = try? runProgram(vcgencmd, ["get_throttled"], label: "vcgencmd get_throttled") {
            bits = Self.throttleBits(text)
        }
        return HeatReading(tempC: temps.max(), mhz: clocks.max(), throttleBits: bits)
    }

    /// `throttled=0x50005` → 0x50005.
    public static func throttleBits(_ text: String) -> UInt32? {
        guard let eq = text.firstIndex(of: "=") else { return nil }
        let value = text[text.index(after: eq)...].trimmingWhitespace()
        return value.hasPrefix("0x") ? UInt32(value.dropFirst(2), radix: 16) : UInt32(value)
    }

    /// What a sample of each kind covers, for the context block.
    public var description: String {
        var parts: [String] = []
        if !zones.isEmpty { parts.append("\(zones.count) thermal zone\(zones.count == 1 ? "" : "s")") }
        if !cpufreq.isEmpty { parts.append("scaling_cur_freq of \(cpufreq.count) CPU\(cpufreq.count == 1 ? "" : "s")") }
        if vcgencmd != nil { parts.append("vcgencmd get_throttled") }
        return parts.isEmpty ? "nothing (\(unavailable.joined(separator: ", ")))" : parts.joined(separator: ", ")
    }
}
