import DeviceProbe
import Foundation

/// What the worker samples during a run: the energy collector the parent probed and chose (by
/// name; the worker opens it again), how often, and the idle baseline measured before the sweep.
public struct SamplingRequest: Codable, Sendable, Equatable {
    /// One of `EnergyProbe.order`; nil: heat and clocks only (no collector on this machine).
    public var collector: String?
    /// `--energy-cmd`, for the `meter` collector.
    public var meterCommand: String?
    /// The `vcgencmd` executable, for the Pi's PMIC rails and throttle bits.
    public var vcgencmd: String?
    public var intervalSeconds: Double
    /// Watts drawn idle (same collector), for the marginal energy; nil when not measured.
    public var idleWatts: Double?
    /// Without a collector: why each one is not usable (the probe's reasons), for the record.
    public var energyUnavailable: String?

    public init(collector: String?, meterCommand: String? = nil, vcgencmd: String? = nil, intervalSeconds: Double = 0.1, idleWatts: Double? = nil) {
        self.collector = collector; self.meterCommand = meterCommand; self.vcgencmd = vcgencmd
        self.intervalSeconds = intervalSeconds; self.idleWatts = idleWatts
    }

    public func problems() -> [String] {
        var p: [String] = []
        if !(intervalSeconds >= 0.01 && intervalSeconds <= 60) { p.append("sampling.interval_seconds must be 0.01 to 60 (got \(intervalSeconds))") }
        if let idleWatts, !(idleWatts >= 0 && idleWatts.isFinite) { p.append("sampling.idle_watts must be watts, 0 or more (got \(idleWatts))") }
        if let collector, !EnergyProbe.order.contains(collector) {
            p.append("sampling.collector must be one of \(EnergyProbe.order.joined(separator: ", ")) (got \(collector))")
        }
        return p
    }

    var sources: EnergyProbe.Sources {
        EnergyProbe.Sources(meterCommand: meterCommand, vcgencmd: vcgencmd, settleSeconds: 0)
    }

    /// A sampler for this request, and why energy is not measured when it is not.
    public func sampler() -> (EnergySampler, energyUnavailable: String?) {
        var collector: EnergyCollector?, reason: String?
        if let name = self.collector {
            switch EnergyProbe.open(name, sources) {
            case let .success(c): collector = c
            case let .failure(e): reason = e.description
            }
        } else {
            reason = energyUnavailable ?? "no energy collector on this machine"
        }
        return (EnergySampler(collector: collector, heat: HeatReader(vcgencmd: vcgencmd), interval: intervalSeconds), reason)
    }
}

/// What the sampler saw during a run, as the worker reports it (`sampling` in the samples): the
/// collector and domains, the sampler's own cost, whether the run throttled, and the time series
/// (seconds from the first measured repetition's start; watts between samples; °C; MHz).
public struct SamplingReport: Codable, Sendable, Equatable {
    public var collector: String?
    public var scope: EnergyScope?
    /// Domains summed into the total, and the others read alongside.
    public var domains: [String]
    public var otherDomains: [String]
    /// Why no energy figure is reported, when none is.
    public var energyUnavailable: String?
    /// What the heat and clock samples cover.
    public var heat: String
    public var intervalSeconds: Double
    public var samples: Int
    /// CPU time of the sampler thread, and as a percentage of one core over the sampled time.
    public var samplerCpuSeconds: Double
    public var samplerCpuPercent: Double
    public var failedReadings: Int
    public var idleWatts: Double?
    /// Why the run counts as throttled (a clock drop, a throttle bit), or nil.
    public var throttled: String?
    public var seriesSeconds: [Double]
    public var seriesWatts: [Double?]
    public var seriesTempC: [Double?]
    public var seriesMhz: [Double?]

    public init(trace: SamplerTrace, heat: String, energyUnavailable: String?, idleWatts: Double?, origin: Double, window: (Double, Double)?) {
        collector = trace.collector
        scope = trace.scope
        domains = trace.domains.filter(\.inTotal).map(\.name)
        otherDomains = trace.domains.filter { !$0.inTotal }.map(\.name)
        let energyMoved = trace.joules(from: trace.times.first ?? 0, to: trace.times.last ?? 0) != nil
        var unavailable = energyUnavailable
        if unavailable == nil, let name = trace.collector, !energyMoved {
            unavailable = trace.firstFailure.map { "\(trace.failedReadings) readings failed: \($0)" } ?? "\(name): the total did not change during the run"
        }
        self.energyUnavailable = unavailable
        self.heat = heat
        intervalSeconds = trace.intervalSeconds
        samples = trace.times.count
        samplerCpuSeconds = trace.samplerCPUSeconds
        samplerCpuPercent = trace.durationSeconds > 0 ? trace.samplerCPUSeconds / trace.durationSeconds * 100 : 0
        failedReadings = trace.failedReadings
        self.idleWatts = unavailable == nil ? idleWatts : nil
        throttled = window.flatMap { trace.throttled(from: $0.0, to: $0.1) }
        seriesSeconds = trace.times.map { $0 - origin }
        let usable = unavailable == nil
        seriesWatts = trace.times.indices.map { i in
            guard usable, i > 0, let a = trace.joules[i - 1], let b = trace.joules[i], trace.times[i] > trace.times[i - 1] else { return nil }
            return (b - a) / (trace.times[i] - trace.times[i - 1])
        }
        seriesTempC = trace.tempC
        seriesMhz = trace.mhz
    }

    /// The context block's account of the sampling: collector, domains, interval, sampler cost.
    public var summary: String {
        var parts = [energyUnavailable.map { "energy not measured (\($0))" }
            ?? "energy: \(collector ?? "?") (\(domains.joined(separator: " + "))\(scope.map { "; " + EnergyProbe.scopeText($0) } ?? ""))"]
        parts.append("heat: \(heat)")
        parts.append(String(format: "every %.2f s, %d samples; sampler thread %.1f ms CPU (%.2f%% of one core)", intervalSeconds, samples,
                            samplerCpuSeconds * 1e3, samplerCpuPercent))
        if let idleWatts { parts.append(String(format: "idle %.2f W", idleWatts)) }
        return parts.joined(separator: "; ")
    }
}

/// Measures the idle baseline: samples the collector for `seconds` with nothing running.
public enum IdleBaseline {
    /// Mean watts over the window, or nil when the collector gives no energy.
    public static func measure(_ request: SamplingRequest, seconds: Double) -> Double? {
        let (sampler, unavailable) = request.sampler()
        guard unavailable == nil else { return nil }
        sampler.start()
        Thread.sleep(forTimeInterval: seconds)
        let trace = sampler.stop()
        guard let a = trace.times.first, let b = trace.times.last, b > a, let j = trace.joules(from: a, to: b) else { return nil }
        return j / (b - a)
    }
}
