import Foundation

/// Burst against steady state in a soak (one configuration run back to back, issue 25).
///
/// - burst: the median rate of the repetitions that start in the first `burstWindow` seconds
///   (60 s, or a quarter of a shorter soak);
/// - steady state: the median rate of those that start in the last third of the soak;
/// - time to throttle: where the rate series (in at most 120 buckets, each its median) has its
///   first E-divisive change point after which every level stays at least 3% below the burst
///   rate; nil when there is none (no lasting drop);
/// - energy per token in both windows, where it was measured (medians of per-repetition J/token).
public struct SustainedSummary: Codable, Sendable, Equatable {
    public var durationSeconds: Double
    public var burstWindowSeconds: Double
    public var steadyFromSeconds: Double
    public var repetitions: Int
    public var burstRate: Double
    public var steadyRate: Double
    /// steady ÷ burst.
    public var ratio: Double
    public var timeToThrottleSeconds: Double?
    public var burstJoulesPerToken: Double?
    public var steadyJoulesPerToken: Double?

    /// The drop, relative to burst, that counts as throttling.
    public static let throttleDrop = 0.03

    /// `times`: each repetition's start (seconds from the first); `rates`: its t/s;
    /// `joulesPerToken`: its J/token where measured. nil when a window has no repetition.
    public init?(times: [Double], rates: [Double], joulesPerToken: [Double?], durationSeconds: Double) {
        guard times.count == rates.count, times.count == joulesPerToken.count, !times.isEmpty, durationSeconds > 0 else { return nil }
        self.durationSeconds = durationSeconds
        let burstWindow = min(60, durationSeconds / 4), steadyFrom = durationSeconds * 2 / 3
        burstWindowSeconds = burstWindow
        steadyFromSeconds = steadyFrom
        repetitions = times.count
        let burst = times.indices.filter { times[$0] < burstWindow }
        let steady = times.indices.filter { times[$0] >= steadyFrom }
        guard !burst.isEmpty, !steady.isEmpty else { return nil }
        let median = Percentile.median
        let burstRate = median(burst.map { rates[$0] })!, steadyRate = median(steady.map { rates[$0] })!
        self.burstRate = burstRate
        self.steadyRate = steadyRate
        ratio = burstRate > 0 ? steadyRate / burstRate : 0
        burstJoulesPerToken = median(burst.compactMap { joulesPerToken[$0] })
        steadyJoulesPerToken = median(steady.compactMap { joulesPerToken[$0] })

        // Buckets keep the change-point search cheap on a long soak.
        let buckets = min(120, times.count)
        var bucketTimes: [Double] = [], bucketRates: [Double] = []
        for b in 0..<buckets {
            let lo = b * times.count / buckets, hi = (b + 1) * times.count / buckets
            guard hi > lo else { continue }
            bucketTimes.append(times[lo])
            bucketRates.append(median(Array(rates[lo..<hi]))!)
        }
        let changes = EDivisive.changePoints(bucketRates).map(\.index).sorted()
        let bounds = changes + [bucketRates.count]
        // A lasting drop: this level and every later one below burst by the margin.
        let levels = zip(changes, bounds.dropFirst()).map { c, end in (start: c, level: median(Array(bucketRates[c..<end]))!) }
        let below = levels.map { $0.level < burstRate * (1 - Self.throttleDrop) }
        timeToThrottleSeconds = levels.indices.first { i in below[i...].allSatisfy { $0 } }.map { bucketTimes[levels[$0].start] }
    }
}
