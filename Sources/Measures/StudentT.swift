import Foundation

/// Student's t distribution: its CDF through the regularized incomplete beta function, and its
/// quantiles by inverting the CDF, for any number of degrees of freedom.
public enum StudentT {
    /// The 0.975 quantile (the two-sided 95% critical value).
    public static func quantile975(degreesOfFreedom df: Int) -> Double { quantile(0.975, degreesOfFreedom: df) }

    /// P(T ≤ t) for T with `df` degrees of freedom.
    public static func cdf(_ t: Double, degreesOfFreedom df: Int) -> Double {
        let v = Double(df)
        let tail = 0.5 * IncompleteBeta.regularized(x: v / (v + t * t), a: v / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// The `p` quantile (0 < p < 1): bisection on the CDF, to 1e-12 relative.
    public static func quantile(_ p: Double, degreesOfFreedom df: Int) -> Double {
        precondition(df >= 1 && p > 0 && p < 1, "StudentT.quantile needs df ≥ 1 and 0 < p < 1")
        if p < 0.5 { return -quantile(1 - p, degreesOfFreedom: df) }
        var lo = 0.0, hi = 1.0
        while cdf(hi, degreesOfFreedom: df) < p { hi *= 2 }
        for _ in 0..<200 where hi - lo > 1e-12 * hi {
            let mid = (lo + hi) / 2
            if cdf(mid, degreesOfFreedom: df) < p { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }
}

/// I_x(a, b), the regularized incomplete beta function, by its continued fraction (evaluated
/// with the modified Lentz method), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where the
/// fraction converges slowly.
enum IncompleteBeta {
    static func regularized(x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logBeta: Double = lgamma(a) + lgamma(b) - lgamma(a + b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let logFront = logPowers - logBeta
        if x < (a + 1) / (a + b + 2) { return exp(logFront) * fraction(x: x, a: a, b: b) / a }
        return 1 - exp(logFront) * fraction(x: 1 - x, a: b, b: a) / b
    }

    private static func fraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...500 {
            let m = Double(m)
            // Even step, then odd step of the fraction's terms.
            for coefficient in [m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                                -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))] {
                d = 1 + coefficient * d
                if abs(d) < tiny { d = tiny }
                c = 1 + coefficient / c
                if abs(c) < tiny { c = tiny }
                d = 1 / d
                h *= d * c
            }
            if abs(d * c - 1) < 1e-15 { break }
        }
        return h
    }
}
