import ArgumentParser
import Backends
import Engine
import Foundation
import Measures
import Reporter

/// The `slmbench` command: parses arguments and calls the libraries.
@main
struct SLMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slmbench",
        abstract: "Benchmark and profile small language models on the hardware at hand.",
        discussion: reflow("""
            Exit codes: 0 ok, 1 failure, 2 regression found, 3 some runs failed, 64 usage error.
            """),
        version: BuildInfo.version,
        subcommands: [
            Probe.self, Models.self, Run.self, Sweep.self, Merge.self, Results.self, Quality.self, Generate.self,
            Report.self, Compare.self, HistoryCommand.self, Cost.self, Recommend.self, Predict.self, SoakCommand.self, Worker.self,
            LlamaBenchWorker.self,
        ])
}

/// slmbench's exit statuses, as the README documents them.
enum Exit {
    /// An error: a one-line message names the file, field or flag.
    static let failure = ExitCode(1)
    /// `compare --fail-on-regression` found a regression.
    static let regression = ExitCode(2)
    /// A sweep finished with failed runs (their reasons are in the table and the journal).
    static let failedRuns = ExitCode(3)
    /// A usage error (a bad flag or value), as ArgumentParser reports it.
    static let usage = ExitCode.validationFailure
}

// Enumerated options: ArgumentParser lists the values in --help and names the flag on a bad one.
extension EntryKind: ExpressibleByArgument {}
extension KVType: ExpressibleByArgument {}
extension ActivationQuant: ExpressibleByArgument {}
extension KernelLevel: ExpressibleByArgument {}
extension Metric: ExpressibleByArgument {
    /// `--metric` takes the metrics compare and history judge (tg, pp, ttft).
    public init?(argument: String) {
        guard let metric = Metric(rawValue: argument), Metric.compared.contains(metric) else { return nil }
        self = metric
    }
    public static var allValueStrings: [String] { Metric.compared.map(\.rawValue) }
}
extension ReportFormat: ExpressibleByArgument {}
