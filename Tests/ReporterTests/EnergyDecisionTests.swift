import Foundation
import Measures
import Reporter
import ResultStore
import TestSupport
import Testing

/// Measured energy in the decisions (issue 25): cost uses measured J/token and says so;
/// recommend rejects runs above --max-joules-per-token, and runs without a measurement.
@Suite("energy in cost, recommend and tables")
struct EnergyDecisionTests {
    func measured(_ run: StoredRun, ppJ: Double, tgJ: Double, idle: Double? = nil, temp: Double? = nil) -> StoredRun {
        var r = run
        r.summary[.prefillJoulesPerToken] = ppJ
        r.summary[.joulesPerToken] = tgJ
        if let idle { r.summary[.idleWatts] = idle }
        if let temp { r.summary[.maxTempC] = temp }
        return r
    }

    @Test func costUsesMeasuredJoulesPerTokenAndSaysWhichRowsDo() throws {
        let workload = Workload(requestsPerDay: Assumption(50_000, "r"), inputTokens: Assumption(100, "i"), outputTokens: Assumption(100, "o"))
        let device = CostModelTests.device(price: 120, load: 10, idle: 4)
        // 1.1 s per request; measured 0.01 J per prompt token and 0.08 J per output token, 3 W idle:
        // 1 + 8 − 3.3 = 5.7 J above idle per request.
        let run = measured(CostModelTests.run(pp: 1000, tg: 100), ppJ: 0.01, tgJ: 0.08, idle: 3)
        let m = try CostModel(entries: [run], device: device, cloud: CostModelTests.cloud, workload: workload)
        let d = try #require(m.deviceRows.first)
        #expect(d.energyMeasured)
        #expect(abs(d.marginalUSDPerRequest - 5.7 / 3.6e6 * 0.2) < 1e-15)
        #expect(m.markdown().contains(", J measured |"))
        #expect(m.assumptions.contains { $0.name == "electricity per request" && $0.value.contains("1 of 1 rows") })
        // Without a measurement: the spec sheet's load − idle, and no claim of measurement.
        let spec = try CostModel(entries: [CostModelTests.run(pp: 1000, tg: 100)], device: device, cloud: CostModelTests.cloud, workload: workload)
        #expect(!(spec.deviceRows.first?.energyMeasured ?? true))
        #expect(!spec.markdown().contains("J measured") && !spec.assumptions.contains { $0.name == "electricity per request" })
    }

    @Test func recommendRejectsRunsAboveOrWithoutMeasuredJoulesPerToken() throws {
        let a = measured(CostModelTests.run(pp: 1000, tg: 100), ppJ: 0.01, tgJ: 0.05)
        var b = measured(CostModelTests.run(pp: 1000, tg: 120, batch: 2), ppJ: 0.01, tgJ: 0.2)
        b.key = "hot"
        var c = CostModelTests.run(pp: 1000, tg: 90, batch: 4)
        c.key = "unmeasured"
        let r = Recommendation(entries: [a, b, c], constraints: .init(maxJoulesPerToken: 0.1))
        #expect(r.feasible.map(\.run.key) == [a.key])
        let reasons = Dictionary(uniqueKeysWithValues: r.rejected.map { ($0.run.key, $0.rejections.joined(separator: "; ")) })
        #expect(reasons["hot"] == "0.2000 J/token > 0.1000")
        #expect(reasons["unmeasured"] == "no energy measured")
    }

    @Test func theResultsTableShowsEnergyAndHeatOnlyWhenMeasured() {
        let plain = [StoredRunFixtures.run("a", seq: 0), StoredRunFixtures.run("b", seq: 1)]
        #expect(!ResultsTable.markdown(plain).contains("J/token") && !ResultsTable.markdown(plain).contains("°C"))
        let hot = [measured(StoredRunFixtures.run("a", seq: 0), ppJ: 0.01, tgJ: 0.0512, temp: 71.3), StoredRunFixtures.run("b", seq: 1)]
        let table = ResultsTable.markdown(hot)
        #expect(table.contains("| J/token | max °C |") && table.contains("| 0.0512 | 71.3 |") && table.contains("| — | — |"), "\(table)")
    }
}
