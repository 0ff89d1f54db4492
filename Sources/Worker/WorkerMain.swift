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
        let job: WorkerJob
        switch request(line) {
        case let .success((_, j)): job = j
        case let .failure(error):
            emit(error: error.code, error.message)
            return 0
        }
        switch job {
        case let .run(spec): run(spec)
        case let .quality(spec): quality(spec)
        }
        return 0
    }

    static func run(_ spec: RunSpec) {
        guard let backend = BackendRegistry.make(spec.backend.rawValue) else {
            emit(error: "unknown-backend", "backend '\(spec.backend.rawValue)' is not one of \(BackendRegistry.names.joined(separator: ", "))")
            return
        }
        do {
            let samples = try Measurement.run(spec, on: backend) { stage, fraction in progress(stage, fraction) }
            let identity = backend.identity
            backend.unload()
            result(metrics: try ProtocolJSON.value(samples), backend: try ProtocolJSON.value(identity))
        } catch let error as BackendError {
            emit(error: error.code, error.message)
        } catch {
            emit(error: "internal", "\(error)")
        }
    }

    static func quality(_ spec: QualitySpec) {
        do {
            let report = try spec.evaluate { progress("quality " + $0, nil) }
            let identity = BackendRegistry.make(spec.variants.first?.backend.rawValue ?? "native")?.identity ?? BackendIdentity(name: "native", version: "")
            result(metrics: try ProtocolJSON.value(report), backend: try ProtocolJSON.value(identity))
        } catch let error as QualityError {
            emit(error: "quality", error.description)
        } catch {
            emit(error: "internal", "\(error)")
        }
    }

    static func progress(_ stage: String, _ fraction: Double?) {
        var message: [String: JSONValue] = ["protocol": .number(Double(WorkerProtocol.version)), "type": .string("progress"), "stage": .string(stage)]
        if let fraction { message["fraction"] = .number(fraction) }
        write(.object(message))
    }

    static func result(metrics: JSONValue, backend: JSONValue) {
        write(.object(["protocol": .number(Double(WorkerProtocol.version)), "type": .string("result"), "metrics": metrics, "backend": backend]))
    }

    /// The request line read as the worker reads it: the request and its job, or the error line's code and message.
    public static func request(_ line: String) -> Result<(WorkerRequest, WorkerJob), BackendError> {
        let request: WorkerRequest
        do { request = try JSONDecoder().decode(WorkerRequest.self, from: Data(line.utf8)) } catch {
            return .failure(BackendError("bad-request", "the request line is not a worker request: \(ProtocolJSON.describe(error))"))
        }
        guard request.protocol == WorkerProtocol.version else {
            return .failure(BackendError("protocol-version", "this worker speaks protocol \(WorkerProtocol.version), the request is \(request.protocol)"))
        }
        switch (request.run, request.quality) {
        case let (run?, nil):
            do { return .success((request, .run(try ProtocolJSON.read(RunSpec.self, from: run)))) } catch {
                return .failure(BackendError("bad-request", "run: \(ProtocolJSON.describe(error))"))
            }
        case let (nil, quality?):
            do { return .success((request, .quality(try ProtocolJSON.read(QualitySpec.self, from: quality)))) } catch {
                return .failure(BackendError("bad-request", "quality: \(ProtocolJSON.describe(error))"))
            }
        case (nil, nil): return .failure(BackendError("bad-request", "the request has neither 'run' nor 'quality'"))
        case (_?, _?): return .failure(BackendError("bad-request", "the request has both 'run' and 'quality'; send one"))
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
