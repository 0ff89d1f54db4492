import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How a domain reports: a cumulative energy counter (joules since some origin, which may wrap)
/// or an instantaneous power (watts), which the sampler integrates over time.
public enum EnergyReadingKind: String, Codable, Sendable {
    case counter, power
}

/// What a collector's total covers. A package counter (RAPL, perf) misses the rest of the board
/// (memory outside the package on some parts, storage, fans, the power supply's losses); a wall
/// meter sees everything the device draws; a battery sees everything but the charger.
public enum EnergyScope: String, Codable, Sendable {
    /// The CPU package (and DRAM where the part reports it).
    case package
    /// Rails measured on the board (Jetson INA3221 channels, Raspberry Pi 5 PMIC rails).
    case board
    /// The battery's discharge (Android and laptops): the whole device while not charging.
    case battery
    /// An external meter between the device and the wall or USB supply.
    case wall
}

/// One measured domain of a collector.
public struct EnergyDomain: Codable, Sendable, Equatable {
    /// `package-0`, `dram`, `VDD_IN`, `VDD_CORE`, `battery`, `meter`, …
    public var name: String
    public var kind: EnergyReadingKind
    /// Joules at which a counter wraps back to zero (RAPL's `max_energy_range_uj`); nil: no wrap known.
    public var wrapJoules: Double?
    /// Whether the domain counts toward the total: a package and DRAM do, the core domain (part of
    /// the package) does not; a board's input rail does, the rails behind it do not.
    public var inTotal: Bool

    public init(name: String, kind: EnergyReadingKind, wrapJoules: Double? = nil, inTotal: Bool = true) {
        self.name = name; self.kind = kind; self.wrapJoules = wrapJoules; self.inTotal = inTotal
    }
}

/// Why an energy reading failed or a collector's input is not what it should be. One line that
/// names the file, field or flag.
public struct EnergyError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A source of power or energy readings. `read` returns one value per domain, in `domains`
/// order: cumulative joules for a counter, watts for a power domain.
public protocol EnergyCollector: AnyObject, Sendable {
    /// `rapl`, `perf`, `hwmon`, `pi5-pmic`, `battery`, `meter`.
    var name: String { get }
    var scope: EnergyScope { get }
    var domains: [EnergyDomain] { get }
    func read() throws(EnergyError) -> [Double]
}

extension SystemFiles {
    /// A sysfs number scaled to a unit, or an error naming the file.
    func number(_ path: String, scale: Double, field: String) throws(EnergyError) -> Double {
        let text: String
        do { text = try line(path) } catch { throw EnergyError(Self.readReason(error)) }
        guard let value = Double(text), value.isFinite else {
            throw EnergyError("\(resolve(path)): \(field) is not a number (\"\(text.prefix(40))\")")
        }
        return value * scale
    }

    /// A read failure in words, with the Linux 5.10 rule spelled out for EACCES.
    static func readReason(_ error: ProbeError) -> String {
        if case let .unreadable(path, code) = error, code == EACCES || code == EPERM {
            return "\(path) is readable by root only (Linux 5.10 and later restrict energy counters); run as root or use another collector"
        }
        return error.description
    }
}
