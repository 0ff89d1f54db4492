import DeviceProbe
import Foundation
import ModelFormat
import Reporter
import ResultStore
import TestSupport
import Testing
import Worker
import Workloads

/// `models mix --target-profile P --min-decode R`: the real cross-device predictor (the checked-in
/// corpus) on a corpus device's profile, over a search whose mixes span 90 to 156 MB.
@Suite("mix decode floor")
struct MixDecodeFloorTests {
    static let root = TestPaths.packageRoot.appendingPathComponent("profiles")

    /// 30 tensors, each Q4_0 (2.5 MB, ΔKLD 0.01) or Q8_0 (4.7 MB, ΔKLD 0.001), plus 15 MB fixed.
    static let search = MixSearch(candidates: (0..<30).map { i in
        MixSearch.Candidate(name: "blk.\(i).ffn_up.weight", options: [
            .init(type: .q4_0, bytes: 2_500_000, cost: 0.01), .init(type: .q8_0, bytes: 4_700_000, cost: 0.001 * Double(1 + i % 3)),
        ])
    }, fixedBytes: 15_000_000, parameters: 134_515_008)

    static func floor(_ device: String = "raspberry-pi-4") throws -> MixDecodeFloor {
        let predictor = try Predictors.make(entries: [], source: ResultsSource(store: .sqlite(path: "/nonexistent/slmbench.sqlite")),
                                            corpus: root.appendingPathComponent("validation").path, hardware: root.appendingPathComponent("hardware").path)
        let profile = try HardwareProfile.load(path: root.appendingPathComponent("hardware/\(device).json").path)
        let shape = try #require(ModelGeometries.presets["smollm2-135m"])
        return MixDecodeFloor(predictor: predictor, profile: profile, shape: shape, threads: 4, overheadBytes: 1_000_000)
    }

    @Test func theFloorLowersTheBudgetUntilTheMixIsPredictedFastEnough() throws {
        let floor = try Self.floor()
        let budget = 200_000_000
        let full = try Self.search.solve(budgetBytes: budget), smallest = try Self.search.solve(budgetBytes: Self.search.smallestBytes)
        let slow = try #require(floor.decodeRate(full)), fast = try #require(floor.decodeRate(smallest))
        #expect(fast > slow * 1.1, "fewer bytes decode faster: \(fast) vs \(slow) t/s")
        // Without a floor, or with one the full mix meets, the search's own answer.
        #expect(try floor.solve(Self.search, budgetBytes: budget, minDecode: nil).types == full.types)
        #expect(try floor.solve(Self.search, budgetBytes: budget, minDecode: slow * 0.99).types == full.types)
        let r = (fast + slow) / 2
        let chosen = try floor.solve(Self.search, budgetBytes: budget, minDecode: r)
        let rate = try #require(floor.decodeRate(chosen))
        #expect(rate >= r && chosen.bytes < full.bytes && chosen.bytes > smallest.bytes)
        #expect(chosen.predictedKLD > full.predictedKLD && chosen.predictedKLD < smallest.predictedKLD)
        // Not needlessly small: one more Q8_0 upgrade (2.2 MB) would miss the floor.
        let larger = try Self.search.solve(budgetBytes: chosen.bytes + 2_200_000)
        #expect(try #require(floor.decodeRate(larger)) < r, "the bisection stopped early: \(chosen.bytes) bytes")
    }

    @Test func anUnreachableFloorIsAnErrorNamingTheFlagAndTheDevice() throws {
        let floor = try Self.floor()
        let fastest = try #require(floor.decodeRate(try Self.search.solve(budgetBytes: Self.search.smallestBytes)))
        #expect { try floor.solve(Self.search, budgetBytes: 200_000_000, minDecode: fastest * 2) } throws: { error in
            let text = (error as? MixError)?.description ?? ""
            return text.contains("--min-decode") && text.contains("raspberry-pi-4")
        }
    }

    @Test func theRateIsPrintedWithThePredictorsValidatedErrorOnly() throws {
        let floor = try Self.floor()
        let result = try Self.search.solve(budgetBytes: 100_000_000)
        let speed = floor.speed(result, minDecode: nil)
        let error = try #require(floor.predictor.decodeError, "the checked-in corpus validates decode")
        #expect(speed.error == error && speed.line.contains(String(format: "±%.0f%%", error * 100)))
        #expect(speed.line.contains("leave-one-device-out"))
        #expect(speed.notes.contains { $0.contains("q4_0") }, "names the kernel family the rate is predicted with")
        var unvalidated = speed
        unvalidated.error = nil; unvalidated.errorBasis = nil
        #expect(!unvalidated.line.contains("±") && unvalidated.line.contains("error not validated"))
    }
}
