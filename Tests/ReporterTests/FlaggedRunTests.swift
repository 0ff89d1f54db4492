import DeviceProbe
import Foundation
import Measures
import Reporter
import ResultStore
import Testing

/// Runs a sweep flagged as drifting, noisy or short of its CI target: cost and recommend show
/// them with ⚑ and their flags, and the cross-device fit leaves them out and counts them.
@Suite("flagged runs")
struct FlaggedRunTests {
    typealias F = PredictionFixtures

    static func flagged(_ run: StoredRun, _ flags: [String]) -> StoredRun {
        var r = run
        r.flags = flags
        return r
    }

    @Test func theSourceColumnNamesEveryKnownFlag() {
        let run = F.run("k", fingerprint: "f", threads: 1, tg: 10, pp: 100)
        #expect(run.source == "measured")
        #expect(Self.flagged(run, ["drift", "high-cv"]).source == "measured ⚑ drift,high-cv")
        // A flag slmbench does not know (a later version's) is not a quality mark.
        #expect(Self.flagged(run, ["something-new"]).source == "measured")
    }

    @Test func costMarksAFlaggedRunInItsDeviceTable() throws {
        let workload = Workload(requestsPerDay: Assumption(100, "r"), inputTokens: Assumption(100, "i"), outputTokens: Assumption(10, "o"))
        let run = Self.flagged(F.run("k", fingerprint: "f", threads: 1, tg: 50, pp: 500), ["ci-not-reached"])
        let m = try CostModel(entries: [run], device: CostModelTests.device(hourly: 0.1), cloud: CostModelTests.cloud, workload: workload)
        let row = try #require(m.markdown().split(separator: "\n").first { $0.contains("| m | q4_0 |") })
        #expect(row.contains("measured ⚑ ci-not-reached"), "\(row)")
    }

    @Test func recommendMarksAFlaggedRunAndStillRanksIt() throws {
        let clean = F.run("clean", fingerprint: "f", type: "q8_0", threads: 1, tg: 40, pp: 400)
        let noisy = Self.flagged(F.run("noisy", fingerprint: "f", type: "q4_0", threads: 1, tg: 60, pp: 500), ["high-cv"])
        let r = Recommendation(entries: [clean, noisy], constraints: .init(minDecodeTps: 10, maxMemoryBytes: nil, maxKLD: nil))
        #expect(Set(r.feasible.map(\.run.key)) == ["clean", "noisy"])
        let lines = r.markdown().split(separator: "\n")
        let noisyRow = try #require(lines.first { $0.contains("| q4_0 |") }), cleanRow = try #require(lines.first { $0.contains("| q8_0 |") })
        #expect(noisyRow.contains("measured ⚑ high-cv"), "\(noisyRow)")
        #expect(!cleanRow.contains("⚑"), "\(cleanRow)")
    }

    @Test func theCrossDeviceFitLeavesFlaggedRunsOutAndCountsThem() throws {
        let (rows, profiles) = try CrossDeviceModelTests.synthetic(theta: (bytes: 1.2, layers: 1, q4: 2.5, q8: 2))
        let here = try F.profile("box", fingerprint: "box", points: [(1, 12, 60), (2, 20, 120)])
        let local = F.run("here", fingerprint: "box", backend: "llama.cpp", threads: 1, tg: 30, pp: 300)
        let used = Predictor(corpus: rows, corpusProfiles: profiles, measured: [local], localProfiles: ["box": here],
                             shapes: ["m": CrossDeviceModelTests.tied])
        #expect(used.flaggedLeftOut == 0 && used.validation.devices.contains("here:box"), "\(used.validation.devices)")
        let arm = try F.profile("arm", fingerprint: "arm", arch: "aarch64", features: ["neon", "dotprod"], cores: 4, points: [(1, 8, 30), (4, 12, 120)])
        for flag in RunFlag.allCases {
            let left = Predictor(corpus: rows, corpusProfiles: profiles, measured: [Self.flagged(local, [flag.rawValue])],
                                 localProfiles: ["box": here], shapes: ["m": CrossDeviceModelTests.tied])
            #expect(left.flaggedLeftOut == 1, "\(flag)")
            #expect(!left.validation.devices.contains("here:box"), "\(flag): \(left.validation.devices)")
            // The configuration is still one worth predicting elsewhere.
            #expect(!left.configurations(for: arm).isEmpty)
        }
    }
}
