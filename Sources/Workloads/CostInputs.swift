import DeviceProbe
import Foundation
import Measures
import Reporter

/// The cost model's inputs, each with its source, by one precedence: a flag, else the device
/// profile's economics, else the defaults file (profiles/cost/device-defaults.yaml); cloud prices
/// from the price list.
public struct CostInputs: Sendable {
    public var cloudFile = "profiles/cost/cloud-prices.yaml"
    public var defaultsFile = "profiles/cost/device-defaults.yaml"
    /// Values given as flags, by flag name without dashes (e.g. `price-usd`).
    public var priceUSD: Double?, hourlyUSD: Double?, lifetimeYears: Double?, utilisation: Double?
    public var loadWatts: Double?, idleWatts: Double?, electricityUSDPerKWh: Double?
    public var requestsPerDay: Double?, inputTokens: Double?, outputTokens: Double?

    public init() {}

    /// Everything the model needs for `profile`.
    public func resolve(device profile: HardwareProfile) throws(InputError) -> (DeviceEconomics, CloudPriceList, Workload) {
        let defaults: CostFiles.Defaults, prices: CloudPriceList
        do { defaults = try CostFiles.defaults(defaultsFile) } catch { throw InputError("--cost-defaults \(error)") }
        do { prices = try CostFiles.cloud(cloudFile) } catch { throw InputError("--cloud \(error)") }
        let economics = profile.economics
        let profileSource = profile.sources["economics"].map { "profile \(profile.name): \($0)" } ?? "profile \(profile.name)"
        func pick(_ flag: Double?, _ flagName: String, _ fromProfile: Double?, _ fallback: Assumption?) -> Assumption? {
            if let flag { return Assumption(flag, "flag \(flagName)") }
            if let fromProfile { return Assumption(fromProfile, profileSource) }
            return fallback
        }
        let rented = hourlyUSD != nil || (priceUSD == nil && economics?.priceUSD == nil && economics?.hourlyPriceUSD != nil)
        let device = DeviceEconomics(
            name: profile.name,
            priceUSD: rented ? nil : pick(priceUSD, "--price-usd", economics?.priceUSD, nil),
            hourlyUSD: rented ? pick(hourlyUSD, "--hourly-usd", economics?.hourlyPriceUSD, nil) : nil,
            lifetimeYears: pick(lifetimeYears, "--lifetime-years", nil, defaults.lifetimeYears)!,
            maxUtilisation: pick(utilisation, "--utilisation", nil, defaults.utilisation)!,
            loadWatts: pick(loadWatts, "--load-watts", economics?.loadWatts, nil),
            idleWatts: pick(idleWatts, "--idle-watts", economics?.idleWatts, nil),
            electricityUSDPerKWh: pick(electricityUSDPerKWh, "--electricity-usd-per-kwh", nil, defaults.electricityUSDPerKWh)!)
        let workload = Workload(
            requestsPerDay: pick(requestsPerDay, "--requests-per-day", nil, defaults.workload.requestsPerDay)!,
            inputTokens: pick(inputTokens, "--input-tokens", nil, defaults.workload.inputTokens)!,
            outputTokens: pick(outputTokens, "--output-tokens", nil, defaults.workload.outputTokens)!)
        return (device, prices, workload)
    }
}
