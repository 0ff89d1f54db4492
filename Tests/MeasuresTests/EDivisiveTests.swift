import Foundation
import Measures
import Testing

@Suite("E-divisive change points")
struct EDivisiveTests {
    /// Standard normal draws (Box–Muller) from a fixed seed.
    struct Gaussian {
        var rng: SplitMix64
        mutating func next() -> Double {
            let u = max(rng.nextUnit(), 1e-300), v = rng.nextUnit()
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
    }

    /// 200 synthetic nightly series of 40–60 nights, noise σ = 1, one to three lasting steps of
    /// 2σ–4σ (up or down), each level held at least 10 nights and none in the first or last 8.
    /// A found change point within two nights of a true step counts as a hit.
    @Test func precisionAndRecallOnStepsOfTwoSigmaOrMore() {
        var g = Gaussian(rng: SplitMix64(seed: 42))
        var hits = 0, truths = 0, found = 0
        for series in 0..<200 {
            let length = 40 + Int(g.rng.next(below: 21))
            let steps = 1 + series % 3
            var positions: [Int] = []
            while positions.count < steps {
                let p = 8 + Int(g.rng.next(below: length - 15))
                if positions.allSatisfy({ abs($0 - p) >= 10 }) { positions.append(p) }
                // Two early picks can leave no room for a third: start over.
                if positions.count < steps && (8...(length - 8)).allSatisfy({ q in positions.contains { abs($0 - q) < 10 } }) { positions = [] }
            }
            positions.sort()
            var level = 0.0
            var values: [Double] = []
            for i in 0..<length {
                if positions.contains(i) { level += (g.rng.nextUnit() < 0.5 ? -1 : 1) * (2 + 2 * g.rng.nextUnit()) }
                values.append(level + g.next())
            }
            let points = EDivisive.changePoints(values, seed: UInt64(series)).map(\.index)
            truths += positions.count
            found += points.count
            hits += positions.filter { p in points.contains { abs($0 - p) <= 2 } }.count
        }
        let recall = Double(hits) / Double(truths), precision = Double(hits) / Double(found)
        // Measured: precision 0.92, recall 0.96 (382 of 399 steps; 415 change points). Before the
        // search over κ (see EDivisive), recall was 0.87. On eight other generator seeds: precision
        // 0.925–0.980, recall 0.955–0.992.
        #expect(recall >= 0.9 && precision >= 0.9, "precision \(precision), recall \(recall) over \(truths) steps")
    }

    @Test func aSingleOutlierAtEitherEndIsNoChange() {
        var g = Gaussian(rng: SplitMix64(seed: 7))
        var falseAlarms = 0, nearTheOutlier = 0
        for trial in 0..<100 {
            var values = (0..<30).map { _ in g.next() }
            if trial % 2 == 0 { values[29] += 8 } else { values[0] -= 8 }
            let points = EDivisive.changePoints(values, seed: UInt64(trial)).map(\.index)
            falseAlarms += points.isEmpty ? 0 : 1
            nearTheOutlier += points.filter { trial % 2 == 0 ? $0 >= 26 : $0 <= 4 }.count
        }
        // The outlier never makes a change point near itself in these 100 series; elsewhere, no test
        // at α = 0.05 is free of false alarms on noise (3 of these 100 series, measured), so up to 10
        // are allowed. Over 1,900 such series (19 seeds, this one
        // among them), 7 got a change point four values
        // from the end, the outlier joined by three ordinary values that lean its way: minimumSize 4
        // cannot tell that from a four-night shift (19 of the 1,900 before the search over κ).
        #expect(nearTheOutlier == 0, "\(nearTheOutlier) change points next to the outlier")
        #expect(falseAlarms <= 10, "\(falseAlarms) of 100 series with one outlier at an end got a change point")
    }

    @Test func noiseAloneRarelyHasAChange() {
        var g = Gaussian(rng: SplitMix64(seed: 9))
        var alarms = 0
        for trial in 0..<100 { alarms += EDivisive.changePoints((0..<40).map { _ in g.next() }, seed: UInt64(trial)).isEmpty ? 0 : 1 }
        #expect(alarms <= 8, "\(alarms) of 100 noise series")
    }
}
