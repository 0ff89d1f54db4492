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

    /// 200 synthetic nightly series of 30–60 nights, noise σ = 1, one to three steps of 2σ–4σ
    /// (up or down) at least 6 nights apart and from the ends. A found change point within two
    /// nights of a true step counts as a hit.
    @Test func precisionAndRecallOnStepsOfTwoSigmaOrMore() {
        var g = Gaussian(rng: SplitMix64(seed: 42))
        var hits = 0, truths = 0, found = 0
        for series in 0..<200 {
            let length = 30 + Int(g.rng.next(below: 31))
            let steps = 1 + series % 3
            var positions: [Int] = []
            while positions.count < steps {
                let p = 6 + Int(g.rng.next(below: length - 11))
                if positions.allSatisfy({ abs($0 - p) >= 6 }) { positions.append(p) }
            }
            positions.sort()
            var level = 0.0
            var values: [Double] = []
            for i in 0..<length {
                if positions.contains(i) { level += (g.rng.nextUnit() < 0.5 ? -1 : 1) * (2 + 2 * g.rng.nextUnit()) }
                values.append(level + g.next())
            }
            let points = EDivisive.changePoints(values, minimumSize: 3, seed: UInt64(series)).map(\.index)
            truths += positions.count
            found += points.count
            hits += positions.filter { p in points.contains { abs($0 - p) <= 2 } }.count
        }
        let recall = Double(hits) / Double(truths), precision = Double(hits) / Double(found)
        #expect(recall >= 0.9 && precision >= 0.9, "precision \(precision), recall \(recall) over \(truths) steps")
    }

    @Test func aSingleOutlierAtEitherEndIsNoChange() {
        var g = Gaussian(rng: SplitMix64(seed: 7))
        var falseAlarms = 0, nearTheOutlier = 0
        for trial in 0..<100 {
            var values = (0..<30).map { _ in g.next() }
            if trial % 2 == 0 { values[29] += 8 } else { values[0] -= 8 }
            let points = EDivisive.changePoints(values, minimumSize: 3, seed: UInt64(trial)).map(\.index)
            falseAlarms += points.isEmpty ? 0 : 1
            nearTheOutlier += points.filter { trial % 2 == 0 ? $0 >= 26 : $0 <= 4 }.count
        }
        // The outlier never makes a change point near itself; elsewhere, no test at α = 0.05 is free
        // of false alarms on noise, so about 5 in 100 are allowed.
        #expect(nearTheOutlier == 0, "\(nearTheOutlier) change points next to the outlier")
        #expect(falseAlarms <= 6, "\(falseAlarms) of 100 series with one outlier at an end got a change point")
    }

    @Test func noiseAloneRarelyHasAChange() {
        var g = Gaussian(rng: SplitMix64(seed: 9))
        var alarms = 0
        for trial in 0..<100 { alarms += EDivisive.changePoints((0..<40).map { _ in g.next() }, seed: UInt64(trial)).isEmpty ? 0 : 1 }
        #expect(alarms <= 8, "\(alarms) of 100 noise series")
    }
}
