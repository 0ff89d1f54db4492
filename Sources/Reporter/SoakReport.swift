import Foundation
import Measures

/// The HTML page of a soak (`slmbench soak`): the decode rate, power, temperature and clock over
/// time, with the burst and steady-state levels drawn on the rate chart and the summary above.
/// One file, inline SVG through `SVGChart`, no scripts.
public struct SoakReport {
    public var title: String
    /// The configuration and how it was sampled, one line each.
    public var notes: [String]
    public var summary: SustainedSummary?
    /// Per repetition: its start (seconds from the first) and its rate.
    public var repetitionSeconds: [Double]
    public var rates: [Double]
    public var rateLabel: String
    /// Per sample of the sampler: seconds from the first repetition; watts (between samples), °C, MHz.
    public var sampleSeconds: [Double]
    public var watts: [Double?]
    public var tempC: [Double?]
    public var mhz: [Double?]
    /// Why there is no power series, when there is none.
    public var energyUnavailable: String?
    public var generatedBy: String

    public init(title: String, notes: [String], summary: SustainedSummary?, repetitionSeconds: [Double], rates: [Double], rateLabel: String,
                sampleSeconds: [Double], watts: [Double?], tempC: [Double?], mhz: [Double?], energyUnavailable: String?, generatedBy: String) {
        self.title = title; self.notes = notes; self.summary = summary; self.repetitionSeconds = repetitionSeconds; self.rates = rates
        self.rateLabel = rateLabel; self.sampleSeconds = sampleSeconds; self.watts = watts; self.tempC = tempC; self.mhz = mhz
        self.energyUnavailable = energyUnavailable; self.generatedBy = generatedBy
    }

    func rateChart() -> SVGChart {
        let throttleAt = summary?.timeToThrottleSeconds
        let points = zip(repetitionSeconds, rates).map { t, r in
            SVGChart.Point(x: t, y: r, label: t == throttleAt ? "throttles here" : nil, marked: t == throttleAt)
        }
        var ceilings: [SVGChart.Ceiling] = []
        if let s = summary {
            let burst = s.burstRate, steady = s.steadyRate
            ceilings = [.init(name: String(format: "burst %.1f", burst), f: { _ in burst }),
                        .init(name: String(format: "steady %.1f", steady), f: { _ in steady })]
        }
        // Hundreds of repetitions joined by a line read as noise: the repetitions as points, and
        // the median of each of at most 60 time slices as the line to read the trend from.
        var series: [SVGChart.Series] = [.init(name: "\(rateLabel), each repetition", points: points, lines: false)]
        // About eight repetitions a slice at least, so that a slice's median smooths something.
        let trend = Self.sliceMedians(repetitionSeconds, rates, slices: Swift.min(60, points.count / 8))
        if trend.points.count >= 2 {
            series.append(.init(name: "median per \(Self.secondsText(trend.width))", points: trend.points.map { SVGChart.Point(x: $0.0, y: $0.1) }))
        }
        return SVGChart(title: "\(rateLabel) over time", xLabel: "seconds since the first repetition",
                        yLabel: rateLabel, series: series, ceilings: ceilings)
    }

    /// Medians of `y` over equal slices of `x`'s range (empty slices left out), each at its
    /// slice's middle; `width` is a slice's length.
    static func sliceMedians(_ x: [Double], _ y: [Double], slices: Int) -> (points: [(Double, Double)], width: Double) {
        guard let lo = x.min(), let hi = x.max(), hi > lo, slices > 0 else { return ([], 0) }
        let width = (hi - lo) / Double(slices)
        var buckets = [[Double]](repeating: [], count: slices)
        for (t, v) in zip(x, y) { buckets[Swift.min(slices - 1, Int((t - lo) / width))].append(v) }
        let points = buckets.enumerated().compactMap { i, b -> (Double, Double)? in
            Percentile.median(b).map { (lo + (Double(i) + 0.5) * width, $0) }
        }
        return (points, width)
    }

    static func secondsText(_ s: Double) -> String { s >= 10 ? String(format: "%.0f s", s) : String(format: "%.1f s", s) }

    func sampleChart(_ title: String, _ unit: String, _ values: [Double?]) -> SVGChart {
        var points = zip(sampleSeconds, values).compactMap { t, v in v.map { SVGChart.Point(x: t, y: $0) } }.filter { $0.x >= 0 }
        // At most about 600 points a chart: every k-th sample of a long soak.
        if points.count > 600 {
            let k = (points.count + 599) / 600
            points = stride(from: 0, to: points.count, by: k).map { points[$0] }
        }
        return SVGChart(title: title, xLabel: "seconds since the first repetition", yLabel: unit,
                        series: points.isEmpty ? [] : [.init(name: unit, points: points)])
    }

    func summaryTable() -> String {
        guard let s = summary else { return "<p class=\"empty\">Too few repetitions for a burst and a steady-state window.</p>" }
        func row(_ k: String, _ v: String) -> String { "<tr><th>\(HTML.escape(k))</th><td>\(HTML.escape(v))</td></tr>" }
        var rows = row("burst \(rateLabel)", String(format: "%.2f (median of the first %.0f s)", s.burstRate, s.burstWindowSeconds))
        rows += row("steady-state \(rateLabel)", String(format: "%.2f (median from %.0f s on), %.1f%% of burst", s.steadyRate, s.steadyFromSeconds, s.ratio * 100))
        rows += row("time to throttle", s.timeToThrottleSeconds.map { String(format: "%.0f s (first lasting drop of %.0f%% or more)", $0, SustainedSummary.throttleDrop * 100) }
                    ?? String(format: "no lasting drop of %.0f%% or more in %.0f s", SustainedSummary.throttleDrop * 100, s.durationSeconds))
        let notMeasured = "not measured (no energy collector: see the sampling line above)"
        rows += row("J/token, burst", s.burstJoulesPerToken.map { String(format: "%.4f", $0) } ?? notMeasured)
        rows += row("J/token, steady state", s.steadyJoulesPerToken.map { String(format: "%.4f", $0) } ?? notMeasured)
        rows += row("repetitions", "\(s.repetitions) in \(String(format: "%.0f", s.durationSeconds)) s")
        return "<table class=\"kv\">\(rows)</table>"
    }

    public func render() -> String {
        var html = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        html += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        html += "<title>\(HTML.escape(title))</title><style>\(HTMLReport.css)</style></head><body>"
        html += "<h1>\(HTML.escape(title))</h1><p class=\"meta\">\(HTML.escape(generatedBy))</p>"
        html += "<ul>" + notes.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>"
        html += "<h2>Burst and steady state</h2>\(summaryTable())"
        html += "<h2>Speed over time</h2>\(rateChart().render())"
        html += "<h2>Power over time</h2>"
        if watts.contains(where: { $0 != nil }) {
            html += sampleChart("Power between samples", "W", watts).render()
        } else {
            html += "<p class=\"empty\">Power not measured: \(HTML.escape(energyUnavailable ?? "no energy collector"))</p>"
        }
        html += "<h2>Temperature and clock over time</h2><div class=\"grid2\">"
        html += tempC.contains(where: { $0 != nil }) ? sampleChart("Hottest thermal zone", "°C", tempC).render()
            : "<p class=\"empty\">No temperature: this machine has no readable thermal zone.</p>"
        html += mhz.contains(where: { $0 != nil }) ? sampleChart("Highest CPU clock (scaling_cur_freq)", "MHz", mhz).render()
            : "<p class=\"empty\">No clock: this machine has no cpufreq (scaling_cur_freq).</p>"
        html += "</div></body></html>\n"
        return html
    }
}
