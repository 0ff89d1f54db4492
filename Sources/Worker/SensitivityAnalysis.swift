import Backends
import Engine
import Foundation
import ModelFormat

/// How much each part of a model loses when only that part is quantized (`models sensitivity`).
///
/// The F32 conversion of the weights is loaded once into memory and run on the native engine;
/// its log-probabilities over the scored positions (the second half of each chunk, as `quality`
/// scores) are computed once. For each unit and type, the unit's tensors are overwritten in
/// place with their quantize → dequantize round trip (still F32 numbers, each on the type's
/// grid), the chunks are run again, and the tensors are restored. No file is written per unit.
/// What this leaves out: a quantized matrix's kernel also rounds its activations to 8 bits
/// (q8_0/q8_1/q8_K); here activations stay F32, so the figures are the weights' loss alone.
public struct SensitivityAnalysis {
    /// A set of tensors quantized together.
    public struct Unit: Sendable, Equatable {
        public var name: String
        public var layer: Int?
        public var kind: TensorKind?
        public var tensors: [String]
        public init(name: String, layer: Int?, kind: TensorKind?, tensors: [String]) {
            self.name = name; self.layer = layer; self.kind = kind; self.tensors = tensors
        }
    }

    public static let method = "each unit alone quantized to the type and dequantized back (the round trip overwrites its F32 values in memory; every other tensor F32), run on the native engine with F32 activations; mean KL(F32 ‖ unit quantized) over the scored positions; the F32 logits computed once"

    public var context: Int
    public var chunks: Int
    public var threads: Int
    /// Weights each round trip's scale search by this importance matrix (for the types whose
    /// search takes one, as `models quantize --imatrix` does); `importanceName` is recorded.
    public var importance: ImportanceMatrix?
    public var importanceName: String?
    /// Only the units with a tensor whose name this regular expression finds (`--tensors`), to
    /// measure a type for the few tensors it is meant for (the embedding's wider types).
    public var tensorPattern: String?
    /// GPTQ instead of round trips (`--method gptq`): each unit's matrices of a type GPTQ fills are
    /// quantized by GPTQ against the Hessians of `calibration` (the head's input too, for the
    /// embedding of a tied head), then dequantized into the F32 model as a round trip is.
    public var gptq: GPTQSetting?

    /// What `models sensitivity --method gptq` quantizes with.
    public struct GPTQSetting: Sendable {
        public var calibration: String
        public var options: GPTQ.Options
        /// Where the Hessians are kept between runs (`CalibratedQuantizer.collectHessians`).
        public var hessianCache: URL?
        public init(calibration: String, options: GPTQ.Options = GPTQ.Options(), hessianCache: URL? = nil) {
            self.calibration = calibration; self.options = options; self.hessianCache = hessianCache
        }
    }

    public init(context: Int = 512, chunks: Int = 2, threads: Int = 1, importance: ImportanceMatrix? = nil, importanceName: String? = nil) {
        self.context = context; self.chunks = chunks; self.threads = threads
        self.importance = importance; self.importanceName = importanceName
    }

    /// The units of a model's quantizable matrices under `grouping` (kinds in `TensorKind`'s
    /// order; with a tied output head the `embedding` unit is also the head).
    public static func units(of file: GGUFFile, by grouping: SensitivityGrouping) -> [Unit] {
        let matrices = file.tensors.filter { $0.shape.count > 1 && TensorKind(tensorName: $0.name) != nil }.map(\.name)
        switch grouping {
        case .tensor:
            return matrices.map { Unit(name: $0, layer: TensorKind.layer(of: $0), kind: TensorKind(tensorName: $0), tensors: [$0]) }
        case .layer:
            var units: [Unit] = []
            for name in matrices where TensorKind.layer(of: name) == nil {
                units.append(Unit(name: name, layer: nil, kind: TensorKind(tensorName: name), tensors: [name]))
            }
            let layers = Dictionary(grouping: matrices.filter { TensorKind.layer(of: $0) != nil }, by: { TensorKind.layer(of: $0)! })
            for layer in layers.keys.sorted() {
                units.append(Unit(name: "layer \(layer)", layer: layer, kind: nil, tensors: layers[layer]!))
            }
            return units
        case .kind:
            let kinds = Dictionary(grouping: matrices, by: { TensorKind(tensorName: $0)! })
            return kinds.keys.sorted().map { Unit(name: $0.rawValue, layer: nil, kind: $0, tensors: kinds[$0]!) }
        }
    }

    /// The measured entries (one per unit and type, in that order) and the F32 perplexity.
    /// `f32Path` is a file whose matrices are all F32 (the quantizer's F32 conversion).
    /// `hessians`: GPTQ's, for the units' matrices to be quantized by GPTQ (`gptq`) rather than
    /// rounded to nearest.
    public func run(f32Path: String, tokens: [Int32], units: [Unit], types: [TensorType], hessians: HessianSet? = nil,
                    progress: (String) -> Void = { _ in }) throws(QualityError) -> (entries: [SensitivityReport.Entry], perplexity: Double, scored: Int) {
        guard context >= 16, context <= QualityEvaluation.maxContext else {
            throw .badSetting("--context must be 16 to \(QualityEvaluation.maxContext) tokens, got \(context)")
        }
        guard chunks >= 1 else { throw .badSetting("--chunks must be at least 1, got \(chunks)") }
        guard tokens.count >= context else { throw .tooShort(tokens: tokens.count, needed: context) }
        guard let data = FileManager.default.contents(atPath: f32Path) else { throw .badSetting("\(f32Path): cannot read the F32 model") }
        // In memory, so that a tensor's values can be overwritten for a unit and put back.
        let file: GGUFFile, engine: Transformer
        do {
            file = try GGUFFile(bytes: [UInt8](data), name: f32Path)
            engine = try Transformer(weights: try ModelWeights(file: file),
                                     options: EngineOptions(threads: threads, context: context, batchTokens: context))
        } catch { throw .badSetting("\(f32Path): \(error)") }
        for unit in units {
            for name in unit.tensors {
                guard let t = file.tensor(named: name) else { throw .badSetting("\(f32Path): no tensor '\(name)'") }
                guard t.type == .f32 else { throw .badSetting("\(f32Path): '\(name)' is \(t.type.name); sensitivity needs the F32 conversion") }
            }
        }
        let vocabulary = engine.config.vocabulary
        if let outside = tokens.first(where: { $0 < 0 || Int($0) >= vocabulary }) { throw .tokenOutOfRange(token: outside, vocabulary: vocabulary) }
        let chunkCount = min(chunks, tokens.count / context)
        let first = context / 2, perChunk = context - 1 - first
        let scored = chunkCount * perChunk

        // The F32 model's log-probabilities at every scored position, once.
        var reference = [Float](repeating: 0, count: scored * vocabulary)
        var referenceTop = [Int](repeating: 0, count: scored)
        var referenceLL = 0.0
        var lp = [Float](repeating: 0, count: vocabulary)
        for c in 0..<chunkCount {
            progress("F32 reference: chunk \(c + 1)/\(chunkCount)")
            let input = Array(tokens[(c * context)..<((c + 1) * context)])
            let rows = try forward(engine, input)
            for position in first..<(context - 1) {
                let row = c * perChunk + position - first
                referenceTop[row] = QualityEvaluation.logSoftmax(rows[position], into: &lp)
                referenceLL += Double(lp[Int(input[position + 1])])
                reference.replaceSubrange((row * vocabulary)..<((row + 1) * vocabulary), with: lp)
            }
        }
        let basePPL = exp(-referenceLL / Double(scored))

        var entries: [SensitivityReport.Entry] = []
        // A unit whose tensors all fall back to types already measured for it (Q3_K and Q2_K both
        // become Q4_0 on 576-wide rows) gets that measurement again instead of a second run.
        var measuredUsed: [String: SensitivityReport.Entry] = [:]
        var done = 0
        let started = Date()
        for type in types {
            for unit in units {
                let usedTypes = unit.tensors.map { name in
                    ModelQuantizer.effectiveType(type, rowLength: file.tensor(named: name)!.rowLength).name.lowercased()
                }
                let usedKey = unit.name + "|" + usedTypes.joined(separator: ",")
                if var same = measuredUsed[usedKey] {
                    same.type = type.name.lowercased()
                    entries.append(same)
                    done += 1
                    continue
                }
                var parts: [SensitivityReport.TensorPart] = []
                var byGPTQ = false
                var saved: [(UnsafeMutableRawBufferPointer, [UInt8])] = []
                defer { for (buffer, bytes) in saved { bytes.withUnsafeBytes { buffer.copyMemory(from: $0) } } }
                for name in unit.tensors {
                    let t = file.tensor(named: name)!
                    let used = ModelQuantizer.effectiveType(type, rowLength: t.rowLength)
                    let bytes = (used.rowBytes(t.rowLength) ?? 4 * t.rowLength) * t.rowCount
                    parts.append(.init(name: name, type: used.name.lowercased(), parameters: t.elementCount, bytes: bytes))
                    guard used != .f32 else { continue }
                    // The loaded engine reads these bytes: the file was copied into writable memory above.
                    let buffer = UnsafeMutableRawBufferPointer(mutating: file.data(for: t))
                    saved.append((buffer, Array(buffer)))
                    do {
                        if let hessian = hessians?.hessian(for: name), GPTQ.canFill(used) {
                            try Self.gptqRoundTrip(buffer, rows: t.rowCount, rowLength: t.rowLength, type: used, hessian: hessian,
                                                   tensor: name, options: gptq?.options ?? GPTQ.Options())
                            byGPTQ = true
                        } else {
                            let weights = Quantization.usesImportance(used) ? try importance?.weights(for: name, channels: t.rowLength) : nil
                            try Self.roundTrip(buffer, rows: t.rowCount, rowLength: t.rowLength, type: used, importance: weights)
                        }
                    } catch { throw .badSetting("\(name) in \(used.name): \(error)") }
                }
                // A round trip that gave back every value bit for bit (Q4_1 on Q4_1 source rows,
                // Q8_0 on Q8_0 ones) leaves the model as it was: the deterministic forward pass
                // would give the reference itself, so the figures are exact without it.
                if saved.allSatisfy({ buffer, bytes in bytes.withUnsafeBytes { memcmp($0.baseAddress!, buffer.baseAddress!, bytes.count) == 0 } }) {
                    entries.append(.init(unit: unit.name, layer: unit.layer, kind: unit.kind, type: type.name.lowercased(), tensors: parts,
                                         meanKLD: 0, deltaPerplexity: 0, top1Agreement: 1, quantMethod: byGPTQ ? QuantMethod.gptq.rawValue : nil))
                    measuredUsed[usedKey] = entries.last
                    done += 1
                    continue
                }
                var kl = 0.0, ll = 0.0, agree = 0
                for c in 0..<chunkCount {
                    let input = Array(tokens[(c * context)..<((c + 1) * context)])
                    let rows = try forward(engine, input)
                    for position in first..<(context - 1) {
                        let row = c * perChunk + position - first
                        let top = QualityEvaluation.logSoftmax(rows[position], into: &lp)
                        ll += Double(lp[Int(input[position + 1])])
                        if top == referenceTop[row] { agree += 1 }
                        var d = 0.0
                        reference.withUnsafeBufferPointer { ref in
                            let base = row * vocabulary
                            for j in 0..<vocabulary {
                                let p = ref[base + j]
                                d += Double(exp(p)) * Double(p - lp[j])
                            }
                        }
                        kl += max(0, d)
                    }
                }
                let ppl = exp(-ll / Double(scored))
                entries.append(.init(unit: unit.name, layer: unit.layer, kind: unit.kind, type: type.name.lowercased(), tensors: parts,
                                     meanKLD: kl / Double(scored), deltaPerplexity: ppl - basePPL, top1Agreement: Double(agree) / Double(scored),
                                     quantMethod: byGPTQ ? QuantMethod.gptq.rawValue : nil))
                measuredUsed[usedKey] = entries.last
                done += 1
                let total = types.count * units.count
                let left = Date().timeIntervalSince(started) / Double(done) * Double(total - done)
                progress("\(done)/\(total) \(unit.name) \(type.name.lowercased()): mean KLD " + String(format: "%.6f (about %.0f s left)", kl / Double(scored), left))
            }
        }
        return (entries, basePPL, scored)
    }

    /// The whole measurement as `models sensitivity` and `models mix` run it: `source`'s F32
    /// conversion (made once in `cache`), the calibration text (`corpusPath`, default
    /// `Corpus.calibrationPath`) encoded by the model's tokenizer, every unit of `grouping` in
    /// every type. Errors are one sentence naming the file or flag.
    public func report(source: String, types: [TensorType], grouping: SensitivityGrouping, corpusPath: String?,
                       cache: ModelCache, progress: @escaping (String) -> Void = { _ in }) throws -> SensitivityReport {
        let url = URL(fileURLWithPath: source)
        let sourceFile = try GGUFFile(path: source)
        let corpus = try Corpus.loadCalibration(corpusPath, flag: "--corpus")
        let f32 = try ModelQuantizer.ensure(source: url, type: .f32, cache: cache, progress: progress)
        let tokens: [Int32]
        do { tokens = try Tokenizer(file: try GGUFFile(path: f32.path)).encode(corpus.text).map(Int32.init) } catch {
            throw QualityError.badSetting("\(source): \(error)")
        }
        var units = Self.units(of: sourceFile, by: grouping)
        guard !units.isEmpty else { throw QualityError.badSetting("\(source): no weight matrices of a kind sensitivity knows (attn_q/k/v/o, ffn_gate/up/down, embedding, output)") }
        if let tensorPattern {
            units = try Self.units(units, matching: tensorPattern)
            guard !units.isEmpty else { throw QualityError.badSetting("--tensors '\(tensorPattern)' finds no weight matrix of \(url.lastPathComponent)") }
        }
        var hessians: HessianSet?
        if let gptq {
            // From the source file, as `models quantize --method gptq` collects them (so the cache serves both).
            let (calibrationTokens, _, tokenizer) = try CalibratedQuantizer.calibrationTokens(file: sourceFile, calibration: gptq.calibration, method: .gptq)
            let engine = try Transformer(weights: try ModelWeights(path: source),
                                         options: EngineOptions(threads: threads, context: 512, batchTokens: 512))
            let wanted = Set(units.flatMap(\.tensors))
            let box = SensitivityProgress(call: progress)
            hessians = try CalibratedQuantizer.collectHessians(
                engine: engine, source: source, calibration: gptq.calibration, tokens: calibrationTokens, bos: tokenizer.addBOS ? tokenizer.bos : nil,
                context: 512, chunks: nil, processOutput: wanted.contains("token_embd.weight") || wanted.contains("output.weight"),
                wanted: wanted, cache: gptq.hessianCache, progress: { box.call($0) })
        }
        progress("sensitivity: \(units.count) units × \(types.count) types = \(units.count * types.count) evaluations of \(min(chunks, tokens.count / max(1, context))) chunks of \(context) tokens")
        let measured = try run(f32Path: f32.path, tokens: tokens, units: units, types: types, hessians: hessians, progress: progress)
        let name = url.lastPathComponent
        var how = Self.method
        if let gptq {
            let options = gptq.options
            let text = URL(fileURLWithPath: gptq.calibration).lastPathComponent
            how += "; matrices of types GPTQ fills quantized by GPTQ (Hessians of \(text), chunks of 512; act-order \(options.actOrder ? "on" : "off"), "
            how += "weighted range search \(options.weightedClip ? "on" : "off"), dampening \(options.dampening)) instead of rounded, those rows tagged gptq"
        }
        if let tensorPattern { how += "; only the units with a tensor matching /\(tensorPattern)/" }
        if let importanceName {
            how += "; each scale search weighted by the importance matrix \(importanceName) (round to nearest for types whose search takes none, and for tensors it has no entry for)"
        }
        return SensitivityReport(
            model: name, modelSHA256: try ModelFetcher.sha256(of: url), grouping: grouping,
            tiedOutput: sourceFile.tensor(named: "output.weight") == nil, corpus: corpus.source, context: context,
            chunks: min(chunks, tokens.count / context), scoredPositions: measured.scored, baselinePerplexity: measured.perplexity,
            method: how,
            sourceWeightsCaveat: QualityEvaluation.Report.sourceWeightsCaveat(model: name, types: sourceFile.tensors.map(\.type.name)),
            importance: importanceName, calibration: gptq.map { URL(fileURLWithPath: $0.calibration).lastPathComponent }, entries: measured.entries)
    }

    /// The units with a tensor whose name `pattern` (a regular expression, searched) finds.
    public static func units(_ units: [Unit], matching pattern: String) throws(QualityError) -> [Unit] {
        guard let regex = try? NSRegularExpression(pattern: pattern) else {
            throw .badSetting("--tensors '\(pattern)' is not a valid regular expression")
        }
        return units.filter { unit in
            unit.tensors.contains { regex.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
        }
    }

    private func forward(_ engine: Transformer, _ input: [Int32]) throws(QualityError) -> LogitRows {
        engine.clear(slot: 0)
        do { return try engine.prefill(input, slot: 0, allLogits: true) } catch {
            throw .backend("F32 model", BackendError("engine", "\(error)"))
        }
    }

    /// Replaces F32 rows in `buffer` with their GPTQ quantization to `type`, dequantized.
    static func gptqRoundTrip(_ buffer: UnsafeMutableRawBufferPointer, rows: Int, rowLength: Int, type: TensorType, hessian: Hessian,
                              tensor: String, options: GPTQ.Options) throws {
        let floats = buffer.bindMemory(to: Float.self)
        let weights = Array(floats.prefix(rows * rowLength))
        let (bytes, _) = try GPTQ.quantize(weights, rows: rows, columns: rowLength, hessian: hessian, type: type, tensor: tensor, options: options)
        guard let rowBytes = type.rowBytes(rowLength) else { throw Quantization.Failure.lengthMismatch(type: type, elements: rowLength, bytes: 0) }
        try bytes.withUnsafeBytes { raw in
            for r in 0..<rows {
                try Quantization.dequantize(UnsafeRawBufferPointer(rebasing: raw[(r * rowBytes)..<((r + 1) * rowBytes)]), type: type,
                                            into: UnsafeMutableBufferPointer(rebasing: floats[(r * rowLength)..<((r + 1) * rowLength)]))
            }
        }
    }

    /// Replaces F32 rows in `buffer` with their round trip through `type`, rows split across CPUs.
    static func roundTrip(_ buffer: UnsafeMutableRawBufferPointer, rows: Int, rowLength: Int, type: TensorType, importance: [Float]? = nil) throws {
        // `ImportanceMatrix.weights(for:channels:)` already refused a matrix of other widths.
        precondition(importance.map { $0.count == rowLength } ?? true, "importance weights do not fit rows of \(rowLength)")
        guard let rowBytes = type.rowBytes(rowLength) else { throw Quantization.Failure.lengthMismatch(type: type, elements: rowLength, bytes: 0) }
        let floats = UnsafeSendableFloats(buffer.bindMemory(to: Float.self))
        let chunks = min(rows, max(1, ProcessInfo.processInfo.activeProcessorCount * 4))
        let failure = SensitivityFailure()
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var packed = [UInt8](repeating: 0, count: rowBytes)
            for r in (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks) {
                let row = UnsafeMutableBufferPointer(rebasing: floats.buffer[(r * rowLength)..<((r + 1) * rowLength)])
                do {
                    try packed.withUnsafeMutableBytes { out in
                        if let importance {
                            try importance.withUnsafeBufferPointer { try Quantization.quantize(UnsafeBufferPointer(row), to: type, into: out, importance: $0) }
                        } else {
                            try Quantization.quantize(UnsafeBufferPointer(row), to: type, into: out)
                        }
                        try Quantization.dequantize(UnsafeRawBufferPointer(out), type: type, into: row)
                    }
                } catch { failure.set(error); return }
            }
        }
        if let error = failure.error { throw error }
    }
}

/// The caller's progress callback, called from the calibration pass on this thread only.
private struct SensitivityProgress: @unchecked Sendable {
    let call: (String) -> Void
}

private struct UnsafeSendableFloats: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Float>
    init(_ buffer: UnsafeMutableBufferPointer<Float>) { self.buffer = buffer }
}

private final class SensitivityFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    func set(_ error: Error) { lock.lock(); if stored == nil { stored = error }; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
}

extension SensitivityReport {
    /// `models sensitivity`'s table: per type, the `top` most damaging units (all when nil).
    public func markdown(top: Int?) -> String {
        let mark = sourceWeightsCaveat == nil ? "" : " †"
        var lines = [
            "sensitivity  \(model) · by \(grouping.rawValue) · corpus: \(corpus)",
            "             \(chunks) chunks of \(context) · \(scoredPositions) scored positions · F32 PPL \(String(format: "%.4f", baselinePerplexity))",
        ]
        if tiedOutput { lines.append("             the output head is the embedding (tied): the embedding's row covers both uses") }
        for type in types {
            let ranked = ranked(type: type)
            lines += ["", "\(type): \(ranked.count) units, most damaging first", "",
                      "| rank | unit | type used | parameters | mean KLD\(mark) | ΔPPL\(mark) | top-1\(mark) |", "|---:|---|---|---:|---:|---:|---:|"]
            for (index, e) in ranked.prefix(top ?? ranked.count).enumerated() {
                let used = Set(e.tensors.map(\.type)).sorted().joined(separator: "/")
                let parameters = e.tensors.reduce(0) { $0 + $1.parameters }
                lines.append("| \(index + 1) | \(e.unit) | \(used) | \(parameters) | \(String(format: "%.6f", e.meanKLD)) | \(String(format: "%+.4f", e.deltaPerplexity)) | \(String(format: "%.2f%%", e.top1Agreement * 100)) |")
            }
            if let top, ranked.count > top { lines.append("| | … \(ranked.count - top) more (--top, or --save FILE.json for all) | | | | | |") }
        }
        lines += ["", "How: \(method)."]
        if let sourceWeightsCaveat { lines += ["† \(sourceWeightsCaveat)"] }
        return lines.joined(separator: "\n")
    }
}
