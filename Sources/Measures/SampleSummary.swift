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
    /// Half-width of the 95% confidence interval of the mean (0 for one sample). When the number
    /// of samples was chosen by looking at the data (adaptive stopping), the interval is widened
    /// for the looks that could have stopped it (see `init(_:looks:)`).
    public var ci95: Double

    public init?(_ samples: [Double]) { self.init(samples, looks: 1) }

    /// With `looks` > 1 the samples were gathered by a rule that could have stopped at any of
    /// `looks` sample counts. The interval then uses the Bonferroni level 0.05 ÷ looks, so that
    /// the chance that the interval reported at whichever look stopped misses the mean is at
    /// most 5% (a union bound over the looks).
    public init?(_ samples: [Double], looks: Int) {
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
        let alpha = 0.05 / Double(Swift.max(1, looks))
        ci95 = n > 1 ? StudentT.quantile(1 - alpha / 2, degreesOfFreedom: n - 1) * stddev / Double(n).squareRoot() : 0
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

    /// The median of unsorted values (nil when empty).
    public static func median(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : of(sorted: values.sorted(), 0.5)
    }
}
