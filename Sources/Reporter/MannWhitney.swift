import Foundation

/// The Mann–Whitney U test (Wilcoxon rank-sum) of two independent samples, two-sided.
///
/// Without ties and with m·n ≤ 400 the p-value is exact: the null distribution of U is counted
/// over all arrangements of the pooled ranks. Otherwise it uses the normal approximation with the
/// tie correction of the variance and a continuity correction.
public enum MannWhitney {
    public struct Result: Sendable, Equatable {
        /// U of the first sample: pairs where it is larger, ties counting one half.
        public var u: Double
        public var p: Double
        public var exact: Bool
    }

    public static func test(_ a: [Double], _ b: [Double]) -> Result? {
        let m = a.count, n = b.count
        guard m > 0, n > 0 else { return nil }
        var u = 0.0
        for x in a { for y in b { u += x > y ? 1 : (x == y ? 0.5 : 0) } }
        let pooled = a + b
        let hasTies = Set(pooled).count < pooled.count
        if !hasTies && m * n <= 400 {
            let counts = distribution(m, n)
            let total = counts.reduce(0, +)
            let k = Int(u.rounded())
            let lower = counts[0...k].reduce(0, +) / total
            let upper = counts[k...].reduce(0, +) / total
            return Result(u: u, p: min(1, 2 * min(lower, upper)), exact: true)
        }
        // Normal approximation: ranks with ties averaged, tie-corrected variance.
        let sorted = pooled.sorted()
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

    /// Number of arrangements giving each U = 0 … m·n (no ties), by the recurrence
    /// f(m, n, u) = f(m − 1, n, u − n) + f(m, n − 1, u).
    static func distribution(_ m: Int, _ n: Int) -> [Double] {
        // table[i][j] is the distribution for sample sizes i and j.
        var table = [[[Double]]](repeating: [[Double]](repeating: [], count: n + 1), count: m + 1)
        for i in 0...m {
            for j in 0...n {
                if i == 0 || j == 0 { table[i][j] = [1]; continue }
                var d = [Double](repeating: 0, count: i * j + 1)
                for (u, c) in table[i - 1][j].enumerated() { d[u + j] += c }
                for (u, c) in table[i][j - 1].enumerated() { d[u] += c }
                table[i][j] = d
            }
        }
        return table[m][n]
    }
}
