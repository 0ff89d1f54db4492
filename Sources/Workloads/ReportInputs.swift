import DeviceProbe
import Foundation
import Measures
import ModelFormat
import Reporter
import ResultStore

/// `slmbench recommend`'s answer for a target: the rows measured on it (or, with none, the
/// predictions for it), the quality evaluations of any machine, the memory cap, and the ranking.
/// The report's summary is made by this same function, so the two cannot disagree.
public struct TargetRecommendation: Sendable {
    public var profile: HardwareProfile
    /// The target's rows: measured runs, or predictions.
    public var entries: [StoredRun]
    /// "measured on the target", "predicted (nothing measured on the target)", or why neither.
    public var source: String
    public var predictor: Predictor?
    /// The memory cap applied: the requested one, capped by the target's usable memory.
    public var memoryLimit: Int?
    public var recommendation: Recommendation
}

public enum Recommender {
    /// `entries`: runs and quality evaluations (from `measured`).
    public static func recommend(target profile: HardwareProfile, entries: [StoredRun], measured: ResultsSource,
                                 constraints: Recommendation.Constraints) -> TargetRecommendation {
        let target = Predictors.targetEntries(profile, entries: entries, measured: measured)
        // Quality depends on the weights, not the device: every machine's evaluations count.
        let candidates = target.entries + entries.filter { $0.kind == .quality }
        var limit = constraints.maxMemoryBytes
        if let usable = profile.memory.usableBytes ?? profile.memory.availableBytes ?? (profile.measured ? nil : profile.memory.totalBytes) {
            limit = min(limit ?? usable, usable)
        }
        var c = constraints
        c.maxMemoryBytes = limit
        return TargetRecommendation(profile: profile, entries: target.entries, source: target.source, predictor: target.predictor,
                                    memoryLimit: limit, recommendation: Recommendation(entries: candidates, constraints: c))
    }
}

/// What the reports need besides the results: the answer for a device, the quality caveats.
public enum ReportInputs {
    /// The summary a report opens with, for the device `profile` (nil: no profile is known, so
    /// the runs are ranked as measured and memory is not capped by a device).
    /// `measuredSide`: the entries are a sweep's, measured on the machine `profile` describes; when
    /// none carries the profile's fingerprint (a `--profile` of another state of the machine), they
    /// are still ranked as measured, and the basis says so, rather than replaced by predictions.
    public static func decision(profile: HardwareProfile?, entries: [StoredRun], measured: ResultsSource, given: Recommendation.Constraints,
                                cost: CostInputs, sourceWeights: [String: String], measuredSide: Bool = true) throws(InputError) -> Decision {
        let (constraints, defaulted) = Decision.resolve(given)
        let runs = entries.filter { $0.kind == .run }
        func costed(_ p: HardwareProfile, _ rows: [StoredRun]) throws(InputError) -> Result<Decision.CostInputsResolved, CostError> {
            let (economics, prices, workload) = try cost.resolve(device: p)
            do { _ = try CostModel(entries: rows, device: economics, cloud: prices, workload: workload) } catch { return .failure(error) }
            return .success(Decision.CostInputsResolved(device: economics, cloud: prices, workload: workload))
        }
        let matches = profile.map { p in runs.contains { $0.environment("fingerprint") == p.fingerprint } } ?? false
        guard let profile, matches || !measuredSide else {
            // Ranked as measured, without a device's memory cap.
            var basis = "measured; no hardware profile found, so memory is not capped by the device's"
            if let p = profile {
                let theirs = Set(runs.compactMap { $0.environment("fingerprint") }).sorted().joined(separator: ", ")
                basis = "measured on fingerprint \(theirs); the profile \(p.name) has \(p.fingerprint), so its usable memory is not applied"
            }
            let rec = Recommendation(entries: entries.filter { [.run, .quality].contains($0.kind) }, constraints: constraints)
            var costs: Result<Decision.CostInputsResolved, CostError>?
            if let p = profile { costs = try costed(p, runs) }
            return Decision(device: profile?.name ?? "the machine these runs ran on", basis: basis,
                            stated: Decision.statement(constraints, defaulted: defaulted, memoryFromFlag: given.maxMemoryBytes != nil),
                            recommendation: rec, cost: costs, sourceWeights: sourceWeights, errorLabel: nil)
        }
        let target = Recommender.recommend(target: profile, entries: entries, measured: measured, constraints: constraints)
        var applied = constraints
        applied.maxMemoryBytes = target.memoryLimit
        return Decision(device: profile.name, basis: target.source, stated: Decision.statement(applied, defaulted: defaulted, memoryFromFlag: given.maxMemoryBytes != nil),
                        recommendation: target.recommendation, cost: try costed(profile, target.entries), sourceWeights: sourceWeights,
                        errorLabel: target.predictor?.errorLabel)
    }

    /// The real models among `models` whose source weights are already quantized, with their
    /// type: the pinned files of the models slmbench fetches (`KnownModel.weightsType`).
    public static func quantizedSources(_ models: some Sequence<String>) -> [String: String] {
        var out: [String: String] = [:]
        for name in Set(models) {
            guard let known = KnownModel.named(name), !["F32", "F16", "BF16"].contains(known.weightsType.uppercased()) else { continue }
            out[name] = known.weightsType
        }
        return out
    }
}

/// HTML to PDF through headless Chromium, with the page's print style sheet.
public enum PDFPrinter {
    public static let browsers = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
    public static let missing = "--format pdf needs Chromium, which is not installed: install the Debian package `chromium` (scripts/bootstrap.sh --with-browser, or apt-get install chromium)"

    /// The first browser on `PATH`, nil when none is there.
    public static func browser(path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        for dir in (path ?? "").split(separator: ":") {
            for name in browsers where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        }
        return nil
    }

    /// Prints `html` to the PDF file `out`.
    public static func print(html: String, to out: URL, browser: String? = browser()) throws(InputError) {
        guard let browser else { throw InputError(missing) }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("slmbench-pdf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let page = work.appendingPathComponent("report.html"), pdf = work.appendingPathComponent("report.pdf")
        do {
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            try Data(html.utf8).write(to: page)
        } catch { throw InputError("--format pdf: cannot write \(page.path): \(error.localizedDescription)") }
        let result = Captured.run(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(work.path)/profile",
                                            "--no-pdf-header-footer", "--print-to-pdf-no-header", "--print-to-pdf=\(pdf.path)", page.absoluteString],
                                  timeout: 180, input: nil)
        guard let data = try? Data(contentsOf: pdf), data.starts(with: Data("%PDF".utf8)) else {
            throw InputError("--format pdf: \(browser) made no PDF (\(result.problem))")
        }
        do {
            try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: out, options: .atomic)
        } catch { throw InputError("--out \(out.path): \(error.localizedDescription)") }
    }
}

extension ReportInputs {
    /// The heat maps of a saved sensitivity document (`report --sensitivity FILE.json`), one per
    /// type it measured; errors name the file.
    public static func heatMaps(sensitivityFile path: String) throws(MixError) -> [SensitivityHeatMap] {
        let report = try SensitivityReport.load(path: path)
        return report.types.map { type in
            SensitivityHeatMap(
                model: report.model, type: type, corpus: report.corpus, method: report.method, tiedOutput: report.tiedOutput,
                caveat: report.sourceWeightsCaveat,
                cells: report.entries.filter { $0.type == type }.map { e in
                    .init(layer: e.layer, kind: e.kind?.rawValue, unit: e.unit,
                          usedType: Set(e.tensors.map(\.type)).sorted().joined(separator: "/"), meanKLD: e.meanKLD)
                },
                sample: "\(report.chunks) chunk\(report.chunks == 1 ? "" : "s") of \(report.context) tokens, \(report.scoredPositions) scored positions"
                    + (report.importance.map { ", scale searches weighted by \($0)" } ?? ""))
        }
    }
}
