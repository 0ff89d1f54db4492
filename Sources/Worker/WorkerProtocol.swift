import Foundation
import Measures

/// The worker protocol: one JSON request line on the worker's stdin; JSON lines back on its
/// stdout — any number of `progress` events, then exactly one `result` or one `error`.
/// Documented in docs/worker-protocol.md with a JSON Schema beside it.
public enum WorkerProtocol {
    /// Bumped on any change an older worker or parent would misread.
    public static let version = 1
}

/// Any JSON value, for the parts of messages whose shape belongs to a backend or a metric set.
public enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .number(n): try c.encode(n)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? { if case let .object(o) = self { o[key] } else { nil } }
    public var number: Double? { if case let .number(n) = self { n } else { nil } }
    public var string: String? { if case let .string(s) = self { s } else { nil } }
}

/// What the parent asks a worker to do: a run (`run`), or a quality evaluation (`quality`,
/// slmbench's own worker only). Exactly one of the two is present.
public struct WorkerRequest: Codable, Sendable, Equatable {
    public var `protocol`: Int
    /// Identifies the run in results and logs.
    public var id: String
    /// The run's configuration (model, type, threads, batch, prompt and generation lengths, …).
    public var run: JSONValue?
    /// A quality evaluation (`QualitySpec`).
    public var quality: JSONValue?

    public init(id: String, run: JSONValue) {
        self.protocol = WorkerProtocol.version; self.id = id; self.run = run
    }

    public init(id: String, quality: JSONValue) {
        self.protocol = WorkerProtocol.version; self.id = id; self.quality = quality
    }
}

/// What a request asks, decoded.
public enum WorkerJob: Sendable, Equatable {
    case run(RunSpec)
    case quality(QualitySpec)
}

/// One line a worker writes.
public enum WorkerMessage: Sendable, Equatable {
    case progress(stage: String, fraction: Double?)
    /// Measurements and the backend's description of itself (name, version, build).
    case result(metrics: JSONValue, backend: JSONValue)
    /// The worker could not do the run and says why (not a crash).
    case error(code: String, message: String)
}

extension WorkerMessage {
    /// Why a line is not a valid message.
    public enum DecodeFailure: Error, Sendable, Equatable, CustomStringConvertible {
        case notJSON(line: String)
        case missingField(String, type: String?)
        case unknownType(String)
        /// The line's `protocol` number, whatever it is (a hostile worker may send 1e300 or 1.5).
        case wrongProtocol(Double)

        public var description: String {
            switch self {
            case let .notJSON(line): return "not a JSON object: \(line.prefix(120).debugDescription)"
            case let .missingField(field, type): return "\(type.map { "'\($0)' message" } ?? "message") lacks field '\(field)'"
            case let .unknownType(type): return "unknown message type '\(type)'"
            case let .wrongProtocol(version):
                let shown = Int(exactly: version).map(String.init) ?? "\(version)"
                return "worker speaks protocol version \(shown); this slmbench speaks \(WorkerProtocol.version)"
            }
        }
    }

    /// Parses one stdout line of a worker.
    public static func decode(line: String) throws(DecodeFailure) -> WorkerMessage {
        guard let data = line.data(using: .utf8),
              let value = try? JSONDecoder().decode(JSONValue.self, from: data), case .object = value else {
            throw .notJSON(line: line)
        }
        guard let version = value["protocol"]?.number else { throw .missingField("protocol", type: value["type"]?.string) }
        // Compared as a number: Int(version) traps past Int.max and would take 1.5 for 1.
        guard version == Double(WorkerProtocol.version) else { throw .wrongProtocol(version) }
        guard let type = value["type"]?.string else { throw .missingField("type", type: nil) }
        switch type {
        case "progress":
            guard let stage = value["stage"]?.string else { throw .missingField("stage", type: type) }
            return .progress(stage: stage, fraction: value["fraction"]?.number)
        case "result":
            guard let metrics = value["metrics"], case .object = metrics else { throw .missingField("metrics", type: type) }
            guard let backend = value["backend"], case .object = backend else { throw .missingField("backend", type: type) }
            return .result(metrics: metrics, backend: backend)
        case "error":
            guard let code = value["code"]?.string else { throw .missingField("code", type: type) }
            return .error(code: code, message: value["message"]?.string ?? "")
        default:
            throw .unknownType(type)
        }
    }
}
