import ArgumentParser
import Backends
import DeviceProbe
import Foundation
import Measures
import Reporter
import ResultStore
import Workloads

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tables and the self-contained HTML report of a sweep's results.",
        discussion: reflow("""
            RESULTS is a sweep folder (results/<sweep-id>/) or a sweep id in --store.
            md, csv and json print to stdout (or --out); html writes one self-contained file (inline
            SVG charts, no scripts or network) to --out, default RESULTS-FOLDER/report.html.
            The roofline ceilings come from the hardware profile: --profile, else the store's profile
            with the sweep's fingerprint, else profiles/hardware/*.json with that fingerprint and
            measured bandwidth (slmbench probe --bandwidth --save …). The HTML's cost section uses the
            same inputs as slmbench cost (the profile's economics, or --hourly-usd / --price-usd).
            """))

    @Argument(help: "A sweep folder or a sweep id.") var results: String
    @Option(help: "Output format.") var format: ReportFormat = .md
    @Option(help: "Output file (html default: the sweep folder's report.html).") var out: String?
    @OptionGroup var storeOption: StoreOption
    @Option(help: "Hardware profile JSON for the roofline and hardware section.") var profile: String?
    @OptionGroup(title: "Cost section (html)") var cost: CostOptions

    func run() throws {
        let loaded = try ResultSet.load(results, store: try storeOption.location, kinds: [.run, .reference, .quality], flag: "RESULTS")
        let entries = loaded.entries
        let text: String
        switch format {
        case .md: text = ResultsTable.markdown(entries, profile: try hardwareProfile(for: entries)) + "\n"
        case .csv: text = ResultsExport.csv(entries.filter { $0.kind == .run })
        case .json: text = String(decoding: try ResultsExport.json(entries, full: false), as: UTF8.self) + "\n"
        case .html:
            let machine = try hardwareProfile(for: entries)
            let name = Set(entries.map(\.sweepId)).sorted().joined(separator: ", ")
            var costModel: Result<CostModel, CostError>?
            if let machine {
                let (economics, prices, workload) = try cost.inputs.resolve(device: machine)
                do { costModel = .success(try CostModel(entries: entries, device: economics, cloud: prices, workload: workload)) } catch { costModel = .failure(error) }
            }
            text = HTMLReport(title: "slmbench report — \(name)", entries: entries, profile: machine, generatedBy: BuildInfo.producer, cost: costModel).render()
        }
        if format == .html || out != nil {
            let path = out.map { URL(fileURLWithPath: $0) } ?? (loaded.folder ?? URL(fileURLWithPath: "results/\(results)")).appendingPathComponent("report.html")
            do {
                try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: path, options: .atomic)
            } catch { throw CLIError("--out \(path.path): \(error.localizedDescription)") }
            Console.progress("wrote \(path.path)")
        } else {
            print(text, terminator: "")
        }
    }

    func hardwareProfile(for entries: [StoredRun]) throws -> HardwareProfile? {
        if let profile { return try ProfileLibrary.load(profile, flag: "--profile") }
        return ProfileLibrary.reportProfile(for: entries, store: try storeOption.location)
    }
}
