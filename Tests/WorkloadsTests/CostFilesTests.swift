import Foundation
import TestSupport
import Testing
import Workloads

@Suite("cost files")
struct CostFilesTests {
    @Test func theShippedCostFilesParseAndBrokenOnesNameTheLine() throws {
        let root = TestPaths.packageRoot.appendingPathComponent("profiles/cost")
        let cloud = try CostFiles.cloud(root.appendingPathComponent("cloud-prices.yaml").path)
        #expect(cloud.options.count >= 5 && cloud.options.allSatisfy { !$0.source.isEmpty })
        let defaults = try CostFiles.defaults(root.appendingPathComponent("device-defaults.yaml").path)
        #expect(defaults.electricityUSDPerKWh.value > 0 && !defaults.electricityUSDPerKWh.source.isEmpty)
        let dir = try TestPaths.temporaryDirectory()
        let bad = dir.appendingPathComponent("prices.yaml").path
        try "as_of: x\ndefaults:\n  ttft: {value: 1s, source: s}\n  rtt: {value: 50ms, source: s}\noptions:\n  - name: a\n    input: cheap\n    output: 1\n    source: s\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        #expect(throws: SpecError.self) { try CostFiles.cloud(bad) }
        do { _ = try CostFiles.cloud(bad) } catch {
            #expect(error.description.contains("prices.yaml:7") && error.description.contains("options[0].input"), "\(error)")
        }
        try "lifetime_years: {value: 3}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        do { _ = try CostFiles.defaults(bad); Issue.record("a figure without a source must be refused") } catch {
            #expect(error.description.contains("needs a source"), "\(error)")
        }
    }
}
