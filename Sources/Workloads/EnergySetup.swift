import DeviceProbe
import Foundation
import Measures
import Worker

/// What a sweep, run or soak samples, decided once before the first run (issue 25): the probe of
/// the energy collectors, the idle baseline with the chosen one, and the start gate's limit.
public struct EnergySetup: Sendable {
    /// `energy: rapl (…)` or `energy: not available (…)`.
    public var probeLine: String
    public var request: SamplingRequest
    /// `--max-start-temp-c`: before each run, wait until the hottest zone is at most this.
    public var maxStartTempC: Double?
    public var startGateTimeoutSeconds: Double

    public init(probeLine: String, request: SamplingRequest, maxStartTempC: Double? = nil, startGateTimeoutSeconds: Double = 1800) {
        self.probeLine = probeLine; self.request = request; self.maxStartTempC = maxStartTempC
        self.startGateTimeoutSeconds = startGateTimeoutSeconds
    }

    /// Probes the collectors, then measures `idleSeconds` of idle power with the one chosen.
    /// A `--energy-cmd` that does not work is an error (the user asked for it); a machine without
    /// any collector is not: its runs sample heat and clocks only, and report no energy.
    public static func prepare(meterCommand: String?, intervalSeconds: Double, idleSeconds: Double, maxStartTempC: Double?,
                               progress: (String) -> Void = { _ in }) throws(InputError) -> EnergySetup {
        let vcgencmd = findExecutable("vcgencmd")
        let probe = EnergyProbe.probe(EnergyProbe.Sources(meterCommand: meterCommand, vcgencmd: vcgencmd))
        if meterCommand != nil, let meter = probe.entries.first(where: { $0.name == "meter" }), let why = meter.unavailable {
            throw InputError(why.hasPrefix("--energy-cmd") ? why : "--energy-cmd: \(why)")
        }
        var request = SamplingRequest(collector: probe.collector?.name, meterCommand: meterCommand, vcgencmd: vcgencmd,
                                      intervalSeconds: intervalSeconds)
        if probe.collector == nil { request.energyUnavailable = probe.reasons }
        if request.collector != nil && idleSeconds > 0 {
            progress(String(format: "measuring idle power for %.0f s…", idleSeconds))
            request.idleWatts = IdleBaseline.measure(request, seconds: idleSeconds)
        }
        return EnergySetup(probeLine: probe.line, request: request, maxStartTempC: maxStartTempC)
    }

    /// The start gate: waits (up to `startGateTimeoutSeconds`) until the hottest thermal zone is
    /// at most `maxStartTempC`. Returns what happened, for the context block; nil without a gate.
    public func waitForStartTemperature(progress: (String) -> Void = { _ in }, heat: HeatReader = HeatReader()) -> String? {
        guard let limit = maxStartTempC else { return nil }
        guard var temp = heat.read().tempC else { return "no thermal zone to read: --max-start-temp-c \(limit) not applied" }
        let start = Date()
        while temp > limit {
            let waited = Date().timeIntervalSince(start)
            if waited >= startGateTimeoutSeconds {
                return String(format: "still %.1f °C after %.0f s waiting for %.1f °C; started anyway", temp, waited, limit)
            }
            progress(String(format: "cooling: %.1f °C, waiting for %.1f °C", temp, limit))
            Thread.sleep(forTimeInterval: 5)
            temp = heat.read().tempC ?? limit
        }
        let waited = Date().timeIntervalSince(start)
        return String(format: "started at %.1f °C (limit %.1f °C) after %.0f s", temp, limit, waited)
    }
}

extension MetricValues {
    /// The run's energy and heat figures, each only where it was measured.
    mutating func addEnergy(_ m: RunMetrics) {
        if let x = m.joulesPerToken { self[.joulesPerToken] = x.mean }
        if let x = m.marginalJoulesPerToken { self[.marginalJoulesPerToken] = x.mean }
        if let x = m.prefillJoulesPerToken { self[.prefillJoulesPerToken] = x.mean }
        if let x = m.decodeWatts { self[.decodeWatts] = x.mean }
        if let x = m.prefillWatts { self[.prefillWatts] = x.mean }
        if let x = m.idleWatts { self[.idleWatts] = x }
        if let x = m.maxTempC { self[.maxTempC] = x }
        if let x = m.minMhz { self[.minMhz] = x }
    }
}
