import Foundation
import TestSupport
import Testing

/// The report's answer and `slmbench recommend` are one ranking: for the same results, target and
/// constraints they name the same configuration first and second. Run on the golden fixture (a
/// real sweep with quality) through the built binary.
@Suite("report summary against recommend")
struct ReportSummaryTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/report-fixture")

    /// The cost files, for a command run outside the package root.
    static let costFiles = ["--cloud", TestPaths.packageRoot.appendingPathComponent("profiles/cost/cloud-prices.yaml").path,
                            "--cost-defaults", TestPaths.packageRoot.appendingPathComponent("profiles/cost/device-defaults.yaml").path]

    func slmbench(_ args: [String], in dir: URL) throws -> CommandResult {
        let binary = TestPaths.slmbenchExecutable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: run scripts/test.sh")
        return try runCommand(binary, args, currentDirectory: dir)
    }

    /// The configurations of recommend's feasible table, in order, as `model|type|backend|tN|bN`.
    static func recommendOrder(_ stdout: String) -> [String] {
        var inFeasible = false, out: [String] = []
        for line in stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Feasible") { inFeasible = true; continue }
            if line.hasPrefix("Rejected") { break }
            guard inFeasible, line.hasPrefix("| "), !line.contains("| model |") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count > 6, Int(cells[5]) != nil else { continue }
            out.append("\(cells[2])|\(cells[3])|\(cells[4])|t\(cells[5])|b\(cells[6])")
        }
        return out
    }

    /// The report's recommended and runner-up cards, from their data attributes.
    static func cards(_ html: String) -> (pick: String?, second: String?) {
        func attribute(_ css: String) -> String? {
            guard let r = html.range(of: "<div class=\"card \(css)\" data-config=\"") else { return nil }
            let rest = html[r.upperBound...]
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
        return (attribute("pick"), attribute("second"))
    }

    /// The fixture, its runs moved to its profile's fingerprint (the profile was saved after the
    /// machine's fingerprint changed), so that the profile describes the machine they ran on.
    static func fixtureOnItsProfile(in dir: URL) throws -> (folder: URL, profile: String) {
        let profile = fixture.appendingPathComponent("profile.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: profile)) as? [String: Any])
        let fingerprint = try #require(json["fingerprint"] as? String)
        let folder = dir.appendingPathComponent("fixture")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["journal.jsonl", "sweep.json", "spec.yaml"] {
            let text = try String(contentsOf: fixture.appendingPathComponent(name), encoding: .utf8)
            try text.replacingOccurrences(of: "83174b00e3ebc412", with: fingerprint).write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return (folder, profile.path)
    }

    @Test(arguments: [
        // No constraint on the report: its stated defaults, which recommend is given as flags.
        (report: [String](), recommend: ["--min-decode-tps", "20", "--max-kld", "0.1"]),
        (report: ["--min-decode-tps", "30"], recommend: ["--min-decode-tps", "30"]),
        (report: ["--max-memory", "150MiB"], recommend: ["--max-memory", "150MiB"]),
        (report: ["--max-kld", "2", "--max-ttft-ms", "1000"], recommend: ["--max-kld", "2", "--max-ttft-ms", "1000"]),
    ])
    func theAnswerIsRecommendsFirstAndSecondRow(flags: (report: [String], recommend: [String])) throws {
        let dir = try TestPaths.temporaryDirectory()
        let (folder, profile) = try Self.fixtureOnItsProfile(in: dir)
        let store = ["--store", dir.appendingPathComponent("none.sqlite").path]
        let recommend = try slmbench(["recommend", "--target", profile, "--results", folder.path] + store + flags.recommend, in: dir)
        #expect(recommend.status == 0, "\(recommend.stderr)")
        #expect(recommend.stdout.contains("measured on the target"), "\(recommend.stdout)")
        let order = Self.recommendOrder(recommend.stdout)
        let out = dir.appendingPathComponent("r.html").path
        let report = try slmbench(["report", folder.path, "--format", "html", "--profile", profile, "--out", out] + store + Self.costFiles + flags.report, in: dir)
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: out, encoding: .utf8)
        let cards = Self.cards(html)
        #expect(cards.pick == order.first, "report recommends \(cards.pick ?? "nothing"), recommend \(order.first ?? "nothing")")
        #expect(cards.second == order.dropFirst().first, "runner-up \(cards.second ?? "none") against \(order.dropFirst().first ?? "none")")
        if order.isEmpty { #expect(html.contains("Nothing meets every constraint")) }
        // The answer comes first: before any chart.
        let answer = try #require(html.range(of: "<h2>The answer"))
        let chart = try #require(html.range(of: "<svg"))
        #expect(answer.lowerBound < chart.lowerBound)
        if flags.report.isEmpty { #expect(html.contains("(default: faster than people read)")) }
    }

    @Test func theFixturesQualityFiguresCarryTheRequantizationCaveat() throws {
        // SmolLM2-135M's source weights are Q4_1: its Q8_0 and Q4_0 are requantizations.
        let dir = try TestPaths.temporaryDirectory()
        let out = dir.appendingPathComponent("r.html").path
        let report = try slmbench(["report", Self.fixture.path, "--format", "html", "--profile", Self.fixture.appendingPathComponent("profile.json").path,
                                   "--out", out, "--store", dir.appendingPathComponent("none.sqlite").path] + Self.costFiles, in: dir)
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: out, encoding: .utf8)
        #expect(html.contains("smollm2-135m&#39;s source weights are already Q4_1"))
        #expect(html.contains("+28.83 †"), "the Q4_0 ΔPPL cell lacks its mark")
        #expect(html.contains("⚠ measured against the F32 conversion of the Q4_1 source weights"), "the summary's quality figure lacks the caveat")
    }

    @Test func aComparisonOfTwoSweepsAndAPredictedDeviceSaysWhatItCompares() throws {
        // In the package root: the predicted side needs profiles/validation.
        let dir = try TestPaths.temporaryDirectory()
        let root = TestPaths.packageRoot
        let store = ["--store", dir.appendingPathComponent("none.sqlite").path]
        let pi = root.appendingPathComponent("profiles/hardware/raspberry-pi-5.json").path
        let report = try slmbench(["report", Self.fixture.path, Self.fixture.path, pi, "--format", "html", "--out", dir.appendingPathComponent("c.html").path] + store, in: root)
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: dir.appendingPathComponent("c.html").path, encoding: .utf8)
        #expect(html.contains("<title>slmbench comparison — ") && html.contains(" vs raspberry-pi-5 (predicted)</title>"))
        #expect(html.contains("predicted, not measured") && html.contains("measured here"))
        // The same sweep on both sides: the measured ratios are 1, and 3 repetitions against 3 cannot be significant.
        #expect(html.contains("×1.00 [") && html.contains("3:3 repetitions cannot reach p &lt; 0.05"))
        // The predicted device's answer is recommend's for that device.
        let recommend = try slmbench(["recommend", "--target", pi, "--results", Self.fixture.path, "--min-decode-tps", "20", "--max-kld", "0.1"] + store, in: root)
        #expect(recommend.status == 0, "\(recommend.stderr)")
        let piFirst = try #require(Self.recommendOrder(recommend.stdout).first)
        let section = try #require(html.range(of: "C · raspberry-pi-5"))
        #expect(Self.cards(String(html[section.upperBound...])).pick == piFirst)
        // md works too; csv does not take several sweeps.
        let md = try slmbench(["report", Self.fixture.path, pi, "--format", "md"] + store, in: root)
        #expect(md.status == 0 && md.stdout.hasPrefix("# slmbench comparison — "), "\(md.stderr)")
        let csv = try slmbench(["report", Self.fixture.path, pi, "--format", "csv"] + store, in: root)
        #expect(csv.status == 64 && csv.stderr.contains("--format csv takes one sweep"))
    }

    @Test func pdfWithoutChromiumIsOneLineNamingThePackage() throws {
        let dir = try TestPaths.temporaryDirectory()
        let binary = TestPaths.slmbenchExecutable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "\(binary.path) is missing: run scripts/test.sh")
        // A PATH with no browser on it.
        let result = try runCommand(binary, ["report", Self.fixture.path, "--format", "pdf", "--out", dir.appendingPathComponent("r.pdf").path,
                                             "--profile", Self.fixture.appendingPathComponent("profile.json").path,
                                             "--store", dir.appendingPathComponent("none.sqlite").path] + Self.costFiles,
                                    environment: ["PATH": dir.path, "HOME": dir.path], currentDirectory: dir)
        #expect(result.status == 1, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && result.stderr.contains("Debian package `chromium`"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r.pdf").path))
    }
}
