import Foundation
import Measures
import Testing

@Suite("burst and steady state of a soak")
struct SustainedSummaryTests {
    /// 10 minutes, one repetition every 2 s: 20 t/s until 200 s, then 16 t/s (a 20% drop), with
    /// noise; J/token 0.5 before and 0.6 after.
    @Test func aDropIsFoundAndBothRegimesAreReported() throws {
        var rng = SplitMix64(seed: 7)
        let times = stride(from: 0.0, to: 600, by: 2).map { $0 }
        let rates = times.map { ($0 < 200 ? 20.0 : 16.0) + (Double(rng.next(below: 1000)) / 1000 - 0.5) * 0.4 }
        let joules: [Double?] = times.map { $0 < 200 ? 0.5 : 0.6 }
        let s = try #require(SustainedSummary(times: times, rates: rates, joulesPerToken: joules, durationSeconds: 600))
        #expect(s.burstWindowSeconds == 60 && s.steadyFromSeconds == 400)
        #expect(abs(s.burstRate - 20) < 0.2 && abs(s.steadyRate - 16) < 0.2)
        #expect(abs(s.ratio - 0.8) < 0.02)
        let t = try #require(s.timeToThrottleSeconds)
        #expect(abs(t - 200) <= 10, "time to throttle \(t) s")
        #expect(s.burstJoulesPerToken == 0.5 && s.steadyJoulesPerToken == 0.6)
    }

    @Test func aSteadyDeviceHasNoTimeToThrottleAndNoInventedEnergy() throws {
        var rng = SplitMix64(seed: 3)
        let times = (0..<60).map { Double($0) * 2 }
        let rates = times.map { _ in 30 + (Double(rng.next(below: 1000)) / 1000 - 0.5) * 0.6 }
        let s = try #require(SustainedSummary(times: times, rates: rates, joulesPerToken: times.map { _ in nil }, durationSeconds: 120))
        #expect(s.burstWindowSeconds == 30)
        #expect(s.timeToThrottleSeconds == nil)
        #expect(s.burstJoulesPerToken == nil && s.steadyJoulesPerToken == nil)
        #expect(abs(s.ratio - 1) < 0.03)
        #expect(SustainedSummary(times: [], rates: [], joulesPerToken: [], durationSeconds: 10) == nil)
    }
}
