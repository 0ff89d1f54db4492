import Backends
import Foundation
import Measures

/// `slmbench worker`: reads one request line on stdin, runs it, and answers on stdout with
/// progress lines and one result or error line (docs/worker-protocol.md).
public enum WorkerMain {
    /// Returns the exit status: 0 whenever a result or an error line was written.
    public static func run() -> Int32 {
        guard let line = readLine(strippingNewline: true) else {
            emit(error: "no-request", "no request line on stdin")
            return 0
        }
        let spec: RunSpec
        switch request(line) {
        case let .success((_, run)): spec = run
        case let .failure(error):
            emit(error: error.code, error.message)
            return 0
        }
        guard let backend = BackendRegistry.make(spec.backend) else {
            emit(error: "unknown-backend", "backend '\(spec.backend)' is not one of \(BackendRegistry.names.joined(separator: ", "))")
            return 0
        }
        do {
            let samples = try Measurement.run(spec, on: backend) { stage, fraction in
                var message: [String: JSONValue] = ["protocol": .number(1), "type": .string("progress"), "stage": .string(stage)]
                if let fraction { message["fraction"] = .number(fraction) }
                write(.object(message))
            }
            let identity = backend.identity
            backend.unload()
            write(.object(["protocol": .number(Double(WorkerProtocol.version)), "type": .string("result"),
                           "metrics": try ProtocolJSON.value(samples), "backend": try ProtocolJSON.value(identity)]))
        } catch let error as BackendError {
            emit(error: error.code, error.message)
        } catch {
            emit(error: "internal", "\(error)")
        }
        return 0
    }

    /// The request line read as the worker reads it: the request and its run, or the error line's code and message.
    public static func request(_ line: String) -> Result<(WorkerRequest, RunSpec), BackendError> {
        let request: WorkerRequest
        do { request = try JSONDecoder().decode(WorkerRequest.self, from: Data(line.utf8)) } catch {
            return .failure(BackendError("bad-request", "the request line is not a worker request: \(ProtocolJSON.describe(error))"))
        }
        guard request.protocol == WorkerProtocol.version else {
            return .failure(BackendError("protocol-version", "this worker speaks protocol \(WorkerProtocol.version), the request is \(request.protocol)"))
        }
        do { return .success((request, try ProtocolJSON.read(RunSpec.self, from: request.run))) } catch {
            return .failure(BackendError("bad-request", "run: \(ProtocolJSON.describe(error))"))
        }
    }

    static func emit(error code: String, _ message: String) {
        write(.object(["protocol": .number(Double(WorkerProtocol.version)), "type": .string("error"),
                       "code": .string(code), "message": .string(message)]))
    }

    static func write(_ value: JSONValue) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(value) else { return }
        data.append(0x0A)
        FileHandle.standardOutput.write(data)
    }
}
