import Foundation

/// Change points in a series by E-divisive means (Matteson & James, "A Nonparametric Approach
/// for Multiple Change Point Analysis of Multivariate Data", JASA 2014), the method MongoDB's
/// performance CI and Apache Otava use on nightly benchmark series.
///
/// Every split τ of a stretch [lo, hi) is scored by the energy-distance statistic
///   Q(τ) = n·m/(n+m) · ( 2/(n·m) Σ|xᵢ−yⱼ| − 1/C(n,2) Σ|xᵢ−xₖ| − 1/C(m,2) Σ|yⱼ−yₖ| ),
/// with x the n values before τ and y the m values from τ on. The best split over all current
/// stretches is tested by permutation: the same maximum is computed after shuffling each stretch,
/// `permutations` times, and p = (1 + #{shuffled ≥ observed}) ÷ (1 + permutations). A split with
/// p < α divides its stretch and the search goes on; the first split that is not significant
/// ends it. Because one test is made per accepted split, against the maximum over every split of
/// every stretch, the scan over split positions is part of the null distribution: no separate
/// multiple-testing correction is needed for it.
///
/// Each side of a split holds at least `minimumSize` values (default 4; with 3, one odd value at
/// an end was occasionally joined by two ordinary ones into a "change"), so one odd value at
/// either end of the series can never be a change point on its own. `exponent` is the energy
/// distance's α in (0, 2]; 1, the usual choice, is robust to outliers (1.5 and 1.9 were measured
/// and gained no recall on level shifts).
public enum EDivisive {
    public struct ChangePoint: Sendable, Equatable {
        /// Index of the first value of the new level.
        public var index: Int
        public var p: Double
        public var statistic: Double
    }

    public static func changePoints(_ series: [Double], alpha: Double = 0.05, minimumSize: Int = 4,
                                    permutations: Int = 199, exponent: Double = 1, seed: UInt64 = 0xed15) -> [ChangePoint] {
        precondition(minimumSize >= 2, "E-divisive needs at least two values a side")
        var rng = SplitMix64(seed: seed)
        var cuts = [0, series.count]
        var found: [ChangePoint] = []
        while true {
            // The best split over every current stretch.
            var best: (index: Int, q: Double)?
            for (lo, hi) in zip(cuts, cuts.dropFirst()) {
                if let s = bestSplit(series, lo, hi, minimumSize, exponent), s.q > (best?.q ?? -.infinity) { best = s }
            }
            guard let best, best.q > 0 else { break }
            var exceed = 0
            var shuffled = series
            for _ in 0..<permutations {
                var top = -Double.infinity
                for (lo, hi) in zip(cuts, cuts.dropFirst()) {
                    // Fisher–Yates within the stretch.
                    if hi - lo > 1 {
                        for i in stride(from: hi - 1, to: lo, by: -1) {
                            let j = lo + Int(rng.next(below: i - lo + 1))
                            shuffled.swapAt(i, j)
                        }
                    }
                    if let s = bestSplit(shuffled, lo, hi, minimumSize, exponent) { top = max(top, s.q) }
                }
                if top >= best.q { exceed += 1 }
            }
            let p = Double(1 + exceed) / Double(1 + permutations)
            guard p < alpha else { break }
            found.append(ChangePoint(index: best.index, p: p, statistic: best.q))
            cuts.append(best.index)
            cuts.sort()
        }
        return found.sorted { $0.index < $1.index }
    }

    /// The split of [lo, hi) with the largest Q, each side at least `minimumSize` long; O(L²)
    /// by moving one value at a time from the right side to the left and updating the sums.
    static func bestSplit(_ z: [Double], _ lo: Int, _ hi: Int, _ minimumSize: Int, _ exponent: Double) -> (index: Int, q: Double)? {
        func d(_ a: Double, _ b: Double) -> Double { exponent == 1 ? abs(a - b) : pow(abs(a - b), exponent) }
        let length = hi - lo
        guard length >= 2 * minimumSize else { return nil }
        // Start with everything on the right.
        var within = [0.0, 0.0] // left, right
        for i in lo..<hi { for k in (i + 1)..<hi { within[1] += d(z[i], z[k]) } }
        var between = 0.0
        var best: (index: Int, q: Double)?
        for tau in (lo + 1)..<hi {
            let e = tau - 1 // moves from right to left
            var toLeft = 0.0, toRight = 0.0
            for i in lo..<e { toLeft += d(z[i], z[e]) }
            for j in tau..<hi { toRight += d(z[e], z[j]) }
            within[0] += toLeft
            within[1] -= toRight
            between += toRight - toLeft
            let n = Double(tau - lo), m = Double(hi - tau)
            guard tau - lo >= minimumSize, hi - tau >= minimumSize else { continue }
            let energy = 2 * between / (n * m) - within[0] / (n * (n - 1) / 2) - within[1] / (m * (m - 1) / 2)
            let q = n * m / (n + m) * energy
            if q > (best?.q ?? -.infinity) { best = (tau, q) }
        }
        return best
    }
}
