import ArgumentParser
import Backends
import DeviceProbe
import Foundation
import Measures
import ModelFormat
import Reporter
import ResultStore
import Workloads

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tables and the HTML or PDF report of a sweep, or of several side by side.",
        discussion: reflow("""
            RESULTS is a sweep folder (results/<sweep-id>/) or a sweep id in --store.
            md, csv and json print to stdout (or --out); html writes one self-contained file (inline
            SVG charts, no scripts or network) to --out, default RESULTS-FOLDER/report.html; pdf
            prints that page through headless Chromium (the Debian package chromium), default
            RESULTS-FOLDER/report.pdf.
            The HTML opens with the answer: the configuration slmbench recommend would choose under
            the constraints given (--min-decode-tps, --max-kld, …; with none, 20 t/s per sequence
            and a KL divergence of at most 0.1, stated as defaults), its figures, the runner-up and
            what weakens the answer.
            With two or more arguments (sweeps from other devices, builds or dates, or a hardware
            profile JSON such as profiles/hardware/raspberry-pi-5.json for a device not at hand,
            predicted from the other sides), the report puts them side by side (md, html or pdf;
            default --out results/comparison.html or .pdf).
            The roofline ceilings come from the hardware profile: --profile, else the store's profile
            with the sweep's fingerprint, else profiles/hardware/*.json with that fingerprint and
            measured bandwidth (slmbench probe --bandwidth --save …). The cost figures use the
            same inputs as slmbench cost (the profile's economics, or --hourly-usd / --price-usd;
            in a comparison a device whose profile has its own economics keeps them).
            """))

    @Argument(help: "Sweep folders or sweep ids; a hardware profile JSON for a device to predict (with two or more).") var results: [String]
    @Option(help: "Output format: md, csv, json, html or pdf.") var format: ReportFormat = .md
    @Option(help: "Output file (html and pdf default: the sweep folder's report.html / report.pdf).") var out: String?
    @OptionGroup var storeOption: StoreOption
    @Option(help: "Hardware profile JSON for the roofline and hardware section (one sweep).") var profile: String?
    @OptionGroup(title: "Constraints of the answer (html, pdf, comparison)") var limits: ConstraintOptions
    @OptionGroup(title: "Cost (html, pdf, comparison)") var cost: CostOptions
    @Option(help: ArgumentHelp("A `models sensitivity --save` file whose heat map the html or pdf shows (repeat for several).", valueName: "file.json"))
    var sensitivity: [String] = []

    func validate() throws {
        guard !results.isEmpty else { throw ValidationError("give a sweep folder or sweep id (RESULTS)") }
        if results.count > 1 {
            guard [.md, .html, .pdf].contains(format) else { throw ValidationError("--format \(format.rawValue) takes one sweep; a comparison of \(results.count) is md, html or pdf") }
            if profile != nil { throw ValidationError("--profile is for one sweep; in a comparison each side's profile is found by its fingerprint") }
        }
        if !sensitivity.isEmpty && ![.html, .pdf].contains(format) {
            throw ValidationError("--sensitivity draws a heat map in the html or pdf report; --format is \(format.rawValue)")
        }
    }

    func run() throws {
        if results.count > 1 { return try comparison() }
        let loaded = try ResultSet.load(results[0], store: try storeOption.location, kinds: [.run, .reference, .quality], flag: "RESULTS")
        let entries = loaded.entries
        let text: String
        switch format {
        case .md: text = ResultsTable.markdown(entries, profile: try hardwareProfile(for: entries)) + "\n"
        case .csv: text = ResultsExport.csv(entries.filter { $0.kind == .run })
        case .json: text = String(decoding: try ResultsExport.json(entries, full: false), as: UTF8.self) + "\n"
        case .html, .pdf: text = try html(entries, folder: loaded.folder)
        }
        let folder = loaded.folder ?? URL(fileURLWithPath: "results/\(results[0])")
        try write(text, defaultPath: folder.appendingPathComponent(format == .pdf ? "report.pdf" : "report.html"))
    }

    func html(_ entries: [StoredRun], folder: URL?) throws -> String {
        let machine = try hardwareProfile(for: entries)
        let name = Set(entries.map(\.sweepId)).sorted().joined(separator: ", ")
        var costModel: Result<CostModel, CostError>?
        if let machine {
            let (economics, prices, workload) = try cost.inputs.resolve(device: machine)
            do { costModel = .success(try CostModel(entries: entries, device: economics, cloud: prices, workload: workload)) } catch { costModel = .failure(error) }
        }
        let weights = ReportInputs.quantizedSources(entries.filter { !$0.config.synthetic }.map(\.config.model))
        let measured = ResultsSource(store: try storeOption.location, folders: folder.map { [$0.path] } ?? [], machines: machine.map { [$0] } ?? [])
        let decision = try ReportInputs.decision(profile: machine, entries: entries.filter { [.run, .quality].contains($0.kind) }, measured: measured,
                                                 given: limits.constraints, cost: cost.inputs, sourceWeights: weights)
        var report = HTMLReport(title: "slmbench report — \(name)", entries: entries, profile: machine, generatedBy: BuildInfo.producer, cost: costModel,
                                decision: decision, sourceWeights: weights)
        for file in sensitivity {
            do { report.sensitivity += try ReportInputs.heatMaps(sensitivityFile: file) } catch { throw CLIError("--sensitivity \(error.description)") }
        }
        return report.render()
    }

    func comparison() throws {
        let (sides, weights) = try ComparisonInputs.sides(results, store: try storeOption.location, given: limits.constraints, cost: cost.inputs) {
            ReportInputs.quantizedSources($0.filter { !$0.config.synthetic }.map(\.config.model))
        }
        let report = ComparisonReport(sides: sides, generatedBy: BuildInfo.producer, sourceWeights: weights)
        let text = format == .md ? report.markdown() : report.html()
        try write(text, defaultPath: URL(fileURLWithPath: format == .pdf ? "results/comparison.pdf" : "results/comparison.html"))
    }

    /// md to stdout unless --out; html to --out or `defaultPath`; pdf printed from the html.
    func write(_ text: String, defaultPath: URL) throws {
        guard format == .html || format == .pdf || out != nil else { return print(text, terminator: "") }
        let path = out.map { URL(fileURLWithPath: $0) } ?? defaultPath
        if format == .pdf {
            try PDFPrinter.print(html: text, to: path)
        } else {
            do {
                try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: path, options: .atomic)
            } catch { throw CLIError("--out \(path.path): \(error.localizedDescription)") }
        }
        Console.progress("wrote \(path.path)")
    }

    func hardwareProfile(for entries: [StoredRun]) throws -> HardwareProfile? {
        if let profile { return try ProfileLibrary.load(profile, flag: "--profile") }
        return ProfileLibrary.reportProfile(for: entries, store: try storeOption.location)
    }
}
