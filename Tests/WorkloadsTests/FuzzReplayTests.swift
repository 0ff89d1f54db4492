import Foundation
import FuzzHarness
import TestSupport
import Testing

/// Every fuzz seed and every saved finding, replayed through the entry point the fuzzer used
/// (scripts/check/fuzz.sh): each must return. A finding stays here as a regression test after its fix.
@Suite("fuzz seeds and findings replayed")
struct FuzzReplayTests {
    static let regressions = TestPaths.packageRoot.appendingPathComponent("Tests/WorkloadsTests/Fixtures/fuzz-regressions")

    /// The saved findings of a target (scripts/check/fuzz.sh copies them into its folder).
    static func findings(_ target: String) -> [URL] {
        let folder = regressions.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzHarness.targets)
    func everySeedReturns(target: String) throws {
        let harness = try #require(FuzzHarness.named(target))
        let made = FuzzHarness.seeds(target)
        let files = FuzzHarness.seedFileURLs(target)
        #expect(!made.isEmpty || !files.isEmpty, "\(target) has no seeds")
        #expect(files.count >= FuzzHarness.seedFiles(target).count, "a seed file of \(target) is missing: \(FuzzHarness.seedFiles(target))")
        // A seed made in code that the target refuses would start the fuzzer nowhere deep.
        for seed in made { #expect(harness(seed.bytes), "\(target) refuses its own seed \(seed.name)") }
        for file in files { _ = harness(Array(try Data(contentsOf: file))) }
    }

    @Test(arguments: FuzzHarness.targets)
    func everySavedFindingReturns(target: String) throws {
        let harness = try #require(FuzzHarness.named(target))
        for file in Self.findings(target) { _ = harness(Array(try Data(contentsOf: file))) }
    }

    /// A folder named after no target would be skipped without a word.
    @Test func everyFindingsFolderIsATarget() throws {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: Self.regressions.path)) ?? []
        for folder in folders where !folder.hasPrefix(".") && folder != "README.md" {
            #expect(FuzzHarness.targets.contains(folder), "\(Self.regressions.path)/\(folder) is not a fuzz target (\(FuzzHarness.targets))")
        }
    }
}
