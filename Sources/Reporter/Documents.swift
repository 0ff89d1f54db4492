import DeviceProbe
import Foundation
import Measures
import ResultStore

// The JSON documents the commands print with --json. Each is Codable-encoded with snake_case
// keys, sorted, pretty-printed (`JSONDocument.encode`); a value that is unknown is written as
// null rather than left out, so every document of a schema has the same keys.

/// An optional written as `null` when it is nil (a plain optional would be left out).
@propertyWrapper
public struct Null<Value: Encodable & Sendable>: Encodable, Sendable {
    public var wrappedValue: Value?
    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let wrappedValue { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }
}

public enum JSONDocument {
    /// The document as printed: snake_case keys, sorted, pretty-printed, no escaped slashes.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

/// A run's configuration as documents name it (the fields a prediction or a series depends on).
public struct ConfigDocument: Encodable, Sendable {
    public var model: String, modelType: String, backend: String
    public var nThreads: Int, nSeq: Int, nPrompt: Int, nGen: Int, nDepth: Int
    public var kvType: String

    public init(_ c: RunConfig) {
        model = c.model; modelType = c.modelType; backend = c.backend; nThreads = c.nThreads; nSeq = c.nSeq
        nPrompt = c.nPrompt; nGen = c.nGen; nDepth = c.nDepth; kvType = c.kvType
    }
}

/// `predict --json`: `slmbench.predictions/1`.
public struct PredictionsDocument: Encodable, Sendable {
    public struct Item: Encodable, Sendable {
        public var config: ConfigDocument
        @Null public var ppTs: Double?
        @Null public var tgTs: Double?
        @Null public var ttftMs: Double?
        @Null public var itlMs: Double?
        @Null public var peakRssBytes: Int?
        @Null public var tgErrorP90: Double?
        @Null public var ppErrorP90: Double?
        public var notes: [String]

        public init(_ p: Prediction) {
            config = ConfigDocument(p.config); ppTs = p.prefillTps; tgTs = p.decodeTps; ttftMs = p.ttftMs; itlMs = p.itlMs
            peakRssBytes = p.peakRssBytes; tgErrorP90 = p.decodeError; ppErrorP90 = p.prefillError; notes = p.notes
        }
    }
    public var schema = "slmbench.predictions/1"
    public var target: String
    public var fingerprint: String
    public var errorBasis: String
    public var predictions: [Item]

    public init(_ predictions: [Prediction], target: HardwareProfile, predictor: Predictor) {
        self.target = target.name; fingerprint = target.fingerprint; errorBasis = predictor.errorLabel
        self.predictions = predictions.map(Item.init)
    }
}

/// `predict --validate FILE --json`: `slmbench.validation/1`.
public struct ValidationDocument: Encodable, Sendable {
    public struct Item: Encodable, Sendable {
        public var config: ConfigDocument
        public var phase: String
        public var measuredTs: Double
        @Null public var predictedTs: Double?
        @Null public var error: Double?
    }
    public var schema = "slmbench.validation/1"
    public var target: String
    @Null public var medianAbsError: Double?
    @Null public var medianAbsErrorDecode: Double?
    @Null public var medianAbsErrorPrefill: Double?
    public var rows: [Item]

    public init(_ v: PredictionValidation) {
        target = v.target
        medianAbsError = v.medianAbsError(); medianAbsErrorDecode = v.medianAbsError(.decode); medianAbsErrorPrefill = v.medianAbsError(.prefill)
        rows = v.rows.map { Item(config: ConfigDocument($0.config), phase: $0.phase.rawValue, measuredTs: $0.measured, predictedTs: $0.predicted, error: $0.error) }
    }
}

/// `predict --validate-all --json`: `slmbench.cross-device-validation/1`.
public struct CrossDeviceValidationDocument: Encodable, Sendable {
    public struct Summary: Encodable, Sendable {
        public var rows: Int
        @Null public var medianAbsError: Double?
        @Null public var p90AbsError: Double?
        init(_ s: CrossDeviceValidation.Summary) { rows = s.rows; medianAbsError = s.median; p90AbsError = s.p90 }
    }
    public struct Device: Encodable, Sendable {
        public var device: String
        public var decode: Summary
        public var prefill: Summary
    }
    public var schema = "slmbench.cross-device-validation/1"
    public var devices: [Device]
    public var decode: Summary
    public var prefill: Summary

    public init(_ v: CrossDeviceValidation) {
        devices = v.devices.map { Device(device: $0, decode: Summary(v.summary(device: $0, phase: .decode)),
                                         prefill: Summary(v.summary(device: $0, phase: .prefill))) }
        decode = Summary(v.summary(phase: .decode)); prefill = Summary(v.summary(phase: .prefill))
    }
}

/// `cost --json`: `slmbench.cost/1`.
public struct CostDocument: Encodable, Sendable {
    public struct DeviceItem: Encodable, Sendable {
        public var config: ConfigDocument
        public var kind: String
        @Null public var predictionErrorP90: Double?
        public var secondsPerRequest: Double, devices: Int, monthlyUsd: Double
        public var usdPerMillionTokens: Double, usdPerMillionTokensAtCapacity: Double
        public var ttftS: Double, itlS: Double
    }
    public struct CloudItem: Encodable, Sendable {
        public var name: String, usdPerMillionTokens: Double, monthlyUsd: Double, ttftPlusRttS: Double
        @Null public var breakEvenRequestsPerDay: Double?
        public var source: String
    }
    public struct AssumptionItem: Encodable, Sendable {
        public var name: String, value: String, source: String
    }
    public var schema = "slmbench.cost/1"
    public var device: String
    public var throughputSource: String
    public var deviceRows: [DeviceItem]
    public var cloudRows: [CloudItem]
    public var assumptions: [AssumptionItem]

    public init(_ m: CostModel, source: String) {
        device = m.device.name; throughputSource = source
        deviceRows = m.deviceRows.map { d in
            DeviceItem(config: ConfigDocument(d.run.config), kind: d.run.kind.rawValue, predictionErrorP90: d.predictionError,
                       secondsPerRequest: d.secondsPerRequest, devices: d.devices, monthlyUsd: d.monthlyUSD,
                       usdPerMillionTokens: d.perMillionTokensUSD, usdPerMillionTokensAtCapacity: d.perMillionAtCapacityUSD,
                       ttftS: d.ttftSeconds, itlS: d.itlSeconds)
        }
        cloudRows = m.cloudRows.map { c in
            CloudItem(name: c.option.name, usdPerMillionTokens: c.perMillionTokensUSD, monthlyUsd: c.monthlyUSD, ttftPlusRttS: c.ttftSeconds,
                      breakEvenRequestsPerDay: c.breakEvenRequestsPerDay, source: c.option.source)
        }
        assumptions = m.assumptions.map { AssumptionItem(name: $0.name, value: $0.value, source: $0.source) }
    }
}

/// `history --json`: `slmbench.history/1`.
public struct HistoryDocument: Encodable, Sendable {
    public struct Change: Encodable, Sendable { public var ratio: Double, p: Double }
    public struct Point: Encodable, Sendable {
        public var sweepId: String, startedAt: String, median: Double, samples: [Double]
        @Null public var changePoint: Change?
    }
    public struct Series: Encodable, Sendable {
        public var config: ConfigDocument, fingerprint: String, hostname: String, points: [Point]
    }
    public var schema = "slmbench.history/1"
    public var metric: String
    public var threshold: Double
    public var alpha: Double
    public var series: [Series]

    public init(_ h: History) {
        metric = h.metric.rawValue; threshold = h.threshold; alpha = h.alpha
        series = h.series.map { s in
            Series(config: ConfigDocument(s.config), fingerprint: s.fingerprint, hostname: s.hostname, points: s.points.map { p in
                Point(sweepId: p.sweepId, startedAt: p.startedAt, median: p.median, samples: p.samples,
                      changePoint: p.change.map { Change(ratio: $0.ratio, p: $0.p) })
            })
        }
    }
}
