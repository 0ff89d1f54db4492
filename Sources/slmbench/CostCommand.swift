import ArgumentParser
import DeviceProbe
import Foundation
import Measures
import Reporter
import ResultStore
import Workloads

/// The cost model's inputs from flags, the device profile and profiles/cost/.
struct CostOptions: ParsableArguments {
    @Option(help: "Cloud price list (YAML).") var cloud = "profiles/cost/cloud-prices.yaml"
    @Option(help: "Defaults for lifetime, utilisation, electricity and the workload (YAML).") var costDefaults = "profiles/cost/device-defaults.yaml"
    @Option(help: "Device purchase price, USD (default: the profile's economics).") var priceUsd: Double?
    @Option(help: "Device rental price per hour, USD, for a rented machine (replaces price and power).") var hourlyUsd: Double?
    @Option(help: "Device lifetime, years.") var lifetimeYears: Double?
    @Option(help: "Planned busy fraction of the device, 0–1.") var utilisation: Double?
    @Option(help: "Device power under inference load, W (default: the profile's economics).") var loadWatts: Double?
    @Option(help: "Device power when idle, W.") var idleWatts: Double?
    @Option(help: "Electricity price, USD per kWh.") var electricityUsdPerKwh: Double?
    @Option(help: "Workload: requests per day.") var requestsPerDay: Double?
    @Option(help: "Workload: input (prompt) tokens per request.") var inputTokens: Double?
    @Option(help: "Workload: output tokens per request.") var outputTokens: Double?

    func validate() throws {
        // The device's economics and the request rate divide or scale every figure: zero, a
        // negative value, NaN or infinity would print nonsense (a zero lifetime divides by zero).
        for (flag, value) in [("--price-usd", priceUsd), ("--hourly-usd", hourlyUsd), ("--lifetime-years", lifetimeYears), ("--load-watts", loadWatts),
                              ("--idle-watts", idleWatts), ("--electricity-usd-per-kwh", electricityUsdPerKwh), ("--requests-per-day", requestsPerDay)] {
            if let value, !(value > 0 && value.isFinite) { throw ValidationError("\(flag) must be a positive number, got \(value)") }
        }
        for (flag, value) in [("--input-tokens", inputTokens), ("--output-tokens", outputTokens)] {
            if let value, !(value >= 0 && value.isFinite) { throw ValidationError("\(flag) must be a non-negative number, got \(value)") }
        }
        if inputTokens == 0 && outputTokens == 0 { throw ValidationError("--input-tokens and --output-tokens are both 0: a request of no tokens has no cost per token") }
        if let utilisation, !(utilisation > 0 && utilisation <= 1) { throw ValidationError("--utilisation must be in (0, 1], got \(utilisation)") }
    }

    /// The flags as the cost model's inputs (flag, else the profile, else the defaults file).
    var inputs: CostInputs {
        var c = CostInputs()
        c.cloudFile = cloud; c.defaultsFile = costDefaults
        c.priceUSD = priceUsd; c.hourlyUSD = hourlyUsd; c.lifetimeYears = lifetimeYears; c.utilisation = utilisation
        c.loadWatts = loadWatts; c.idleWatts = idleWatts; c.electricityUSDPerKWh = electricityUsdPerKwh
        c.requestsPerDay = requestsPerDay; c.inputTokens = inputTokens; c.outputTokens = outputTokens
        return c
    }
}

struct Cost: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cloud-vs-device cost: USD per million tokens, monthly cost, break-even volume and latency.",
        discussion: reflow("""
            Throughput comes from the results measured on the device (matched by the profile's
            fingerprint), or, for a device not at hand, from the calibrated roofline predictions
            (slmbench predict), marked with their error. Device economics come from flags, else the
            device profile's economics, else profiles/cost/device-defaults.yaml; cloud prices from
            --cloud. Every assumption is printed with its value and source.
            """))

    @Argument(help: "A sweep folder or a sweep id (default: every result in --store).") var results: String?
    @Option(help: "The device's hardware profile (default: the profile of the machine the results ran on).") var device: String?
    @OptionGroup var storeOption: StoreOption
    @Option(help: "Hardware profile of a machine the results ran on (repeat; default: the store's and profiles/hardware/*.json).")
    var machine: [String] = []
    @Option(help: "Only this model.") var model: String?
    @Option(help: "Only this tensor type.") var type: String?
    @Option(help: "Only this batch size (sequences decoded together; larger batches cost less and answer later).") var batch: Int?
    @OptionGroup var cost: CostOptions
    @Flag(help: "Print one JSON document.") var json = false

    func run() throws {
        let measured = ResultsSource(store: try storeOption.location, folders: [], machines: try ProfileLibrary.load(machine, flag: "--machine"))
        let entries: [StoredRun]
        if let results {
            entries = try ResultSet.load(results, store: try storeOption.location, kinds: [.run], flag: "RESULTS").entries
        } else {
            entries = try measured.load(kinds: [.run])
        }
        let profile: HardwareProfile
        if let device { profile = try ProfileLibrary.load(device, flag: "--device") } else {
            let known = measured.profiles(for: entries)
            guard known.count == 1, let only = known.values.first else {
                throw CLIError(known.isEmpty ? "no hardware profile for the machine these results ran on: pass --device profiles/hardware/X.json"
                                             : "results from \(known.count) machines: pass --device to choose one")
            }
            profile = only
        }
        let target = Predictors.targetEntries(profile, entries: entries, measured: measured)
        guard !target.entries.isEmpty else {
            throw CLIError("no measured results for \(profile.name) (fingerprint \(profile.fingerprint)) in \(try results ?? storeOption.location.description), and \(target.source); "
                + "run a sweep on a machine probed with --bandwidth first")
        }
        let rows = target.entries.filter {
            (model == nil || $0.config.model == model) && (type == nil || $0.config.modelType == type?.lowercased()) && (batch == nil || $0.config.nSeq == batch)
        }
        let (economics, prices, workload) = try cost.inputs.resolve(device: profile)
        let result: CostModel
        do { result = try CostModel(entries: rows, device: economics, cloud: prices, workload: workload) } catch { throw CLIError("\(error)") }
        if json {
            try JSONOutput.print(CostDocument(result, source: target.source))
        } else {
            print("cost for \(profile.name) (\(profile.fingerprint)) · throughput \(target.source)")
            print("")
            print(result.markdown())
        }
    }
}
