import ArgumentParser
import Foundation
import Worker
import Workloads

/// The worker behind `--backend llama-bench`: reads one request line like `slmbench worker`,
/// runs `llama-bench -o jsonl` (on --on's device, else here) and answers with a result line.
struct LlamaBenchWorker: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llama-bench-worker",
        abstract: "(internal) Execute one run with llama-bench, speaking the worker protocol on stdin/stdout.",
        shouldDisplay: false)

    @OptionGroup var deviceOption: DeviceOption
    @Option(help: "The llama-bench program (default: the device's llama_bench, else llama-bench on PATH).") var program: String?

    func run() throws {
        guard let line = readLine(strippingNewline: true) else { return emit(error: "no-request", "no request line on stdin") }
        let spec: RunSpec
        switch WorkerMain.request(line) {
        case let .success((_, .run(s))): spec = s
        case .success: return emit(error: "unsupported", "llama-bench runs measurements only, not quality evaluations")
        case let .failure(error): return emit(error: error.code, error.message)
        }
        let device: Device?
        do { device = try deviceOption.device } catch { return emit(error: "device", "\(error)") }
        // The parent enforces the run's timeout on this process and everything it started.
        switch LlamaBench.measure(spec, device: device, program: program, timeout: 7 * 86400) {
        case let .success((samples, identity)):
            do {
                write(.object(["protocol": .number(Double(WorkerProtocol.version)), "type": .string("result"),
                               "metrics": try ProtocolJSON.value(samples), "backend": try ProtocolJSON.value(identity)]))
            } catch { emit(error: "internal", "\(error)") }
        case let .failure(error): emit(error: error.code, error.message)
        }
    }

    func emit(error code: String, _ message: String) {
        write(.object(["protocol": .number(Double(WorkerProtocol.version)), "type": .string("error"), "code": .string(code), "message": .string(message)]))
    }

    func write(_ value: JSONValue) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(value) else { return }
        data.append(0x0A)
        FileHandle.standardOutput.write(data)
    }
}
