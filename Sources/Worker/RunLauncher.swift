import Backends
import Foundation
import Measures

/// Where a run executes: slmbench's own worker (for its in-tree backends) or an external program.
public enum WorkerCommand: Sendable, Equatable {
    case builtIn(backend: String)
    case external(program: String, arguments: [String])

    /// Parses `--backend`: `native`, `llama.cpp`, or `cmd:PROGRAM` (arguments come separately).
    public static func parse(_ text: String, arguments: [String] = []) -> WorkerCommand? {
        if text.hasPrefix("cmd:") {
            let program = String(text.dropFirst(4))
            return program.isEmpty ? nil : .external(program: program, arguments: arguments)
        }
        return BackendRegistry.names.contains(text) ? .builtIn(backend: text) : nil
    }

    public var backendLabel: String {
        switch self {
        case let .builtIn(name): return name
        case let .external(program, _): return "cmd:\(program)"
        }
    }
}

/// What became of one run.
public struct RunRecord: Codable, Sendable {
    public var spec: RunSpec
    public var status: RunStatus
    /// Why it did not complete.
    public var reason: String?
    public var backend: BackendIdentity?
    public var metrics: RunMetrics?
    public var samples: RunSamples?
    public var peakRssBytes: Int?
    public var wallSeconds: Double
    public var stderrTail: [String]
}

/// Launches one run in a worker process and turns its report into a record.
public enum RunLauncher {
    /// The running slmbench executable, which is also the worker. On Linux this is
    /// /proc/self/exe itself, so workers run the very binary the orchestrator runs even when the
    /// file on disk is rebuilt or deleted in the middle of a sweep.
    public static var selfExecutable: String {
        FileManager.default.fileExists(atPath: "/proc/self/exe") ? "/proc/self/exe" : CommandLine.arguments[0]
    }

    /// `workerExecutable` replaces the running executable as slmbench's own worker (tests run
    /// from another binary).
    public static func run(_ spec: RunSpec, command: WorkerCommand, limits: WorkerLimits, id: String = "run-1",
                           workerExecutable: String? = nil,
                           onProgress: @escaping @Sendable (WorkerMessage) -> Void = { _ in }) -> RunRecord {
        let request: WorkerRequest
        do { request = WorkerRequest(id: id, run: try ProtocolJSON.value(spec)) } catch {
            return RunRecord(spec: spec, status: .launch, reason: "cannot encode the run: \(error)", wallSeconds: 0, stderrTail: [])
        }
        let (program, arguments): (String, [String])
        switch command {
        case .builtIn: (program, arguments) = (workerExecutable ?? selfExecutable, ["worker"])
        case let .external(p, a): (program, arguments) = (p, a)
        }
        let report = WorkerProcess.run(executable: program, arguments: arguments, request: request, limits: limits, onProgress: onProgress)
        return record(spec, report)
    }

    /// Runs a quality evaluation in slmbench's own worker; a fault in it is a recorded outcome.
    public static func quality(_ spec: QualitySpec, limits: WorkerLimits, id: String = "quality-1", workerExecutable: String? = nil,
                               onProgress: @escaping @Sendable (WorkerMessage) -> Void = { _ in })
        -> (status: RunStatus, reason: String?, report: QualityEvaluation.Report?) {
        let request: WorkerRequest
        do { request = WorkerRequest(id: id, quality: try ProtocolJSON.value(spec)) } catch {
            return (.launch, "cannot encode the quality request: \(error)", nil)
        }
        let report = WorkerProcess.run(executable: workerExecutable ?? selfExecutable, arguments: ["worker"], request: request,
                                       limits: limits, onProgress: onProgress)
        guard case let .completed(metrics, _) = report.outcome else { return (report.outcome.status, reason(report.outcome), nil) }
        do { return (.ok, nil, try ProtocolJSON.read(QualityEvaluation.Report.self, from: metrics)) } catch {
            return (.protocol, "the result line's metrics are not a quality report: \(ProtocolJSON.describe(error))", nil)
        }
    }

    static func record(_ spec: RunSpec, _ report: WorkerReport) -> RunRecord {
        var record = RunRecord(spec: spec, status: report.outcome.status, peakRssBytes: report.peakRSSBytes,
                               wallSeconds: report.wallSeconds, stderrTail: report.stderrTail)
        if case let .completed(metrics, backend) = report.outcome {
            do {
                let (samples, identity, derived) = try result(metrics: metrics, backend: backend, peakRSSBytes: report.peakRSSBytes)
                record.samples = samples
                record.backend = identity
                record.metrics = derived
            } catch {
                record.status = .protocol
                record.reason = "the result line's metrics are not a run's samples: \(error)"
            }
        } else {
            record.reason = reason(report.outcome)
        }
        return record
    }

    /// Why a worker did not complete, in words.
    static func reason(_ outcome: WorkerOutcome) -> String? {
        switch outcome {
        case .completed: return nil
        case let .failed(code, message): return "\(code): \(message)"
        case let .timeout(seconds): return "no result within \(Int(seconds)) s; the worker was killed"
        case let .oom(limit, resident): return "resident set \(resident) bytes passed the \(limit)-byte ceiling; the worker was killed"
        case let .crashed(signal, status):
            return signal.map { "killed by signal \($0)" } ?? "exited with status \(status ?? -1) without an error line"
        case let .protocolError(message): return message
        case let .launchFailed(message): return message
        }
    }
}

extension RunLauncher {
    /// A result line's samples and backend, and the metrics they give; the error names the field.
    public static func result(metrics: JSONValue, backend: JSONValue, peakRSSBytes: Int?) throws -> (RunSamples, BackendIdentity, RunMetrics) {
        let samples: RunSamples, identity: BackendIdentity
        do { samples = try ProtocolJSON.read(RunSamples.self, from: metrics) } catch { throw ResultProblem("metrics: \(ProtocolJSON.describe(error))") }
        do { identity = try ProtocolJSON.read(BackendIdentity.self, from: backend) } catch { throw ResultProblem("backend: \(ProtocolJSON.describe(error))") }
        guard !samples.repetitions.isEmpty else { throw ResultProblem("metrics.repetitions is empty") }
        // The samples are multiplied and summarised next: absurd ones stop here, by field.
        let problems = samples.problems()
        guard problems.isEmpty else { throw ResultProblem("metrics." + problems.joined(separator: "; metrics.")) }
        return (samples, identity, RunMetrics(samples: samples, peakRSSBytes: peakRSSBytes))
    }
}

struct ResultProblem: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
