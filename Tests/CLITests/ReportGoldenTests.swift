import Foundation
import TestSupport
import Testing

/// A stored sweep rendered by `slmbench report` must give the same md, csv and json, byte for
/// byte, as the commit that made the golden files (Golden/report-fixture/README.md).
@Suite("report golden files")
struct ReportGoldenTests {
    @Test(arguments: ["md", "csv", "json"])
    func aStoredSweepRendersByteForByteAsBefore(format: String) throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/report-fixture")
        let binary = TestPaths.slmbenchExecutable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: run scripts/test.sh")
        // From an empty folder, with a store that does not exist: nothing but the fixture is read.
        let dir = try TestPaths.temporaryDirectory()
        let result = try runCommand(binary, ["report", fixture.path, "--format", format, "--profile", fixture.appendingPathComponent("profile.json").path,
                                             "--store", dir.appendingPathComponent("none.sqlite").path], currentDirectory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let golden = try String(contentsOf: fixture.appendingPathComponent("report.\(format)"), encoding: .utf8)
        #expect(result.stdout == golden, "report --format \(format) changed; if intended, regenerate Tests/CLITests/Golden/report-fixture/report.\(format)")
    }
}
