import Foundation
import GRDB
import Measures

/// One stored outcome: a measured run, a drift reference run, or a quality evaluation. The
/// journal holds these as JSON lines; the database holds the same rows with indexed columns.
/// `record` is the full outcome as its producer encoded it (raw samples included) and is kept
/// byte for byte.
public struct StoredRun: Codable, Sendable, Equatable {
    public var sweepId: String
    /// Identity within the sweep: the configuration's key (or `ref:…`, `quality:…`).
    public var key: String
    public var kind: EntryKind
    /// Position in the sweep's plan (references and quality get their own positions).
    public var seq: Int
    public var status: RunStatus
    public var reason: String?
    public var config: RunConfig
    /// Primary throughput (decode t/s when the run generates, else prefill t/s): mean, sd, samples.
    public var avgTs: Double?
    public var stddevTs: Double?
    public var samplesTs: [Double]
    public var ppAvgTs: Double?
    public var tgAvgTs: Double?
    public var peakRssBytes: Int?
    public var predictedBytes: Int?
    /// Headline numbers for tables, by metric; quality entries per variant.
    public var summary: MetricValues
    /// `drift`, `high-cv`, `ci-not-reached` (see `RunFlag`); kept as strings so that a flag a
    /// newer version writes survives an older reader.
    public var flags: [String]
    public var finishedAt: String
    /// The producer's full record (JSON object), raw samples included.
    public var record: String
    /// The context block (JSON object): hardware fingerprint, OS, governor, build, commit,
    /// backend version and build, model file hash.
    public var context: String

    enum CodingKeys: String, CodingKey {
        case sweepId = "sweep_id", key, kind, seq, status, reason, config, avgTs = "avg_ts", stddevTs = "stddev_ts"
        case samplesTs = "samples_ts", ppAvgTs = "pp_avg_ts", tgAvgTs = "tg_avg_ts", peakRssBytes = "peak_rss_bytes"
        case predictedBytes = "predicted_bytes", summary, flags, finishedAt = "finished_at", record, context
    }

    public init(sweepId: String, key: String, kind: EntryKind, seq: Int, status: RunStatus, reason: String?, config: RunConfig,
                avgTs: Double?, stddevTs: Double?, samplesTs: [Double], ppAvgTs: Double?, tgAvgTs: Double?,
                peakRssBytes: Int?, predictedBytes: Int?, summary: MetricValues = MetricValues(), flags: [String], finishedAt: String,
                record: String, context: String) {
        self.sweepId = sweepId; self.key = key; self.kind = kind; self.seq = seq; self.status = status; self.reason = reason
        self.config = config; self.avgTs = avgTs; self.stddevTs = stddevTs; self.samplesTs = samplesTs; self.ppAvgTs = ppAvgTs
        self.tgAvgTs = tgAvgTs; self.peakRssBytes = peakRssBytes; self.predictedBytes = predictedBytes; self.summary = summary; self.flags = flags
        self.finishedAt = finishedAt; self.record = record; self.context = context
    }
}

/// A run's configuration as stored and queried. Names follow llama-bench where the meaning is the same.
public struct RunConfig: Codable, Sendable, Equatable, Hashable {
    public var model: String
    public var modelType: String
    public var backend: String
    public var nThreads: Int
    /// Sequences decoded together (llama-bench has no such field; its n_batch is something else).
    public var nSeq: Int
    public var nPrompt: Int
    public var nGen: Int
    public var nDepth: Int
    public var kvType: String
    public var placement: String
    public var cpus: [Int]
    public var modelSize: Int?
    public var modelNParams: Int?
    public var synthetic: Bool
    /// How the weights were quantized (`imatrix`, `awq`, `gptq`, `smoothquant`); nil: round to
    /// nearest, or the file as stored. Absent from entries written before the field existed.
    public var quantMethod: String?
    /// The calibration text a calibrated method read (its source, as `Corpus` names it).
    public var calibration: String?

    enum CodingKeys: String, CodingKey {
        case model, modelType = "model_type", backend, nThreads = "n_threads", nSeq = "n_seq", nPrompt = "n_prompt", nGen = "n_gen"
        case nDepth = "n_depth", kvType = "kv_type", placement, cpus, modelSize = "model_size", modelNParams = "model_n_params", synthetic
        case quantMethod = "quant_method", calibration
    }

    public init(model: String, modelType: String, backend: String, nThreads: Int, nSeq: Int, nPrompt: Int, nGen: Int,
                nDepth: Int, kvType: String, placement: String, cpus: [Int], modelSize: Int?, modelNParams: Int?, synthetic: Bool,
                quantMethod: String? = nil, calibration: String? = nil) {
        self.model = model; self.modelType = modelType; self.backend = backend; self.nThreads = nThreads; self.nSeq = nSeq
        self.nPrompt = nPrompt; self.nGen = nGen; self.nDepth = nDepth; self.kvType = kvType; self.placement = placement
        self.cpus = cpus; self.modelSize = modelSize; self.modelNParams = modelNParams; self.synthetic = synthetic
        self.quantMethod = quantMethod; self.calibration = calibration
    }

    /// The method's name for tables and charts: `rtn` when none is recorded.
    public var method: String { quantMethod ?? "rtn" }
}

/// A sweep's header: what was run, from which spec, where.
public struct SweepHeader: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var specFile: String
    public var specDigest: String
    public var specText: String
    /// `i/n` for one shard of a sweep, nil for the whole plan.
    public var shard: String?
    public var startedAt: String
    public var hostname: String
    public var fingerprint: String
    /// Planned entries (runs, references, quality) of this sweep or shard.
    public var planned: Int
    /// The spec's `reference.drift`, which reading the folder back applies (sweep.json only; nil in
    /// the database and in folders written before slmbench recorded it: `Drift.defaultThreshold`).
    public var driftThreshold: Double?

    enum CodingKeys: String, CodingKey {
        case id, name, specFile = "spec_file", specDigest = "spec_digest", specText = "spec_text", shard, startedAt = "started_at"
        case hostname, fingerprint, planned, driftThreshold = "drift_threshold"
    }

    public init(id: String, name: String, specFile: String, specDigest: String, specText: String, shard: String?,
                startedAt: String, hostname: String, fingerprint: String, planned: Int, driftThreshold: Double? = nil) {
        self.id = id; self.name = name; self.specFile = specFile; self.specDigest = specDigest; self.specText = specText
        self.shard = shard; self.startedAt = startedAt; self.hostname = hostname; self.fingerprint = fingerprint; self.planned = planned
        self.driftThreshold = driftThreshold
    }
}

public struct StoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// JSON coding shared by the journal and the database. Keys are spelled out (snake_case) by
/// each type, so free-form maps such as `summary` keep their keys exactly.
public enum StoreJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    public static func decoder() -> JSONDecoder { JSONDecoder() }
}

extension StoredRun {
    /// The known quality flags this run carries.
    public var runFlags: [RunFlag] { RunFlag.known(flags) }

    /// A field of the context block's `environment` (fingerprint, governor, build_configuration, …), as text.
    public func environment(_ field: String) -> String? {
        guard let context = try? JSONSerialization.jsonObject(with: Data(self.context.utf8)) as? [String: Any],
              let environment = context["environment"] as? [String: Any], let value = environment[field] else { return nil }
        return "\(value)"
    }
}
