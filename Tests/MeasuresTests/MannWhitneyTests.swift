import Measures
import Testing

@Suite("Mann–Whitney: exact with ties")
struct MannWhitneyTests {
    /// The two-sided permutation p-value with mid-ranks, by listing every subset (the definition).
    static func bruteForce(_ a: [Double], _ b: [Double]) -> Double {
        let pooled = a + b, sorted = pooled.sorted(), n = pooled.count
        func midRank(_ v: Double) -> Double {
            let below = sorted.filter { $0 < v }.count, equal = sorted.filter { $0 == v }.count
            return Double(below) + Double(equal + 1) / 2
        }
        let ranks = pooled.map(midRank)
        let center = Double(a.count) * Double(n + 1) / 2
        let observed = abs(ranks.prefix(a.count).reduce(0, +) - center)
        var extreme = 0, total = 0
        func choose(_ start: Int, _ left: Int, _ sum: Double) {
            if left == 0 {
                total += 1
                if abs(sum - center) >= observed - 1e-9 { extreme += 1 }
                return
            }
            guard start < n else { return }
            for i in start..<n { choose(i + 1, left - 1, sum + ranks[i]) }
        }
        choose(0, a.count, 0)
        return Double(extreme) / Double(total)
    }

    @Test(arguments: [
        ([1.0, 2, 2, 3, 4, 5, 5], [3.0, 4, 6, 7, 7, 8]),
        ([1, 1, 1], [2, 2, 2]),
        ([10, 10, 11, 12], [10, 12, 12, 13, 13]),
        ([5, 5, 5, 5], [5, 5, 5]),
        ([1.5, 2.5, 3.1, 7.2], [2.0, 4.4, 5.1, 6.3, 8.8]),
    ])
    func exactPMatchesEnumeration(a: [Double], b: [Double]) throws {
        let result = try #require(MannWhitney.test(a, b))
        #expect(result.exact)
        #expect(abs(result.p - Self.bruteForce(a, b)) < 1e-12, "\(result.p) vs \(Self.bruteForce(a, b))")
    }

    @Test func threeAgainstThreeWithTiesIsNeverSignificant() throws {
        // The normal approximation gave p = 0.047 here; the exact distribution's smallest p is 0.1.
        let tied = try #require(MannWhitney.test([1, 1, 1], [2, 2, 2]))
        #expect(tied.exact && abs(tied.p - 0.1) < 1e-12, "\(tied.p)")
        #expect(MannWhitney.smallestP(3, 3) == 0.1)
        // But 3 against 5 can be: 2 / C(8, 3) = 0.036.
        #expect(abs(MannWhitney.smallestP(3, 5) - 2.0 / 56) < 1e-12)
        let separated = try #require(MannWhitney.test([1, 2, 3], [4, 5, 6, 7, 8]))
        #expect(separated.p < 0.05)
    }

    @Test func publishedValuesWithoutTies() throws {
        // scipy.stats.mannwhitneyu(method="exact"), two-sided.
        let separated = try #require(MannWhitney.test([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]))
        #expect(separated.exact && separated.u == 0 && abs(separated.p - 0.007936507936507936) < 1e-12)
        let overlapping = try #require(MannWhitney.test([1.5, 2.5, 3.1, 7.2], [2.0, 4.4, 5.1, 6.3, 8.8]))
        #expect(abs(overlapping.p - 0.4126984126984127) < 1e-12)
    }

    @Test func largeSamplesUseTheNormalApproximation() throws {
        let a = (0..<40).map { Double($0 % 7) }, b = (0..<30).map { Double($0 % 5) + 1 }
        let result = try #require(MannWhitney.test(a, b))
        #expect(!result.exact && result.p > 0 && result.p <= 1)
    }
}

@Suite("Student's t")
struct StudentTTests {
    @Test(arguments: [(1, 12.706), (2, 4.303), (5, 2.571), (10, 2.228), (30, 2.042), (60, 2.000), (120, 1.980)])
    func quantile975MatchesTheTable(df: Int, value: Double) {
        #expect(abs(StudentT.quantile975(degreesOfFreedom: df) - value) < 6e-4, "\(StudentT.quantile975(degreesOfFreedom: df))")
    }

    @Test func otherLevelsAndTheNormalLimit() {
        #expect(abs(StudentT.quantile(0.995, degreesOfFreedom: 5) - 4.032) < 6e-4)
        #expect(abs(StudentT.quantile(0.95, degreesOfFreedom: 20) - 1.725) < 6e-4)
        #expect(abs(StudentT.quantile975(degreesOfFreedom: 100_000) - 1.95996) < 1e-4)
        #expect(abs(StudentT.quantile(0.025, degreesOfFreedom: 7) + StudentT.quantile975(degreesOfFreedom: 7)) < 1e-9)
    }

    @Test func adaptiveStoppingWidensTheInterval() throws {
        let values = [10.0, 11, 9, 10.5, 9.5]
        let once = try #require(SampleSummary(values)), looked = try #require(SampleSummary(values, looks: 5))
        // 0.05 / 5 looks: the 0.995 quantile at 4 degrees of freedom (4.604) instead of 0.975 (2.776).
        #expect(abs(looked.ci95 / once.ci95 - 4.604 / 2.776) < 1e-3, "\(looked.ci95 / once.ci95)")
    }
}
