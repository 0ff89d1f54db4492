import ArgumentParser
import Backends
import Foundation
import Measures

/// The `slmbench` command: parses arguments and calls the libraries.
@main
struct SLMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slmbench",
        abstract: "Benchmark and profile small language models on the hardware at hand.",
        discussion: """
            Exit codes: 0 ok, 1 failure, 2 regression found, 3 some runs failed, 64 usage error.
            """,
        version: BuildInfo.version,
        subcommands: [
            Probe.self, Models.self, Run.self, Sweep.self, Merge.self, Results.self, Quality.self, Generate.self,
            Report.self, Compare.self, HistoryCommand.self, Cost.self, Recommend.self, Predict.self, Worker.self,
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

    /// The source commit, for results' context blocks: $SLMBENCH_COMMIT, else `git describe` in
    /// the source tree this binary was built from (with -dirty for local changes); nil when neither answers.
    static let commit: String? = {
        if let fromEnvironment = ProcessInfo.processInfo.environment["SLMBENCH_COMMIT"], !fromEnvironment.isEmpty { return fromEnvironment }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent(".git").path) else { return nil }
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", source.path, "describe", "--always", "--dirty", "--abbrev=12"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        do { try git.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        git.waitUntilExit()
        guard git.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }()
}

/// Semantic exit codes (documented in the README; 2 arrives with compare, 3 is a sweep with failed runs).
enum Exit {
    static let failure = ExitCode(1)
}

extension EntryKind: ExpressibleByArgument {}
