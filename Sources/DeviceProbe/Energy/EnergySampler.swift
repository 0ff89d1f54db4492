import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a collector's raw readings into cumulative joules of its total: counters by their
/// increments (a decrease is a wrap at `wrapJoules`, or, without one, a reset that contributes
/// nothing), power domains by the trapezoid rule between readings.
public struct EnergyAccumulator: Sendable {
    public let domains: [EnergyDomain]
    var previous: (time: Double, values: [Double])?
    public private(set) var joules = 0.0

    public init(domains: [EnergyDomain]) { self.domains = domains }

    /// Adds a reading taken at `time` (seconds) and returns the cumulative total joules.
    @discardableResult
    public mutating func add(time: Double, values: [Double]) -> Double {
        defer { previous = (time, values) }
        guard let previous, values.count == domains.count, previous.values.count == values.count else { return joules }
        let dt = time - previous.time
        for (i, d) in domains.enumerated() where d.inTotal {
            switch d.kind {
            case .counter:
                var delta = values[i] - previous.values[i]
                if delta < 0 { delta = d.wrapJoules.map { delta + $0 } ?? 0 }
                joules += Swift.max(delta, 0)
            case .power:
                if dt > 0 { joules += (values[i] + previous.values[i]) / 2 * dt }
            }
        }
        return joules
    }
}

/// The sampler's record of one run: per sample, the time (seconds on CLOCK_MONOTONIC), the
/// cumulative joules of the collector's total (nil without a collector or where a reading
/// failed), the hottest thermal zone, the highest CPU clock and the throttle bits.
public struct SamplerTrace: Codable, Sendable, Equatable {
    public var collector: String?
    public var scope: EnergyScope?
    public var domains: [EnergyDomain]
    public var intervalSeconds: Double
    public var times: [Double]
    public var joules: [Double?]
    public var tempC: [Double?]
    public var mhz: [Double?]
    public var throttleBits: [UInt32?]
    /// CPU time the sampler thread used (its own cost; programs it runs are not included).
    public var samplerCPUSeconds: Double
    /// Readings of the collector that failed, and the first failure.
    public var failedReadings: Int
    public var firstFailure: String?

    public init(collector: String?, scope: EnergyScope?, domains: [EnergyDomain], intervalSeconds: Double) {
        self.collector = collector; self.scope = scope; self.domains = domains; self.intervalSeconds = intervalSeconds
        times = []; joules = []; tempC = []; mhz = []; throttleBits = []; samplerCPUSeconds = 0; failedReadings = 0
    }

    public var durationSeconds: Double { (times.last ?? 0) - (times.first ?? 0) }

    /// Joules between two instants, from the cumulative series interpolated linearly; nil when
    /// the window is not inside the trace or a reading around it failed, and nil when the total
    /// did not move at all (a counter that does not count, as in a virtual machine, is no
    /// measurement of zero joules).
    public func joules(from a: Double, to b: Double) -> Double? {
        guard b >= a, let ea = cumulative(at: a), let eb = cumulative(at: b), let first = joules.first ?? nil,
              let last = joules.last ?? nil, last > first else { return nil }
        return eb - ea
    }

    func cumulative(at t: Double) -> Double? {
        guard let first = times.first, let last = times.last, t >= first - 1e-9, t <= last + 1e-9 else { return nil }
        var hi = times.firstIndex { $0 >= t } ?? times.count - 1
        if hi == 0 { hi = Swift.min(1, times.count - 1) }
        let lo = Swift.max(hi - 1, 0)
        guard let jl = joules[lo], let jh = joules[hi] else { return nil }
        let span = times[hi] - times[lo]
        return span > 0 ? jl + (jh - jl) * (t - times[lo]) / span : jl
    }

    /// Values of a series at samples within [a, b] (the nearest sample when none falls inside).
    public func values<T>(_ series: [T?], from a: Double, to b: Double) -> [T] {
        let inside = times.indices.filter { times[$0] >= a && times[$0] <= b }.compactMap { series[$0] }
        if !inside.isEmpty { return inside }
        guard let nearest = times.indices.min(by: { abs(times[$0] - a) < abs(times[$1] - a) }) else { return [] }
        return series[nearest].map { [$0] } ?? []
    }

    /// Whether the clock dropped or a throttle bit rose between [a, b] (seconds): a throttle bit
    /// set later that was clear at the first sample, or the highest CPU clock's median over the
    /// last third of the samples more than 5% below its median over the first third. The reason,
    /// in words, or nil.
    public func throttled(from a: Double, to b: Double) -> String? {
        let inside = times.indices.filter { times[$0] >= a && times[$0] <= b }
        let bits = inside.compactMap { throttleBits[$0] }
        if let first = bits.first, let risen = bits.map({ $0 & ~first }).first(where: { $0 != 0 }) {
            return String(format: "throttle bits 0x%x rose", risen)
        }
        let clocks = inside.compactMap { mhz[$0] }
        guard clocks.count >= 6 else { return nil }
        let third = clocks.count / 3
        func median(_ x: ArraySlice<Double>) -> Double { let s = x.sorted(); return s[s.count / 2] }
        let early = median(clocks.prefix(third)), late = median(clocks.suffix(third))
        if late < early * 0.95 { return String(format: "clock fell from %.0f to %.0f MHz", early, late) }
        return nil
    }
}

/// A thread that samples a collector and the heat reader every `interval` seconds, from `start`
/// to `stop` (both of which take a sample themselves, so a window is bracketed exactly).
public final class EnergySampler: @unchecked Sendable {
    let collector: EnergyCollector?
    let heat: HeatReader
    let interval: Double
    let lock = NSLock()
    let wake = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)
    var trace: SamplerTrace
    var accumulator: EnergyAccumulator?
    var stopping = false
    var running = false

    public init(collector: EnergyCollector?, heat: HeatReader, interval: Double) {
        self.collector = collector
        self.heat = heat
        self.interval = interval
        trace = SamplerTrace(collector: collector?.name, scope: collector?.scope, domains: collector?.domains ?? [], intervalSeconds: interval)
        accumulator = collector.map { EnergyAccumulator(domains: $0.domains) }
    }

    /// Seconds on CLOCK_MONOTONIC (the clock the measurement loop's timestamps use).
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// One sample, now. The time is taken between the energy reading and the heat reading.
    func sample() {
        var energy: [Double]?
        var failure: String?
        if let collector {
            do { energy = try collector.read() } catch { failure = error.description }
        }
        let t = Self.now()
        let h = heat.read()
        lock.lock(); defer { lock.unlock() }
        trace.times.append(t)
        if let energy, accumulator != nil {
            trace.joules.append(accumulator!.add(time: t, values: energy))
        } else {
            trace.joules.append(nil)
            if failure != nil { trace.failedReadings += 1; trace.firstFailure = trace.firstFailure ?? failure }
        }
        trace.tempC.append(h.tempC)
        trace.mhz.append(h.mhz)
        trace.throttleBits.append(h.throttleBits)
    }

    public func start() {
        sample()
        running = true
        let thread = Thread { [self] in
            let cpu0 = Self.threadCPUSeconds()
            var next = Self.now() + interval
            while true {
                let wait = next - Self.now()
                if wait > 0 { _ = wake.wait(timeout: .now() + wait) }
                lock.lock(); let stop = stopping; lock.unlock()
                if stop { break }
                sample()
                next += interval
                if next < Self.now() { next = Self.now() + interval }
            }
            lock.lock(); trace.samplerCPUSeconds = Self.threadCPUSeconds() - cpu0; lock.unlock()
            finished.signal()
        }
        thread.name = "slmbench-sampler"
        thread.start()
    }

    /// Stops the thread, takes a last sample and returns the trace.
    public func stop() -> SamplerTrace {
        if running {
            lock.lock(); stopping = true; lock.unlock()
            wake.signal()
            _ = finished.wait(timeout: .now() + interval + 10)
            running = false
        }
        sample()
        lock.lock(); defer { lock.unlock() }
        return trace
    }
}

extension EnergySampler {
    /// What the heat samples cover (thermal zones, clocks, throttle bits).
    public var heatDescription: String { heat.description }
}
