import Foundation

/// The Mann–Whitney U test (Wilcoxon rank-sum) of two independent samples, two-sided.
///
/// When m·n ≤ `exactLimit` the p-value is exact, ties or not: the permutation distribution of
/// the rank sum (ties given their mid-ranks) is counted over every way of choosing which m of
/// the pooled values form the first sample, and p is the share of arrangements whose rank sum
/// lies at least as far from its mean as the observed one. Beyond that it uses the normal
/// approximation with the tie correction of the variance and a continuity correction.
public enum MannWhitney {
    public struct Result: Sendable, Equatable {
        /// U of the first sample: pairs where it is larger, ties counting one half.
        public var u: Double
        public var p: Double
        public var exact: Bool
    }

    /// Largest m·n given an exact p-value (at most a few million additions).
    public static let exactLimit = 1000

    public static func test(_ a: [Double], _ b: [Double]) -> Result? {
        let m = a.count, n = b.count
        guard m > 0, n > 0 else { return nil }
        var u = 0.0
        for x in a { for y in b { u += x > y ? 1 : (x == y ? 0.5 : 0) } }
        if m * n <= exactLimit { return Result(u: u, p: exactP(a, b), exact: true) }
        // Normal approximation: ranks with ties averaged, tie-corrected variance.
        let sorted = (a + b).sorted()
        var tieTerm = 0.0
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[i] { j += 1 }
            let t = Double(j - i + 1)
            tieTerm += t * t * t - t
            i = j + 1
        }
        let N = Double(m + n), mean = Double(m * n) / 2
        let variance = Double(m * n) / 12 * ((N + 1) - tieTerm / (N * (N - 1)))
        guard variance > 0 else { return Result(u: u, p: 1, exact: false) }
        let z = max(0, abs(u - mean) - 0.5) / variance.squareRoot()
        return Result(u: u, p: min(1, erfc(z / 2.0.squareRoot())), exact: false)
    }

    /// The smallest two-sided p-value the exact test can give for samples of these sizes (when
    /// no value is tied): 2 ÷ C(m+n, m). Below α nothing can ever be called significant.
    public static func smallestP(_ m: Int, _ n: Int) -> Double {
        guard m > 0, n > 0 else { return 1 }
        var arrangements = 1.0
        for i in 0..<min(m, n) { arrangements = arrangements * Double(m + n - i) / Double(i + 1) }
        return min(1, 2 / arrangements)
    }

    /// Exact two-sided p with mid-ranks. Ranks are doubled so that mid-ranks are integers; the
    /// distribution of the doubled rank sum of a k-subset (k = the smaller sample's size) is built
    /// one pooled value at a time: ways[j][s] counts subsets of j values with sum s.
    static func exactP(_ a: [Double], _ b: [Double]) -> Double {
        let (small, large) = a.count <= b.count ? (a, b) : (b, a)
        let k = small.count
        let pooled = (small + large).sorted()
        let total = pooled.count
        // Doubled mid-rank of each distinct value: ranks i+1 … j+1 share (i+1 + j+1).
        var doubled: [Double: Int] = [:]
        var i = 0
        while i < total {
            var j = i
            while j + 1 < total && pooled[j + 1] == pooled[i] { j += 1 }
            doubled[pooled[i]] = i + j + 2
            i = j + 1
        }
        let ranks = pooled.map { doubled[$0]! }
        let observed = small.reduce(0) { $0 + doubled[$1]! }
        let maxSum = ranks.sorted(by: >).prefix(k).reduce(0, +)
        var ways = [[Double]](repeating: [Double](repeating: 0, count: maxSum + 1), count: k + 1)
        ways[0][0] = 1
        for (index, r) in ranks.enumerated() {
            for j in stride(from: min(k, index + 1), through: 1, by: -1) {
                let previous = ways[j - 1]
                var row = ways[j]
                for s in stride(from: maxSum - r, through: 0, by: -1) where previous[s] != 0 { row[s + r] += previous[s] }
                ways[j] = row
            }
        }
        // The mean doubled rank sum is k·(N+1); compare distances in doubled units, exactly.
        let center = k * (total + 1)
        let distance = abs(observed - center)
        var extreme = 0.0, all = 0.0
        for (s, count) in ways[k].enumerated() where count != 0 {
            all += count
            if abs(s - center) >= distance { extreme += count }
        }
        return min(1, extreme / all)
    }
}
