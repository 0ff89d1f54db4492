import Foundation
import Measures
import Reporter
import ResultStore
import TestSupport
import Testing

@Suite("cost model")
struct CostModelTests {
    static let cloud = CloudPriceList(file: "test", asOf: "today", defaultTTFTSeconds: Assumption(0.5, "t"), rttSeconds: Assumption(0.05, "t"), options: [
        CloudOption(name: "pricey", inputPerMillionUSD: 1, outputPerMillionUSD: 2, ttftSeconds: nil, source: "s"),
        CloudOption(name: "cheap", inputPerMillionUSD: 0.01, outputPerMillionUSD: 0.01, ttftSeconds: 0.2, source: "s"),
    ])

    static func device(hourly: Double? = nil, price: Double? = nil, load: Double? = nil, idle: Double? = nil) -> DeviceEconomics {
        DeviceEconomics(name: "dev", priceUSD: price.map { Assumption($0, "p") }, hourlyUSD: hourly.map { Assumption($0, "h") },
                        lifetimeYears: Assumption(3, "l"), maxUtilisation: Assumption(0.5, "u"), loadWatts: load.map { Assumption($0, "w") },
                        idleWatts: idle.map { Assumption($0, "i") }, electricityUSDPerKWh: Assumption(0.2, "e"))
    }

    static func run(pp: Double, tg: Double, batch: Int = 1, kind: EntryKind = .run) -> StoredRun {
        var r = PredictionFixtures.run("k\(batch)", fingerprint: "f", threads: 1, batch: batch, tg: tg, pp: pp)
        r.kind = kind
        return r
    }

    @Test func aRentedDevicesCostBreakEvenAndLatencyFollowFromTheRates() throws {
        // 1000 prompt tokens at 1000 t/s plus 100 output tokens at 100 t/s: 2 s of the device per request.
        let workload = Workload(requestsPerDay: Assumption(1000, "r"), inputTokens: Assumption(1000, "i"), outputTokens: Assumption(100, "o"))
        let m = try CostModel(entries: [Self.run(pp: 1000, tg: 100)], device: Self.device(hourly: 0.36), cloud: Self.cloud, workload: workload)
        let d = try #require(m.deviceRows.first)
        #expect(abs(d.secondsPerRequest - 2) < 1e-12)
        #expect(d.devices == 1)
        let monthly = 0.36 * 24 * CostModel.daysPerMonth
        #expect(abs(d.monthlyUSD - monthly) < 1e-9)
        #expect(abs(d.perMillionTokensUSD - monthly / (1000 * CostModel.daysPerMonth * 1100) * 1e6) < 1e-9)
        #expect(abs(d.ttftSeconds - (1 + 0.01)) < 1e-12 && abs(d.itlSeconds - 0.01) < 1e-12)
        let pricey = try #require(m.cloudRows.first { $0.option.name == "pricey" })
        // 0.0012 USD per request in the cloud; the device's fixed month is paid back at monthly ÷ (days × 0.0012) requests/day.
        #expect(abs(pricey.monthlyUSD - 0.0012 * 1000 * CostModel.daysPerMonth) < 1e-9)
        #expect(abs(try #require(pricey.breakEvenRequestsPerDay) - monthly / (CostModel.daysPerMonth * 0.0012)) < 1e-6)
        #expect(abs(pricey.ttftSeconds - 0.55) < 1e-12)
        // At full use the device costs more per request than the cheap option: no break-even.
        #expect(m.cloudRows.first { $0.option.name == "cheap" }?.breakEvenRequestsPerDay == nil)
        #expect(m.markdown().contains("never"))
    }

    @Test func aBoughtDevicePaysElectricityAndAFleetGrowsWithTheWorkload() throws {
        let workload = Workload(requestsPerDay: Assumption(50_000, "r"), inputTokens: Assumption(100, "i"), outputTokens: Assumption(100, "o"))
        // 0.1 + 1 = 1.1 s per request; capacity at 50% is 39,273 requests/day, so two devices.
        let m = try CostModel(entries: [Self.run(pp: 1000, tg: 100)], device: Self.device(price: 120, load: 10, idle: 4),
                              cloud: Self.cloud, workload: workload)
        let d = try #require(m.deviceRows.first)
        #expect(d.devices == 2)
        let fixed = 120.0 / 36 + 4 * 24 * CostModel.daysPerMonth / 1000 * 0.2
        let marginal = 1.1 / 3600 * 6 / 1000 * 0.2
        #expect(abs(d.monthlyUSD - (2 * fixed + 50_000 * CostModel.daysPerMonth * marginal)) < 1e-9)
        // Batch 4 at the same aggregate rates shortens nothing per request but takes 4× the TTFT.
        let batched = try CostModel(entries: [Self.run(pp: 1000, tg: 100, batch: 4)], device: Self.device(price: 120, load: 10, idle: 4),
                                    cloud: Self.cloud, workload: workload)
        #expect(abs(batched.deviceRows[0].ttftSeconds - 4 * d.ttftSeconds) < 1e-12)
        #expect(m.assumptions.contains { $0.name == "power idle (W)" && $0.value == "4.0" })
    }

    @Test func missingPricesAndShapelessRunsAreClearErrors() throws {
        let workload = Workload(requestsPerDay: Assumption(10, "r"), inputTokens: Assumption(10, "i"), outputTokens: Assumption(10, "o"))
        #expect(throws: CostError.self) { try CostModel(entries: [Self.run(pp: 1, tg: 1)], device: Self.device(), cloud: Self.cloud, workload: workload) }
        do {
            _ = try CostModel(entries: [Self.run(pp: 1, tg: 1)], device: Self.device(price: 80), cloud: Self.cloud, workload: workload)
            Issue.record("a bought device without power should be refused")
        } catch { #expect(error.description.contains("--load-watts")) }
        var decodeOnly = Self.run(pp: 1, tg: 1)
        decodeOnly.config.nPrompt = 0
        do {
            _ = try CostModel(entries: [decodeOnly], device: Self.device(hourly: 1), cloud: Self.cloud, workload: workload)
            Issue.record("runs without a prefill phase cannot be costed")
        } catch { #expect(error.description.contains("prompt > 0")) }
    }

}

@Suite("history change points")
struct HistoryTests {
    @Test func aLastingShiftIsFoundWhereItStarts() {
        let nights = [100.0, 101, 99, 100, 88, 87, 89, 88]
        let found = History.changePoints(nights, threshold: 0.05, alpha: 0.05)
        #expect(found.map(\.0) == [4])
        #expect(abs(found[0].1.ratio - 0.88) < 0.02 && found[0].1.p < 0.05)
    }

    @Test func noiseAndASingleOddNightAreNotChanges() {
        #expect(History.changePoints([100.0, 102, 98, 101, 99, 100], threshold: 0.05, alpha: 0.05).isEmpty)
        #expect(History.changePoints([100.0, 100, 100, 70, 100, 100, 100], threshold: 0.05, alpha: 0.05).isEmpty)
        // A single odd newest or oldest night is never a change point.
        #expect(History.changePoints([100.0, 101, 99, 100, 102, 98, 100, 101, 70], threshold: 0.05, alpha: 0.05).isEmpty)
        #expect(History.changePoints([70.0, 101, 99, 100, 102, 98, 100, 101, 100], threshold: 0.05, alpha: 0.05).isEmpty)
        // Below the threshold even when significant.
        #expect(History.changePoints([100.0, 100, 100, 100, 100, 100, 97, 97, 97, 97, 97, 97], threshold: 0.05, alpha: 0.05).isEmpty)
    }

    @Test func twoShiftsAreBothFoundAndSeriesAreOrderedByTime() {
        let nights = [100.0, 101, 99, 100, 100, 120, 121, 119, 120, 120, 90, 91, 89, 90, 90]
        #expect(History.changePoints(nights, threshold: 0.05, alpha: 0.05).map(\.0) == [5, 10])
        // Stored runs of one configuration in three sweeps, given out of order, come back in start order.
        let runs = [("s3", 80.0), ("s1", 100.0), ("s2", 100.0)].map { id, tg -> StoredRun in
            var r = PredictionFixtures.run("cfg", fingerprint: "f", threads: 1, tg: tg, pp: 1)
            r.sweepId = id
            return r
        }
        let h = History(entries: runs, sweepStarts: ["s1": "2026-11-01T00:00:00Z", "s2": "2026-11-02T00:00:00Z", "s3": "2026-11-03T00:00:00Z"], metric: .tg)
        #expect(h.series.count == 1 && h.series[0].points.map(\.sweepId) == ["s1", "s2", "s3"])
        #expect(h.svg().hasPrefix("<?xml") && h.svg().contains("<svg"))
    }

    @Test func aFlaggedNightIsMarkedWithItsFlags() {
        let runs = [("s1", 100.0, [String]()), ("s2", 100.0, ["drift", "high-cv"])].map { id, tg, flags -> StoredRun in
            var r = PredictionFixtures.run("cfg", fingerprint: "f", threads: 1, tg: tg, pp: 1)
            r.sweepId = id
            r.flags = flags
            return r
        }
        let h = History(entries: runs, sweepStarts: ["s1": "2026-11-01T00:00:00Z", "s2": "2026-11-02T00:00:00Z"], metric: .tg)
        #expect(h.series.count == 1 && h.series[0].points.map(\.flags) == [[], ["drift", "high-cv"]])
        let table = h.markdown()
        #expect(table.contains("⚑ drift,high-cv") && table.components(separatedBy: "⚑").count == 3, "\(table)") // the row and the legend
        // In the chart the flagged night is the one hollow point, and the legend says what hollow means.
        let svg = h.svg()
        #expect(svg.components(separatedBy: "point flagged").count - 1 == 1 && svg.contains("hollow: flagged (noisy or drift)"), "\(svg)")
    }
}

@Suite("cost in the HTML report")
struct CostReportTests {
    @Test func theCostChartEscapesNamesAndShowsBothDeviceFigures() throws {
        let hostile = "<script>alert(1)</script>"
        var cloud = CostModelTests.cloud
        cloud.options[0].name = hostile
        let workload = Workload(requestsPerDay: Assumption(1000, "r"), inputTokens: Assumption(100, "i"), outputTokens: Assumption(50, "o"))
        let model = try CostModel(entries: [CostModelTests.run(pp: 500, tg: 50)], device: CostModelTests.device(hourly: 0.1), cloud: cloud, workload: workload)
        let html = HTMLReport(title: "t", entries: [CostModelTests.run(pp: 500, tg: 50)], profile: nil, generatedBy: "test", cost: .success(model)).render()
        #expect(html.contains("aria-label=\"Cost: USD per million tokens"))
        #expect(!html.contains(hostile) && html.contains("&lt;script&gt;"))
        #expect(html.contains("full use"))
        let missing = HTMLReport(title: "t", entries: [], profile: nil, generatedBy: "test", cost: .failure(CostError("no price for vm"))).render()
        #expect(missing.contains("No cost comparison: no price for vm"))
    }
}
