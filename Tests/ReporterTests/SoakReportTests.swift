import Foundation
import Measures
@testable import Reporter
import Testing

@Suite("soak report")
struct SoakReportTests {
    /// 0…99 s, one repetition a second, rate 100 then 80 from 50 s on, with every tenth one an outlier.
    static let times = (0..<100).map(Double.init)
    static let rates: [Double] = times.map { t in Int(t) % 10 == 3 ? 10 : (t < 50 ? 100 : 80) }

    @Test func theTrendIsTheMedianOfEachSliceAndIgnoresOutliers() {
        let (points, width) = SoakReport.sliceMedians(Self.times, Self.rates, slices: 10)
        #expect(points.count == 10)
        #expect(abs(width - 9.9) < 1e-9)
        #expect(points.prefix(5).allSatisfy { $0.1 == 100 } && points.suffix(5).allSatisfy { $0.1 == 80 }, "\(points)")
        #expect(abs(points[0].0 - 4.95) < 1e-9)
        #expect(SoakReport.sliceMedians([1], [5], slices: 10).points.isEmpty)
    }

    @Test func theRateChartDrawsRepetitionsAsPointsAndTheTrendAsALine() {
        let summary = SustainedSummary(times: Self.times, rates: Self.rates, joulesPerToken: Self.times.map { _ in nil }, durationSeconds: 100)
        let report = SoakReport(title: "t", notes: [], summary: summary, repetitionSeconds: Self.times, rates: Self.rates, rateLabel: "decode t/s",
                                sampleSeconds: [], watts: [], tempC: [], mhz: [], energyUnavailable: "none here", generatedBy: "test")
        let chart = report.rateChart()
        #expect(chart.series.count == 2)
        #expect(chart.series[0].lines == false && chart.series[0].points.count == 100)
        // 100 repetitions: 12 slices of about eight.
        #expect(chart.series[1].lines && chart.series[1].points.count == 12, "\(chart.series[1].points.count)")
        let few = SoakReport(title: "t", notes: [], summary: nil, repetitionSeconds: Array(Self.times.prefix(15)), rates: Array(Self.rates.prefix(15)),
                             rateLabel: "decode t/s", sampleSeconds: [], watts: [], tempC: [], mhz: [], energyUnavailable: nil, generatedBy: "test")
        #expect(few.rateChart().series.count == 1, "15 repetitions: too few for a trend line")
        #expect(chart.series[1].name.hasPrefix("median per "))
        let html = report.render()
        #expect(html.contains("Power not measured: none here"))
    }
}
