import ArgumentParser
import Foundation
import Measures
import Reporter
import ResultStore

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "One metric over time across stored sweeps, per configuration, with change points marked.",
        discussion: reflow("""
            Reads every sweep in --store, keeps the runs matching each --config filter, and prints per
            configuration and machine the metric's median in each sweep (in start-time order), its
            change from the previous sweep, and change points: splits where the raw repetitions
            before and after differ by more than --threshold with Mann–Whitney p < 0.05 (binary
            segmentation, so one noisy night is not a change). --svg writes the chart.
            Filters: --config model=smollm2-135m --config type=q4_0 --config threads=2 … (keys:
            model, type, backend, threads, batch, prompt, gen, depth, kv, placement).
            """))

    @Option(help: "tg (decode t/s), pp (prefill t/s) or ttft (ms).") var metric: Metric = .tg
    @Option(help: "A filter KEY=VALUE on the configuration (repeat).") var config: [String] = []
    @OptionGroup var storeOption: StoreOption
    @Option(help: "Smallest change worth marking, e.g. 5%.") var threshold = "5%"
    @Option(help: "Also write the chart to this SVG file.") var svg: String?
    @Flag(help: "Print one JSON document.") var json = false

    static let columns = ["model": "model", "type": "model_type", "backend": "backend", "threads": "n_threads", "batch": "n_seq",
                          "prompt": "n_prompt", "gen": "n_gen", "depth": "n_depth", "kv": "kv_type", "placement": "placement"]

    func validate() throws {
        guard Compare.fraction(threshold) != nil else { throw ValidationError("--threshold '\(threshold)' is not a percentage like 5%") }
        for c in config {
            let parts = c.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, Self.columns[parts[0]] != nil else {
                throw ValidationError("--config '\(c)': expected KEY=VALUE with KEY one of \(Self.columns.keys.sorted().joined(separator: ", "))")
            }
        }
    }

    func run() throws {
        var filters: [String: [String]] = [:]
        for c in config {
            let parts = c.split(separator: "=", maxSplits: 1).map(String.init)
            filters[Self.columns[parts[0]]!, default: []].append(parts[0] == "type" ? parts[1].lowercased() : parts[1])
        }
        let store = try storeOption.location
        let db = try store.openForReading()
        let entries: [StoredRun], starts: [String: String]
        do {
            entries = try db.runs(where: filters, kinds: [.run])
            starts = Dictionary(try db.sweeps().map { ($0.id, $0.startedAt) }, uniquingKeysWith: { a, _ in a })
        } catch { throw store.failure(error) }
        let history = History(entries: entries, sweepStarts: starts, metric: metric,
                                       threshold: Compare.fraction(threshold)!)
        guard !history.series.isEmpty else { throw CLIError("no stored run in \(store.description) matches \(config.isEmpty ? "(no filter)" : config.joined(separator: " "))") }
        if let svg {
            do { try Data(history.svg().utf8).write(to: URL(fileURLWithPath: svg), options: .atomic) } catch {
                throw CLIError("--svg \(svg): \(error.localizedDescription)")
            }
            Console.progress("wrote \(svg)")
        }
        if json {
            try JSONOutput.print(HistoryDocument(history))
        } else {
            print(history.markdown())
        }
    }
}
