import Foundation

/// What a weight matrix does in a transformer block, as `models sensitivity --by kind` groups
/// them and the report's heat map lays them out (one column each).
public enum TensorKind: String, Sendable, Codable, CaseIterable, Comparable {
    case attentionQ = "attn_q", attentionK = "attn_k", attentionV = "attn_v", attentionOutput = "attn_o"
    case ffnGate = "ffn_gate", ffnUp = "ffn_up", ffnDown = "ffn_down"
    case embedding, output

    /// The kind of a tensor by its GGUF name; nil for tensors no kind covers (norms, biases,
    /// fused projections).
    public init?(tensorName name: String) {
        switch name {
        case "token_embd.weight": self = .embedding
        case "output.weight": self = .output
        default:
            guard name.hasPrefix("blk."), name.hasSuffix(".weight") else { return nil }
            if name.hasSuffix(".attn_q.weight") { self = .attentionQ }
            else if name.hasSuffix(".attn_k.weight") { self = .attentionK }
            else if name.hasSuffix(".attn_v.weight") { self = .attentionV }
            else if name.hasSuffix(".attn_output.weight") { self = .attentionOutput }
            else if name.hasSuffix(".ffn_gate.weight") { self = .ffnGate }
            else if name.hasSuffix(".ffn_up.weight") { self = .ffnUp }
            else if name.hasSuffix(".ffn_down.weight") { self = .ffnDown }
            else { return nil }
        }
    }

    /// The block a tensor belongs to (`blk.N.`), nil outside blocks.
    public static func layer(of name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        return Int(name.dropFirst(4).prefix { $0.isNumber })
    }

    public static func < (a: TensorKind, b: TensorKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// How `models sensitivity` groups tensors: each alone, a block's matrices together, or every
/// tensor of one kind together.
public enum SensitivityGrouping: String, Sendable, Codable, CaseIterable {
    case tensor, layer, kind
}

/// The document `models sensitivity --save FILE.json` writes and `models mix --sensitivity` and
/// `report --sensitivity` read (schema `slmbench.sensitivity/1`): for each unit (a tensor, a
/// layer or a kind) and each type, the model's loss with only that unit quantized to the type
/// and every other tensor kept in F32, against the all-F32 model.
public struct SensitivityReport: Codable, Sendable, Equatable {
    public static let schemaName = "slmbench.sensitivity/1"

    /// One tensor of a unit, in the type it was quantized to.
    public struct TensorPart: Codable, Sendable, Equatable {
        public var name: String
        /// The type used: the requested type, or its fallback when rows are not whole blocks of it.
        public var type: String
        public var parameters: Int
        /// Bytes of the tensor in `type`.
        public var bytes: Int
        public init(name: String, type: String, parameters: Int, bytes: Int) {
            self.name = name; self.type = type; self.parameters = parameters; self.bytes = bytes
        }
    }

    /// One unit quantized to one type.
    public struct Entry: Codable, Sendable, Equatable {
        /// The tensor's name, `layer N`, or the kind's name (`attn_v`).
        public var unit: String
        /// The block, when the unit lies in one (nil for the embedding, the output head and kinds).
        public var layer: Int?
        /// The kind, when the unit is of one kind (nil for a layer).
        public var kind: TensorKind?
        /// The requested type.
        public var type: String
        public var tensors: [TensorPart]
        /// Mean KL(F32 ‖ this) over the scored positions, in nats: with the baseline at zero, the
        /// unit's ΔKLD.
        public var meanKLD: Double
        /// Perplexity minus the F32 model's.
        public var deltaPerplexity: Double
        /// Share of scored positions whose most likely token is the F32 model's (0–1).
        public var top1Agreement: Double
        /// `gptq` when the unit's matrices were quantized by GPTQ on the report's `calibration`
        /// text (`models sensitivity --method gptq`); nil (absent in older files): the round trip
        /// the report's `method` describes.
        public var quantMethod: String?
        /// The sample the figure was measured on (`text, chunks × context, N positions`), set when
        /// files measured on different samples were merged; nil: the report's own.
        public var sample: String?
        public init(unit: String, layer: Int?, kind: TensorKind?, type: String, tensors: [TensorPart],
                    meanKLD: Double, deltaPerplexity: Double, top1Agreement: Double, quantMethod: String? = nil, sample: String? = nil) {
            self.unit = unit; self.layer = layer; self.kind = kind; self.type = type; self.tensors = tensors
            self.meanKLD = meanKLD; self.deltaPerplexity = deltaPerplexity; self.top1Agreement = top1Agreement
            self.quantMethod = quantMethod; self.sample = sample
        }

        /// The method of the figure: `gptq`, or `rtn` for a round trip (weighted or not).
        public var method: String { quantMethod ?? "rtn" }
    }

    public var schema = Self.schemaName
    /// The model's file name, and the SHA-256 of its content.
    public var model: String
    public var modelSHA256: String
    public var grouping: SensitivityGrouping
    /// Whether the output head is the embedding (tied): its `embedding` entry then covers both uses.
    public var tiedOutput: Bool
    public var corpus: String
    public var context: Int
    public var chunks: Int
    public var scoredPositions: Int
    /// The all-F32 model's perplexity on the scored positions.
    public var baselinePerplexity: Double
    /// How each figure was obtained, in one sentence.
    public var method: String
    /// Set when the source weights were already quantized (see `QualityEvaluation.Report`).
    public var sourceWeightsCaveat: String?
    /// The importance matrix (its file name) each unit's scale search was weighted by, for the
    /// types whose search takes one; nil (absent in older files): round to nearest.
    public var importance: String?
    /// The calibration text (its file name) GPTQ's Hessians came from, for the entries measured
    /// by GPTQ; nil when none was.
    public var calibration: String?
    public var entries: [SensitivityReport.Entry]
    /// Set by `merged` when the files were measured on different samples: which units came from
    /// which. Nil in a measured file.
    public var sampleNote: String?

    public init(model: String, modelSHA256: String, grouping: SensitivityGrouping, tiedOutput: Bool, corpus: String,
                context: Int, chunks: Int, scoredPositions: Int, baselinePerplexity: Double, method: String,
                sourceWeightsCaveat: String?, importance: String? = nil, calibration: String? = nil, entries: [SensitivityReport.Entry]) {
        self.importance = importance; self.calibration = calibration
        self.model = model; self.modelSHA256 = modelSHA256; self.grouping = grouping; self.tiedOutput = tiedOutput
        self.corpus = corpus; self.context = context; self.chunks = chunks; self.scoredPositions = scoredPositions
        self.baselinePerplexity = baselinePerplexity; self.method = method
        self.sourceWeightsCaveat = sourceWeightsCaveat; self.entries = entries
    }

    /// The requested types, in the order first measured.
    public var types: [String] {
        var seen: [String] = []
        for e in entries where !seen.contains(e.type) { seen.append(e.type) }
        return seen
    }

    /// Entries of one type, most damaging first.
    public func ranked(type: String) -> [Entry] {
        entries.filter { $0.type == type }.sorted { ($0.meanKLD, $1.unit) > ($1.meanKLD, $0.unit) }
    }

    /// Reads a saved report; every error names the file.
    public static func load(path: String) throws(MixError) -> SensitivityReport {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MixError("\(path): cannot read the sensitivity file")
        }
        let report: SensitivityReport
        do { report = try JSONDecoder().decode(SensitivityReport.self, from: data) } catch {
            throw MixError("\(path): not a sensitivity document (\(SensitivityReport.schemaName)): \(Self.describe(error))")
        }
        guard report.schema == schemaName else {
            throw MixError("\(path): schema '\(report.schema)' is not \(schemaName)")
        }
        for e in report.entries where !e.meanKLD.isFinite || e.meanKLD < 0 {
            throw MixError("\(path): entry '\(e.unit)' (\(e.type)) has meanKLD \(e.meanKLD); it must be a finite number ≥ 0")
        }
        return report
    }

    /// The sample a report's figures were measured on, in words.
    public var sampleDescription: String {
        "\(corpus), \(chunks) × \(context) tokens, \(scoredPositions) positions"
    }

    /// Several saved reports as one (`models mix --sensitivity A --sensitivity B`). They must be of
    /// the same model content, grouping and importance matrix, and GPTQ rows of one calibration
    /// text. Files measured on one sample (text, chunks, context) add their entries, and a type
    /// measured twice by one method is refused. Files measured on different samples merge unit by
    /// unit: a unit (a tensor, layer or kind) that more than one sample measures takes all its rows
    /// from the sample with the most scored positions — so a few tensors measured again on a larger
    /// sample replace their figures from a small one — and `sampleNote` says which units came
    /// from where; two samples of as many positions measuring one unit are refused. Each entry
    /// then names its sample. `names` name the files in errors.
    public static func merged(_ reports: [SensitivityReport], names: [String]) throws(MixError) -> SensitivityReport {
        guard let first = reports.first else { throw MixError("--sensitivity: no file given") }
        func name(_ i: Int) -> String { i < names.count ? names[i] : "file \(i + 1)" }
        func sampleKey(_ r: SensitivityReport) -> String { "\(r.corpus)\u{0}\(r.chunks)\u{0}\(r.context)" }
        // A type may come once per method and sample: round trips from one file, GPTQ's from another.
        func measured(_ r: SensitivityReport) -> [String] {
            var out: [String] = []
            for e in r.entries where !out.contains("\(e.type) by \(e.method)") { out.append("\(e.type) by \(e.method)") }
            return out
        }
        var seen: [String: String] = [:] // sample + "type by method" → file
        var calibration: String?, calibrationFile = ""
        for (index, other) in reports.enumerated() {
            let mismatches: [(String, Bool)] = [
                ("model content (SHA-256)", other.modelSHA256 != first.modelSHA256), ("grouping", other.grouping != first.grouping),
                ("importance matrix", other.importance != first.importance),
            ]
            if let field = mismatches.first(where: \.1)?.0 {
                throw MixError("\(name(index)): its \(field) differs from \(name(0))'s; sensitivities are merged only when measured the same way")
            }
            if let b = other.calibration {
                if let a = calibration, a != b {
                    throw MixError("\(name(index)): its GPTQ rows are calibrated on \(b), \(calibrationFile)'s on \(a); merge GPTQ rows of one calibration text")
                }
                calibration = b; calibrationFile = name(index)
            }
            for type in measured(other) {
                let key = sampleKey(other) + "\u{0}" + type
                if let earlier = seen[key] { throw MixError("\(name(index)): \(type) is also measured in \(earlier); give each type once per method") }
                seen[key] = name(index)
            }
        }
        var merged = first
        merged.calibration = calibration
        let samples = Array(Set(reports.map(sampleKey)))
        guard samples.count > 1 else {
            merged.entries = reports.flatMap(\.entries)
            return merged
        }
        // Per unit, the sample with the most scored positions among those that measure it.
        var best: [String: (positions: Int, key: String, file: String)] = [:]
        for (index, r) in reports.enumerated() {
            for unit in Set(r.entries.map(\.unit)) {
                if let b = best[unit], b.key != sampleKey(r) {
                    if b.positions == r.scoredPositions {
                        throw MixError("\(name(index)): \(unit) is also measured in \(b.file) on another sample of as many positions (\(b.positions)); measure it once, or on a larger sample")
                    }
                    if b.positions > r.scoredPositions { continue }
                }
                if best[unit].map({ $0.key == sampleKey(r) }) != true { best[unit] = (r.scoredPositions, sampleKey(r), name(index)) }
            }
        }
        // Per sample that supplies units some other sample also measured: those units and its files.
        var replaced: [String: (units: Set<String>, files: [String])] = [:]
        merged.entries = []
        for (index, r) in reports.enumerated() {
            let key = sampleKey(r)
            for e in r.entries where best[e.unit]?.key == key {
                var e = e
                e.sample = e.sample ?? r.sampleDescription
                merged.entries.append(e)
            }
            let others = reports.filter { sampleKey($0) != key }
            let over = Set(r.entries.map(\.unit)).filter { unit in best[unit]?.key == key && others.contains { $0.entries.contains { $0.unit == unit } } }
            if !over.isEmpty {
                replaced[r.sampleDescription, default: ([], [])].units.formUnion(over)
                replaced[r.sampleDescription]?.files.append(name(index))
            }
        }
        merged.corpus = Array(Set(reports.map(\.corpus))).sorted().joined(separator: " + ")
        merged.scoredPositions = reports.map(\.scoredPositions).min() ?? first.scoredPositions
        merged.sampleNote = "figures from \(Set(reports.map(\.sampleDescription)).count) samples, each unit's from one"
            + replaced.sorted { $0.key < $1.key }.map { sample, v in
                let units = v.units.count == 1 ? v.units.first! : "\(v.units.count) units"
                return "; \(units) from \(sample) (\(v.files.joined(separator: ", "))), over smaller samples"
            }.joined()
        return merged
    }

    public func write(to path: String) throws(MixError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { try encoder.encode(self).write(to: URL(fileURLWithPath: path)) } catch {
            throw MixError("\(path): cannot write the sensitivity file (\(error.localizedDescription))")
        }
    }

    static func describe(_ error: Error) -> String {
        switch error as? DecodingError {
        case let .keyNotFound(key, context)?:
            return "missing field '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case let .typeMismatch(_, context)?, let .valueNotFound(_, context)?, let .dataCorrupted(context)?:
            return "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}
