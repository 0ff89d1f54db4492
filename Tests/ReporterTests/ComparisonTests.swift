import Foundation
import Measures
import Reporter
import ResultStore
import Testing

@Suite("compare: Mann–Whitney and verdicts")
struct ComparisonTests {
    /// A stored run whose repetitions decode `gen` tokens at the given rates (one sequence).
    /// Each call is a sweep of its own unless `sweep` names one.
    func run(_ key: String, rates: [Double], gen: Int = 32, sweep: String = UUID().uuidString, flags: [String] = []) -> StoredRun {
        let repetitions = rates.map { rate -> [String: Any] in
            ["prefill_seconds": [0.1], "ttft_seconds": [0.12], "step_seconds": Array(repeating: 1 / rate, count: gen - 1),
             "e2e_seconds": 1.0, "generated_tokens": gen]
        }
        let record: [String: Any] = ["samples": ["batch": 1, "prompt_tokens": 16, "repetitions": repetitions]]
        let text = String(decoding: try! JSONSerialization.data(withJSONObject: record), as: UTF8.self)
        return StoredRun(sweepId: sweep, key: key, kind: .run, seq: 0, status: .ok, reason: nil,
                         config: RunConfig(model: "m", modelType: "q4_0", backend: "native", nThreads: 1, nSeq: 1, nPrompt: 16, nGen: gen,
                                           nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: nil, modelNParams: nil, synthetic: false),
                         avgTs: rates.reduce(0, +) / Double(rates.count), stddevTs: nil, samplesTs: rates, ppAvgTs: nil, tgAvgTs: nil,
                         peakRssBytes: nil, predictedBytes: nil, flags: flags, finishedAt: "t", record: text, context: "{}")
    }

    @Test func aRegressionNeedsBothSizeAndSignificance() throws {
        let base = [100.0, 101, 99, 100.5, 99.5, 100.2]
        let cases: [(String, [Double], Comparison.Verdict)] = [
            ("slower", base.map { $0 * 0.90 }, .regression),          // −10%, separated: regression
            ("slightly", base.map { $0 * 0.97 }, .noChange),          // −3%: significant but under 5%
            ("noisy", [80, 120, 95, 105, 90, 110], .noChange),        // a big spread hides any change
            ("faster", base.map { $0 * 1.2 }, .improvement),
        ]
        let comparison = Comparison(base: cases.map { run($0.0, rates: base) }, new: cases.map { run($0.0, rates: $0.1) },
                                    thresholds: [:], defaultThreshold: 0.05)
        for (key, _, verdict) in cases {
            let row = try #require(comparison.rows.first { $0.key == key && $0.metric == .tg })
            #expect(row.verdict == verdict, "\(key): \(row.verdict) (ratio \(row.ratio), p \(row.p ?? -1))")
        }
        let slower = try #require(comparison.rows.first { $0.key == "slower" && $0.metric == .tg })
        #expect(abs(slower.ratio - 0.9) < 1e-9 && slower.ciLow < 0.9 && slower.ciHigh > 0.9)
        // A per-metric threshold above the change turns the regression into no change.
        let lenient = Comparison(base: [run("slower", rates: base)], new: [run("slower", rates: base.map { $0 * 0.9 })],
                                 thresholds: [.tg: 0.15], defaultThreshold: 0.05)
        #expect(lenient.rows.first { $0.metric == .tg }?.verdict == .noChange)
        // Three repetitions a side can never be called a regression, and the report says why.
        let few = Comparison(base: [run("k", rates: [100, 100.5, 99.5])], new: [run("k", rates: [50, 50.5, 49.5])], thresholds: [:])
        #expect(few.rows.first { $0.metric == .tg }?.verdict == .noChange)
        #expect(few.warnings.contains { $0.contains("can never be called regressions") && $0.contains("3 against 3") }, "\(few.warnings)")
        // Three against five can (smallest p 0.036), so there is no such warning.
        let uneven = Comparison(base: [run("k", rates: [100, 100.5, 99.5, 100.2, 99.8])], new: [run("k", rates: [50, 50.5, 49.5])], thresholds: [:])
        #expect(uneven.rows.first { $0.metric == .tg }?.verdict == .regression)
        #expect(!uneven.warnings.contains { $0.contains("can never be called regressions") }, "\(uneven.warnings)")
        let ratios = comparison.rows.filter { $0.metric == .tg }.map(\.ratio)
        #expect(ratios.count == 4)
        #expect(abs((comparison.geometricMeans[.tg] ?? 0) - pow(ratios.reduce(1, *), 0.25)) < 1e-12)
    }

    @Test func unmatchedRunsAreListedNotCompared() {
        let c = Comparison(base: [run("a", rates: [1, 2, 3, 4]), run("b", rates: [1, 2, 3, 4])],
                           new: [run("b", rates: [1, 2, 3, 4]), run("c", rates: [1, 2, 3, 4])], thresholds: [:])
        #expect(c.onlyInBase == ["a"] && c.onlyInNew == ["c"])
        #expect(Set(c.rows.map(\.key)) == ["b"])
    }

    @Test func aSideOfSeveralSweepsPoolsItsRepetitions() throws {
        // Two sweeps per side, run alternately on a machine that was 12% slower for the second pair:
        // one sweep against the other reads as a regression; pooled, both sides carry the drift alike.
        let fast = [100.0, 101, 99, 100.5], slow = fast.map { $0 * 0.88 }
        let a1 = run("k", rates: fast), b1 = run("k", rates: fast.map { $0 * 1.005 })
        let a2 = run("k", rates: slow), b2 = run("k", rates: slow.map { $0 * 0.995 })
        #expect(Comparison(base: [a1], new: [b2], thresholds: [:]).regressions.count == 1)
        let pooled = Comparison(base: [a1, a2], new: [b1, b2], thresholds: [:])
        let row = try #require(pooled.rows.first { $0.metric == .tg })
        #expect(row.baseCount == 8 && row.newCount == 8 && row.verdict == .noChange, "\(row)")
        // A real 10% slowdown on the new side is still found through a smaller drift.
        let drifted = fast.map { $0 * 0.95 }
        let pooledSlower = Comparison(base: [a1, run("k", rates: drifted)],
                                      new: [run("k", rates: fast.map { $0 * 0.9 }), run("k", rates: drifted.map { $0 * 0.9 })], thresholds: [:])
        #expect(pooledSlower.rows.first { $0.metric == .tg }?.verdict == .regression)
    }

    @Test func withFourSweepsASideTheSweepIsTheUnitOfEvidence() throws {
        let reps = [100.0, 101, 99, 100.5]
        func side(_ levels: [Double]) -> [StoredRun] { levels.map { level in run("k", rates: reps.map { $0 * level }) } }
        // The same build, run alternately; four of the new side's six sweeps happened to fall in
        // slow bursts. Pooled, the repetitions say "8% slower, p < 0.05"; the sweeps' medians
        // overlap (U = 12 of 36), so this is no change.
        let base = side([1.000, 0.990, 0.970, 0.995, 0.920, 0.980])
        let burst = side([0.900, 0.910, 1.020, 1.010, 0.890, 0.905])
        let sameComparison = Comparison(base: base, new: burst, thresholds: [:])
        let same = try #require(sameComparison.rows.first { $0.metric == .tg })
        #expect(same.ratio < 0.95 && (same.p ?? 1) < 0.05, "\(same)")
        #expect(same.baseSweeps == 6 && same.newSweeps == 6 && (same.sweepP ?? 0) > 0.05, "\(same)")
        #expect(same.verdict == .noChange)
        // The output says which change the sweeps left unsettled, and what would settle it.
        let unsettled = sameComparison.warnings.filter { $0.hasPrefix("unsettled") }
        #expect(unsettled.count == 1 && unsettled[0].contains("k decode t/s") && unsettled[0].contains("more interleaved sweeps"), "\(sameComparison.warnings)")
        #expect(sameComparison.markdown().contains("warning: unsettled"))
        // Three sweeps a side are too few for the per-sweep test: the verdict rests on the
        // repetitions alone, and the report warns about it.
        let three = Comparison(base: Array(base.prefix(3)), new: [burst[0], burst[1], burst[4]], thresholds: [:])
        let threeRow = try #require(three.rows.first { $0.metric == .tg })
        #expect(threeRow.sweepP == nil && threeRow.verdict == .regression, "\(threeRow)")
        #expect(three.warnings.contains { $0.contains("per-sweep test needs 4") })
        // A real 10% slowdown through the same drift is found by both tests.
        let drift = [1.0, 0.93, 1.02, 0.96, 0.9, 0.99]
        let slower = Comparison(base: side(drift), new: side(drift.map { $0 * 0.9 * 1.001 }), thresholds: [:])
        let found = try #require(slower.rows.first { $0.metric == .tg })
        #expect(found.verdict == .regression && (found.sweepP ?? 1) < 0.05, "\(found)")
        #expect(!slower.warnings.contains { $0.hasPrefix("unsettled") } && !three.warnings.contains { $0.hasPrefix("unsettled") })
        #expect(slower.markdown().contains("p sweeps"))
        #expect(!Comparison(base: [base[0]], new: [burst[0]], thresholds: [:]).markdown().contains("p sweeps"))
    }

    @Test func aSweepNamedTwiceCountsOnce() throws {
        let a = run("k", rates: [100, 101, 99, 100.5], sweep: "a"), b = run("k", rates: [90, 91, 89, 90.5], sweep: "b")
        let twice = Comparison(base: [a, a], new: [b], thresholds: [:])
        let row = try #require(twice.rows.first { $0.metric == .tg })
        #expect(row.baseCount == 4 && row.baseSweeps == 1, "\(row)")
    }

    @Test func theIntervalIsOneOfTheRatioOfMediansAndFlagsAreNamed() throws {
        // Skewed samples: the means differ from the medians, and the interval must contain the
        // ratio of medians it is reported beside.
        let base = run("k", rates: [100, 100, 101, 99, 100, 60, 100, 100]), new = run("k", rates: [90, 90, 91, 89, 90, 40, 90, 90], flags: ["high-cv"])
        let c = Comparison(base: [base], new: [new], thresholds: [:])
        let row = try #require(c.rows.first { $0.metric == .tg })
        #expect(abs(row.ratio - 0.9) < 1e-9 && row.ciLow <= row.ratio && row.ratio <= row.ciHigh && row.ciHigh < 1, "\(row)")
        // The same inputs give the same interval.
        let again = try #require(Comparison(base: [base], new: [new], thresholds: [:]).rows.first { $0.metric == .tg })
        #expect(again.ciLow == row.ciLow && again.ciHigh == row.ciHigh)
        #expect(row.flags == ["high-cv"] && c.markdown().contains("⚑ high-cv") && c.warnings.contains { $0.contains("quality flags") })
    }
}
