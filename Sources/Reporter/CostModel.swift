import Foundation
import Measures
import ResultStore

/// A number the cost model rests on, with where it came from.
public struct Assumption: Sendable, Equatable {
    public var value: Double
    public var source: String
    public init(_ value: Double, _ source: String) { self.value = value; self.source = source }
}

/// What running the device costs: bought (price over a lifetime, plus electricity) or rented by the hour.
public struct DeviceEconomics: Sendable {
    public var name: String
    public var priceUSD: Assumption?
    public var hourlyUSD: Assumption?
    public var lifetimeYears: Assumption
    /// Busy fraction the device may be planned at (headroom for bursts and queueing).
    public var maxUtilisation: Assumption
    public var loadWatts: Assumption?
    public var idleWatts: Assumption?
    public var electricityUSDPerKWh: Assumption
    public init(name: String, priceUSD: Assumption?, hourlyUSD: Assumption?, lifetimeYears: Assumption, maxUtilisation: Assumption,
                loadWatts: Assumption?, idleWatts: Assumption?, electricityUSDPerKWh: Assumption) {
        self.name = name; self.priceUSD = priceUSD; self.hourlyUSD = hourlyUSD; self.lifetimeYears = lifetimeYears
        self.maxUtilisation = maxUtilisation; self.loadWatts = loadWatts; self.idleWatts = idleWatts; self.electricityUSDPerKWh = electricityUSDPerKWh
    }
}

/// One hosted model's list price and latency.
public struct CloudOption: Sendable, Equatable {
    public var name: String
    public var inputPerMillionUSD: Double
    public var outputPerMillionUSD: Double
    /// Provider time to first token (excluding the network round trip); nil: the list's default.
    public var ttftSeconds: Double?
    public var source: String
    public init(name: String, inputPerMillionUSD: Double, outputPerMillionUSD: Double, ttftSeconds: Double?, source: String) {
        self.name = name; self.inputPerMillionUSD = inputPerMillionUSD; self.outputPerMillionUSD = outputPerMillionUSD
        self.ttftSeconds = ttftSeconds; self.source = source
    }
}

public struct CloudPriceList: Sendable {
    public var file: String
    public var asOf: String
    public var defaultTTFTSeconds: Assumption
    public var rttSeconds: Assumption
    public var options: [CloudOption]
    public init(file: String, asOf: String, defaultTTFTSeconds: Assumption, rttSeconds: Assumption, options: [CloudOption]) {
        self.file = file; self.asOf = asOf; self.defaultTTFTSeconds = defaultTTFTSeconds; self.rttSeconds = rttSeconds; self.options = options
    }
}

/// Requests per day and tokens per request.
public struct Workload: Sendable {
    public var requestsPerDay: Assumption
    public var inputTokens: Assumption
    public var outputTokens: Assumption
    public init(requestsPerDay: Assumption, inputTokens: Assumption, outputTokens: Assumption) {
        self.requestsPerDay = requestsPerDay; self.inputTokens = inputTokens; self.outputTokens = outputTokens
    }
}

public struct CostError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// On-device cost against cloud APIs for one workload, from measured (or predicted) throughput.
///
/// A request takes `I ÷ pp + O ÷ (tg ÷ B)` seconds of the device (prefill, then one decode step
/// per output token; B requests share each step); the fleet needed is the busy time over the
/// planned utilisation. A bought device costs its price over its lifetime plus electricity (load
/// power while busy, idle power otherwise); a rented one its hourly price. Cloud cost is the list
/// price of the workload's input and output tokens.
public struct CostModel: Sendable {
    public static let daysPerMonth = 30.44
    static let hoursPerMonth = daysPerMonth * 24

    public struct DeviceRow: Sendable {
        public var run: StoredRun
        public var secondsPerRequest: Double
        public var devices: Int
        public var monthlyUSD: Double
        public var perMillionTokensUSD: Double
        /// Cost per million tokens with the device busy at the planned utilisation (the best case).
        public var perMillionAtCapacityUSD: Double
        public var ttftSeconds: Double
        public var itlSeconds: Double
        /// Monthly cost of one device that does not depend on use.
        public var fixedMonthlyUSD: Double
        /// Electricity per request above idle.
        public var marginalUSDPerRequest: Double
        public var capacityRequestsPerDay: Double
        /// The electricity per request comes from the run's measured J/token (prefill and decode)
        /// rather than the spec sheet's load and idle watts.
        public var energyMeasured = false
        public var predictionError: Double? { run.predictionError }
    }

    public struct CloudRow: Sendable {
        public var option: CloudOption
        public var perMillionTokensUSD: Double
        public var monthlyUSD: Double
        public var ttftSeconds: Double
        /// Requests per day above which the best device row is cheaper; nil: never.
        public var breakEvenRequestsPerDay: Double?
    }

    public var device: DeviceEconomics
    public var cloud: CloudPriceList
    public var workload: Workload
    public var deviceRows: [DeviceRow] = []
    public var cloudRows: [CloudRow] = []

    /// `entries`: runs or predictions on the device with both a prompt and a generation phase.
    /// Keeps the cheapest configuration per model × type × backend.
    public init(entries: [StoredRun], device: DeviceEconomics, cloud: CloudPriceList, workload: Workload) throws(CostError) {
        self.device = device; self.cloud = cloud; self.workload = workload
        guard device.priceUSD != nil || device.hourlyUSD != nil else {
            throw CostError("no price for \(device.name): give --price-usd (bought) or --hourly-usd (rented), or add economics to its profile")
        }
        if device.hourlyUSD == nil && device.loadWatts == nil {
            throw CostError("no power figure for \(device.name): give --load-watts (and --idle-watts), or add economics.loadWatts to its profile")
        }
        let (r, i, o) = (workload.requestsPerDay.value, workload.inputTokens.value, workload.outputTokens.value)
        guard r > 0, i >= 0, o >= 1 else { throw CostError("the workload needs requests per day > 0 and at least one output token per request") }
        var best: [String: DeviceRow] = [:]
        for e in entries where [.run, .prediction].contains(e.kind) && e.status == .ok {
            guard let pp = e.ppAvgTs, let tg = e.tgAvgTs, pp > 0, tg > 0, e.config.nPrompt > 0, e.config.nGen > 0 else { continue }
            let b = Double(e.config.nSeq)
            let seconds = i / pp + o / tg // per request, with B requests in flight at once
            let capacity = 86_400 * device.maxUtilisation.value / seconds
            let devices = max(1, Int((r / capacity).rounded(.up)))
            let (fixed, marginal): (Double, Double)
            var measuredEnergy = false
            if let hourly = device.hourlyUSD {
                fixed = hourly.value * Self.hoursPerMonth; marginal = 0
            } else {
                let load = device.loadWatts!.value, idle = device.idleWatts?.value ?? load
                let kWh = device.electricityUSDPerKWh.value
                fixed = device.priceUSD!.value / (device.lifetimeYears.value * 12) + idle * Self.hoursPerMonth / 1000 * kWh
                if let ppJ = e.summary[.prefillJoulesPerToken], let tgJ = e.summary[.joulesPerToken] {
                    // Measured: the request's joules less what the device draws idle meanwhile
                    // (the run's own idle baseline where it has one).
                    let idleW = e.summary[.idleWatts] ?? idle
                    marginal = max(0, ppJ * i + tgJ * o - idleW * seconds) / 3.6e6 * kWh
                    measuredEnergy = true
                } else {
                    marginal = seconds / 3600 * (load - idle) / 1000 * kWh
                }
            }
            let monthly = Double(devices) * fixed + r * Self.daysPerMonth * marginal
            let tokens = r * Self.daysPerMonth * (i + o)
            let atCapacity = (fixed + capacity * Self.daysPerMonth * marginal) / (capacity * Self.daysPerMonth * (i + o)) * 1e6
            let row = DeviceRow(run: e, secondsPerRequest: seconds, devices: devices, monthlyUSD: monthly, perMillionTokensUSD: monthly / tokens * 1e6,
                                perMillionAtCapacityUSD: atCapacity, ttftSeconds: b * i / pp + b / tg, itlSeconds: b / tg,
                                fixedMonthlyUSD: fixed, marginalUSDPerRequest: marginal, capacityRequestsPerDay: capacity,
                                energyMeasured: measuredEnergy)
            let key = "\(e.config.model)|\(e.config.modelType)|\(e.config.backend)"
            if best[key].map({ (row.perMillionTokensUSD, row.perMillionAtCapacityUSD) < ($0.perMillionTokensUSD, $0.perMillionAtCapacityUSD) }) ?? true { best[key] = row }
        }
        guard !best.isEmpty else { throw CostError("no run with both prefill and decode throughput to cost (runs need prompt > 0 and gen > 0)") }
        deviceRows = best.values.sorted { ($0.perMillionTokensUSD, $0.perMillionAtCapacityUSD) < ($1.perMillionTokensUSD, $1.perMillionAtCapacityUSD) }
        let cheapest = deviceRows[0]
        for option in cloud.options {
            let perRequest = (i * option.inputPerMillionUSD + o * option.outputPerMillionUSD) / 1e6
            // Break-even: one device's fixed cost is paid back once the cloud's price per request,
            // less the device's electricity per request, covers it; never if the device at full
            // use costs more per request than the cloud.
            let atFullUse = cheapest.fixedMonthlyUSD / (cheapest.capacityRequestsPerDay * Self.daysPerMonth) + cheapest.marginalUSDPerRequest
            let breakEven = perRequest > atFullUse
                ? cheapest.fixedMonthlyUSD / (Self.daysPerMonth * (perRequest - cheapest.marginalUSDPerRequest)) : nil
            cloudRows.append(CloudRow(option: option, perMillionTokensUSD: perRequest / (i + o) * 1e6, monthlyUSD: perRequest * r * Self.daysPerMonth,
                                      ttftSeconds: (option.ttftSeconds ?? cloud.defaultTTFTSeconds.value) + cloud.rttSeconds.value,
                                      breakEvenRequestsPerDay: breakEven))
        }
        cloudRows.sort { $0.perMillionTokensUSD < $1.perMillionTokensUSD }
    }

    /// Every assumption with its value and source.
    public var assumptions: [(name: String, value: String, source: String)] {
        var out: [(String, String, String)] = []
        func add(_ name: String, _ a: Assumption?, _ format: String) { if let a { out.append((name, String(format: format, a.value), a.source)) } }
        add("requests per day", workload.requestsPerDay, "%.0f")
        add("input tokens per request", workload.inputTokens, "%.0f")
        add("output tokens per request", workload.outputTokens, "%.0f")
        add("device purchase price (USD)", device.priceUSD, "%.2f")
        add("device rental (USD/hour)", device.hourlyUSD, "%.4f")
        if device.hourlyUSD == nil {
            add("device lifetime (years)", device.lifetimeYears, "%.1f")
            add("power under load (W)", device.loadWatts, "%.1f")
            if let idle = device.idleWatts { add("power idle (W)", idle, "%.1f") }
            else if let load = device.loadWatts { out.append(("power idle (W)", String(format: "%.1f", load.value), "no idle figure: the load figure is used (an upper bound)")) }
            add("electricity (USD/kWh)", device.electricityUSDPerKWh, "%.3f")
        }
        add("planned utilisation", device.maxUtilisation, "%.2f")
        add("cloud TTFT default (s)", cloud.defaultTTFTSeconds, "%.2f")
        add("network round trip (s)", cloud.rttSeconds, "%.3f")
        out.append(("cloud price list", cloud.asOf, cloud.file))
        let measured = deviceRows.filter(\.energyMeasured).count
        if measured > 0 {
            out.append(("electricity per request", "measured J/token (prefill and decode) less idle watts × busy time, on \(measured) of \(deviceRows.count) rows (marked 'J measured')",
                        "the runs' energy collector (see each run's sampling context: a package counter misses the rest of the board); the other rows and the idle draw use the power figures above"))
        }
        out.append(("throughput", "pp and tg t/s of each run", "measured runs, or predictions marked ± where nothing was measured; rates are assumed not to depend on the prompt length"))
        return out
    }

    public func markdown(limit: Int = 12) -> String {
        func usd(_ x: Double) -> String { x >= 100 ? String(format: "%.0f", x) : x >= 1 ? String(format: "%.2f", x) : String(format: "%.4f", x) }
        func ms(_ s: Double) -> String { String(format: "%.0f", s * 1000) }
        var lines = ["Cost of \(String(format: "%.0f", workload.requestsPerDay.value)) requests/day × (\(String(format: "%.0f", workload.inputTokens.value)) in + \(String(format: "%.0f", workload.outputTokens.value)) out tokens) on \(device.name) and in the cloud (USD).", "",
                     "On \(device.name) (cheapest configuration per model × type × backend):", "",
                     "| model | type | backend | threads | batch | source | s/request | devices | USD/month | USD/1M tok | at capacity | TTFT ms | ITL ms |",
                     "|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for d in deviceRows.prefix(limit) {
            let c = d.run.config
            lines.append("| \(ResultsTable.escape(c.model)) | \(c.modelType) | \(c.backend) | \(c.nThreads) | \(c.nSeq) | \(d.run.source)\(d.energyMeasured ? ", J measured" : "") | \(String(format: "%.2f", d.secondsPerRequest)) | \(d.devices) | \(usd(d.monthlyUSD)) | \(usd(d.perMillionTokensUSD)) | \(usd(d.perMillionAtCapacityUSD)) | \(ms(d.ttftSeconds)) | \(String(format: "%.1f", d.itlSeconds * 1000)) |")
        }
        if deviceRows.count > limit { lines.append("(\(deviceRows.count - limit) more)") }
        let best = deviceRows[0].run.config
        lines += ["", "Cloud APIs (price list of \(cloud.asOf)); break-even against the cheapest device row (\(best.model) \(best.modelType) \(best.backend)):", "",
                  "| option | USD/1M tok (this mix) | USD/month | TTFT + RTT ms | device cheaper above (requests/day) | source |",
                  "|---|---:|---:|---:|---:|---|"]
        for c in cloudRows {
            let be = c.breakEvenRequestsPerDay.map { String(format: "%.0f", $0) } ?? "never"
            lines.append("| \(ResultsTable.escape(c.option.name)) | \(usd(c.perMillionTokensUSD)) | \(usd(c.monthlyUSD)) | \(ms(c.ttftSeconds)) | \(be) | \(ResultsTable.escape(c.option.source)) |")
        }
        lines += ["", "Assumptions:", ""]
        lines += assumptions.map { "- \($0.name): \($0.value) — \($0.source)" }
        return lines.joined(separator: "\n")
    }
}
