import Foundation

/// Summary statistics of raw samples: mean, median, sample standard deviation, min, max,
/// coefficient of variation and a 95% confidence interval of the mean (Student's t).
public struct SampleSummary: Codable, Sendable, Equatable {
    public var count: Int
    public var mean: Double
    public var median: Double
    public var stddev: Double
    public var min: Double
    public var max: Double
    /// stddev ÷ mean (0 when the mean is 0).
    public var cv: Double
    /// Half-width of the 95% confidence interval of the mean (0 for one sample).
    public var ci95: Double

    public init?(_ samples: [Double]) {
        guard !samples.isEmpty else { return nil }
        let n = samples.count
        let sorted = samples.sorted()
        count = n
        mean = samples.reduce(0, +) / Double(n)
        median = Percentile.of(sorted: sorted, 0.5)
        let m = mean
        stddev = n > 1 ? (samples.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n - 1)).squareRoot() : 0
        min = sorted[0]
        max = sorted[n - 1]
        cv = mean != 0 ? stddev / abs(mean) : 0
        ci95 = n > 1 ? StudentT.quantile975(degreesOfFreedom: n - 1) * stddev / Double(n).squareRoot() : 0
    }
}

public enum Percentile {
    /// Linear interpolation between closest ranks (the common "type 7" definition).
    public static func of(sorted: [Double], _ p: Double) -> Double {
        precondition(!sorted.isEmpty)
        let h = Double(sorted.count - 1) * p
        let lo = Int(h.rounded(.down)), hi = Swift.min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}

public enum StudentT {
    /// The 0.975 quantile of Student's t distribution (two-sided 95%).
    public static func quantile975(degreesOfFreedom df: Int) -> Double {
        // Published table values for small df; beyond 30 the normal approximation with a
        // Cornish-Fisher correction is within 1e-3.
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        if df >= 1 && df <= table.count { return table[df - 1] }
        let z = 1.959964, v = Double(df)
        return z + (z * z * z + z) / (4 * v) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v)
    }
}
