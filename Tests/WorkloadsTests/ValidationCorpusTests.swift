import Foundation
import Reporter
import TestSupport
import Testing
import Workloads

@Suite("validation corpus")
struct ValidationCorpusTests {
    /// The corpus as it is checked in, predicted device by device. The targets are decode
    /// median ≤ 25%, prefill ≤ 35% and no device above 40%; measured on the corpus of 2026-12-04
    /// (after the Apple M4's KleidiAI-kernel rows moved to profiles/validation/left-out/): decode 23%,
    /// prefill 34%, the worst device's decode median 32% (README, "Predictions"). These bounds are
    /// the targets, so that a change that makes the model worse than them fails here.
    @Test func theCorpusIsPredictedWithinItsTargets() throws {
        let profiles = TestPaths.packageRoot.appendingPathComponent("profiles")
        let corpus = try ValidationCorpus(folder: profiles.appendingPathComponent("validation").path,
                                          hardwareFolder: profiles.appendingPathComponent("hardware").path)
        #expect(corpus.skipped.count < corpus.measurements.count / 10, "\(corpus.skipped.prefix(5))")
        #expect(Set(corpus.measurements.map(\.device)).count >= 6)
        #expect(Set(corpus.profiles.values.map(CrossDeviceValidation.isaFamily)).count >= 3)
        #expect(corpus.measurements.allSatisfy { $0.source.hasPrefix("https://") }, "every corpus row names its source page")
        let v = CrossDeviceValidation(corpus.measurements, profiles: corpus.profiles)
        let decode = v.summary(phase: .decode), prefill = v.summary(phase: .prefill)
        #expect((decode.median ?? 1) <= 0.25 && (prefill.median ?? 1) <= 0.35, "decode \(decode), prefill \(prefill)")
        for d in v.devices {
            let s = v.summary(device: d, phase: .decode)
            #expect(s.rows == 0 || (s.median ?? 1) <= 0.40, "\(d): decode median \(s.median ?? -1) over \(s.rows) rows")
        }
    }
}
