import Foundation
import Reporter

/// The cost model's input files: cloud price lists and device/workload defaults (YAML, in
/// profiles/cost/). Every mistake names the file, line and key, as for sweep specs.
public enum CostFiles {
    /// Defaults for what a device profile and the command line leave open.
    public struct Defaults: Sendable {
        public var lifetimeYears: Assumption
        public var utilisation: Assumption
        public var electricityUSDPerKWh: Assumption
        public var workload: Workload
    }

    static func root(_ path: String) throws(SpecError) -> SpecNode {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SpecError(file: path, line: nil, column: nil, key: "", message: "cannot read: \(error.localizedDescription)")
        }
        return try SpecYAML.root(text, file: path)
    }

    /// `{value: N, source: "…"}`: a number with where it came from; the source is required.
    static func assumption(_ node: SpecNode, min: Double, max: Double, seconds: Bool = false) throws(SpecError) -> Assumption {
        var value: Double?, source: String?
        for (k, v) in try node.mapping(allowed: ["value", "source"]) {
            if k == "value" { value = seconds ? try v.seconds(max: max) : try v.number(min: min, max: max) } else { source = try v.string() }
        }
        guard let value else { throw node.error("needs a value") }
        guard let source, !source.isEmpty else { throw node.error("needs a source: where the figure comes from") }
        return Assumption(value, source)
    }

    public static func cloud(_ path: String) throws(SpecError) -> CloudPriceList {
        let root = try root(path)
        var asOf: String?, ttft: Assumption?, rtt: Assumption?, options: [CloudOption] = []
        for (key, node) in try root.mapping(allowed: ["as_of", "currency", "defaults", "options", "notes"]) {
            switch key {
            case "as_of": asOf = try node.string()
            case "currency": if try node.string() != "USD" { throw node.error("only USD price lists are supported") }
            case "defaults":
                for (k, v) in try node.mapping(allowed: ["ttft", "rtt"]) {
                    if k == "ttft" { ttft = try assumption(v, min: 0, max: 60, seconds: true) } else { rtt = try assumption(v, min: 0, max: 10, seconds: true) }
                }
            case "options":
                for item in node.list() {
                    var name: String?, input: Double?, output: Double?, optionTTFT: Double?, source: String?
                    for (k, v) in try item.mapping(allowed: ["name", "input", "output", "ttft", "source"]) {
                        switch k {
                        case "name": name = try v.string()
                        case "input": input = try v.number(min: 0, max: 1000)
                        case "output": output = try v.number(min: 0, max: 1000)
                        case "ttft": optionTTFT = try v.seconds(max: 60)
                        default: source = try v.string()
                        }
                    }
                    guard let name else { throw item.error("needs a name") }
                    guard let input, let output else { throw item.error("needs input and output prices (USD per 1M tokens)") }
                    guard let source, !source.isEmpty else { throw item.error("needs a source for its price") }
                    options.append(CloudOption(name: name, inputPerMillionUSD: input, outputPerMillionUSD: output, ttftSeconds: optionTTFT, source: source))
                }
            default: break
            }
        }
        guard let asOf else { throw root.error("needs as_of: the date the prices were read") }
        guard let ttft, let rtt else { throw root.error("needs defaults.ttft and defaults.rtt") }
        guard !options.isEmpty else { throw root.error("needs at least one entry under options") }
        return CloudPriceList(file: path, asOf: asOf, defaultTTFTSeconds: ttft, rttSeconds: rtt, options: options)
    }

    public static func defaults(_ path: String) throws(SpecError) -> Defaults {
        let root = try root(path)
        var lifetime: Assumption?, utilisation: Assumption?, electricity: Assumption?
        var requests: Assumption?, input: Assumption?, output: Assumption?
        for (key, node) in try root.mapping(allowed: ["lifetime_years", "utilisation", "electricity_usd_per_kwh", "workload", "notes"]) {
            switch key {
            case "lifetime_years": lifetime = try assumption(node, min: 0.1, max: 50)
            case "utilisation": utilisation = try assumption(node, min: 0.01, max: 1)
            case "electricity_usd_per_kwh": electricity = try assumption(node, min: 0, max: 10)
            case "workload":
                for (k, v) in try node.mapping(allowed: ["requests_per_day", "input_tokens", "output_tokens"]) {
                    switch k {
                    case "requests_per_day": requests = try assumption(v, min: 1, max: 1e12)
                    case "input_tokens": input = try assumption(v, min: 0, max: 1e7)
                    default: output = try assumption(v, min: 1, max: 1e7)
                    }
                }
            default: break
            }
        }
        guard let lifetime, let utilisation, let electricity else { throw root.error("needs lifetime_years, utilisation and electricity_usd_per_kwh") }
        guard let requests, let input, let output else { throw root.error("needs workload.requests_per_day, input_tokens and output_tokens") }
        return Defaults(lifetimeYears: lifetime, utilisation: utilisation, electricityUSDPerKWh: electricity,
                        workload: Workload(requestsPerDay: requests, inputTokens: input, outputTokens: output))
    }
}

extension SpecNode {
    /// A plain number within [min, max].
    func number(min: Double, max: Double) throws(SpecError) -> Double {
        guard case let .scalar(s) = node, s.style == .plain, let v = Double(s.string), v.isFinite else { throw error("expected a number, got \(shown)") }
        guard v >= min && v <= max else { throw error("must be between \(min) and \(max), got \(s.string)") }
        return v
    }
}
