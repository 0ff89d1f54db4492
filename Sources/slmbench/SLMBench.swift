import ArgumentParser
import Backends

/// The `slmbench` command: parses arguments and calls the libraries.
@main
struct SLMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slmbench",
        abstract: "Benchmark and profile small language models on the hardware at hand.",
        discussion: """
            Exit codes: 0 ok, 1 failure, 2 regression found, 3 some runs failed, 64 usage error.
            Commands marked (planned) are not built yet: they say so and exit 1.
            """,
        version: BuildInfo.version,
        subcommands: [
            Probe.self, Models.self, Run.self, Sweep.self, Quality.self, Generate.self,
            Report.self, Compare.self, Cost.self, Recommend.self, Worker.self,
        ])
}

/// Version and build configuration, stamped into every profile and result.
enum BuildInfo {
    static let version = SlmbenchVersion.string
    #if DEBUG
    static let configuration = "debug"
    #else
    static let configuration = "release"
    #endif
    static var producer: String { "slmbench \(version) (\(configuration) build)" }
}

/// Semantic exit codes (documented in the README; 2 and 3 arrive with compare and sweep).
enum Exit {
    static let failure = ExitCode(1)
}
