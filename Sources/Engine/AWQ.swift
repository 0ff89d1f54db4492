import CKernels
import Dispatch
import Foundation
import ModelFormat

/// AWQ (Lin et al. 2023, "AWQ: Activation-aware Weight Quantization for LLM Compression and
/// Acceleration"): the weight channels that meet large activations are scaled up before
/// rounding, so they lose less to it, and the input is scaled down by the same factor.
///
/// For each group of matrices that read one input (q/k/v; gate/up; attn_output; down), from a
/// calibration run: per input channel the mean |x| over every token, and a subsample of input
/// rows (`sampleRows`, spread evenly over the calibration tokens). For α on `grid` (0, 0.05 … 1)
/// the factors are s_j = mean|x_j|^α, divided by √(max s · min s); each matrix W becomes
/// W·diag(s), rounded by its target type's own quantizer, and the α kept is the one whose
/// output error ‖X·Wᵀ − (X/s)·Q(W·diag(s))ᵀ‖² over the sampled rows is smallest (ties: the
/// smaller α; α = 0 is plain round to nearest, so the chosen error is never above it). The
/// factors are folded into the model by `ChannelScaling` (1/s into the norm, V's rows or up's
/// rows that write the input), and the scaled weights are quantized by round to nearest.
///
/// Each group's α is searched on the source weights, independently of the other groups (V's
/// and up's rows are also divided by the next group's factors, which the search of their own
/// group does not see). Calibration runs the unquantized model once.
public enum AWQ {
    /// The α values tried: 0, 0.05, …, 1 (the paper's grid of 20 steps).
    public static let grid: [Float] = (0...20).map { Float($0) / 20 }
    /// Input rows kept per group for the output error: spread evenly over the calibration tokens.
    public static let defaultSampleRows = 128

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// One group's calibration statistics.
    public struct Activations: Sendable {
        /// Per input channel, the mean |x| over every calibration token.
        public var meanAbs: [Float]
        /// Sampled input rows, `columns` floats each, row after row.
        public var rows: [Float]
        public var columns: Int
        public var rowCount: Int { columns == 0 ? 0 : rows.count / columns }

        public init(meanAbs: [Float], rows: [Float]) {
            self.meanAbs = meanAbs; self.rows = rows; columns = meanAbs.count
        }
    }

    /// What the search chose for one group.
    public struct Choice: Sendable {
        public var layer: Int
        public var kind: ChannelScaling.SharedInput.Kind
        public var alpha: Float
        public var factors: [Float]
        /// The output error over the sampled rows at α = 0 (round to nearest) and at the chosen α.
        public var roundToNearestError: Double
        public var error: Double
    }

    /// What `quantize` did.
    public struct Report: Sendable {
        public var assignment: MixAssignment
        public var plan: ChannelScaling.Plan
        public var choices: [Choice]
        public var calibrationTokens: Int
        public var chunks: Int
        public var sampleRows: Int
    }

    /// Per block matrix (keyed by weight name; matrices that share an input share the entry),
    /// the mean |x| per input channel and up to `sampleRows` input rows, spread evenly over the
    /// calibration tokens. The tokens are cut into chunks of `context`, each run from an empty
    /// cache with its first token replaced by BOS where the vocabulary adds one, as
    /// `ImportanceCollector` does; a text shorter than one chunk is one chunk.
    public static func activations(_ engine: Transformer, tokens: [Int], bos: Int?, context: Int, chunks: Int?,
                                   sampleRows: Int = defaultSampleRows,
                                   progress: (Int, Int) -> Void = { _, _ in }) throws -> (activations: [String: Activations], chunks: Int) {
        guard tokens.count >= 8 else { throw Failure("the calibration text is \(tokens.count) tokens; AWQ needs at least 8") }
        guard sampleRows >= 1 else { throw Failure("AWQ needs at least one sampled row per group, got \(sampleRows)") }
        let length = min(context, tokens.count, engine.options.context)
        let n = min(chunks ?? Int.max, tokens.count / length)
        guard n >= 1 else { throw Failure("at least one calibration chunk is needed") }
        let stride = max(1, n * length / sampleRows)
        var sums: [String: [Double]] = [:], seen: [String: Int] = [:], kept: [String: [Float]] = [:]
        var aliases: [String: String] = [:]
        let previous = engine.activationObserver
        defer { engine.activationObserver = previous }
        engine.activationObserver = { names, x, rows, columns in
            let key = names[0]
            for name in names.dropFirst() { aliases[name] = key }
            var s = sums[key] ?? [Double](repeating: 0, count: columns)
            var sample = kept[key] ?? []
            var index = seen[key] ?? 0
            for r in 0..<rows {
                let row = x + r * columns
                for c in 0..<columns { s[c] += Double(abs(row[c])) }
                if index % stride == 0, sample.count < sampleRows * columns {
                    sample.append(contentsOf: UnsafeBufferPointer(start: row, count: columns))
                }
                index += 1
            }
            sums[key] = s; kept[key] = sample; seen[key] = index
        }
        try engine.runCalibration(tokens: tokens, bos: bos, chunkLength: length, chunks: n, progress: progress)
        var out: [String: Activations] = [:]
        for (key, s) in sums {
            let count = Double(max(1, seen[key] ?? 0))
            out[key] = Activations(meanAbs: s.map { Float($0 / count) }, rows: kept[key] ?? [])
        }
        for (alias, key) in aliases { out[alias] = out[key] }
        return (out, n)
    }

    /// The factors for `scale` at α: mean|x|^α per factor (channels that share a factor average
    /// their means), divided by √(max · min); nil when no channel is active.
    public static func factors(meanAbs: [Float], channel: [Int], count: Int, alpha: Float) -> [Float]? {
        var sum = [Float](repeating: 0, count: count), n = [Float](repeating: 0, count: count)
        for (j, u) in channel.enumerated() { sum[u] += meanAbs[j]; n[u] += 1 }
        let mean = zip(sum, n).map { $1 > 0 ? $0 / $1 : 0 }
        guard let top = mean.max(), top > 0, top.isFinite else { return nil }
        // A channel that never fires is floored, so its factor stays finite.
        let floor = top * 1e-4
        var s = mean.map { powf(max($0, floor), alpha) }
        let norm = (s.max()! * s.min()!).squareRoot()
        guard norm > 0, norm.isFinite else { return nil }
        for u in s.indices { s[u] /= norm }
        return s
    }

    /// The output error ‖X·Wᵀ − X·(Q(W·diag(s))·diag(1/s))ᵀ‖² over the sampled rows X, summed
    /// over `matrices` (their floats, row after row, each with its target type).
    static func outputError(_ matrices: [(weights: [Float], rows: Int, type: TensorType)], columns: Int, scale: [Float],
                            samples: [Float], threads: Int) throws -> Double {
        let sampleCount = samples.count / columns
        var total = 0.0
        let level = KernelLevel.best.code
        for m in matrices {
            // A per-tensor lab type shares one range over the (scaled) matrix.
            let range: (lo: Float, hi: Float)? = {
                guard let lab = LabType(id: m.type.id), lab.isTensorWise else { return nil }
                var lo = Float.infinity, hi = -Float.infinity
                for r in 0..<m.rows { for j in 0..<columns { let v = m.weights[r * columns + j] * scale[j]; lo = min(lo, v); hi = max(hi, v) } }
                return (lo, hi)
            }()
            let rowBytes = m.type.rowBytes(columns)!
            let chunks = min(m.rows, max(1, threads * 4))
            let partial = ErrorSums(count: chunks)
            try m.weights.withUnsafeBufferPointer { w in
                try samples.withUnsafeBufferPointer { x in
                    let w = UnsafeSendable(w), x = UnsafeSendable(x)
                    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                        var y = [Float](repeating: 0, count: columns), bytes = [UInt8](repeating: 0, count: rowBytes)
                        var sum = 0.0
                        do {
                            for r in (m.rows * chunk / chunks)..<(m.rows * (chunk + 1) / chunks) {
                                let row = w.buffer.baseAddress! + r * columns
                                for j in 0..<columns { y[j] = row[j] * scale[j] }
                                try y.withUnsafeBufferPointer { src in
                                    try bytes.withUnsafeMutableBytes { dst in
                                        if let range, let lab = LabType(id: m.type.id) {
                                            try Quantization.quantizeRow(src, tensorWise: lab, range: range, into: dst)
                                        } else {
                                            try Quantization.quantize(src, to: m.type, into: dst)
                                        }
                                    }
                                }
                                try bytes.withUnsafeBytes { raw in try y.withUnsafeMutableBufferPointer { try Quantization.dequantize(raw, type: m.type, into: $0) } }
                                // y becomes Δ = W − Q(W·s)/s.
                                for j in 0..<columns { y[j] = row[j] - y[j] / scale[j] }
                                y.withUnsafeBufferPointer { delta in
                                    for i in 0..<sampleCount {
                                        let d = Double(ck_dot_f32(level, x.buffer.baseAddress! + i * columns, delta.baseAddress!, Int32(columns)))
                                        sum += d * d
                                    }
                                }
                            }
                        } catch { partial.fail(error) }
                        partial.set(chunk, sum)
                    }
                }
            }
            if let error = partial.error { throw error }
            total += partial.total
        }
        return total
    }

    /// The α on `grid` whose scaled, rounded matrices give the smallest output error over the
    /// sampled input rows, and its factors; nil when the input has no sampled rows or no active
    /// channel, or no matrix of the group is rounded (F32/F16 targets).
    public static func search(_ input: ChannelScaling.SharedInput, activations: Activations, types: [TensorType?],
                              grid: [Float] = grid, threads: Int = 1) throws -> Choice? {
        let columns = input.channel.count
        guard activations.columns == columns, activations.rowCount > 0 else { return nil }
        var matrices: [(weights: [Float], rows: Int, type: TensorType)] = []
        for (w, type) in zip(input.matrices, types) {
            guard let type, ![TensorType.f32, .f16, .bf16].contains(type), w.columns == columns else { continue }
            var floats = [Float](repeating: 0, count: w.rows * columns)
            floats.withUnsafeMutableBufferPointer { buffer in
                for r in 0..<w.rows { w.fastDequantizedRow(r, into: UnsafeMutableBufferPointer(rebasing: buffer[(r * columns)..<((r + 1) * columns)])) }
            }
            matrices.append((floats, w.rows, type))
        }
        guard !matrices.isEmpty else { return nil }
        var best: Choice?
        var roundToNearest = Double.nan
        for alpha in grid {
            guard let s = factors(meanAbs: activations.meanAbs, channel: input.channel, count: input.factorCount, alpha: alpha) else { return nil }
            let error = try outputError(matrices, columns: columns, scale: input.expand(s), samples: activations.rows, threads: threads)
            if alpha == 0 { roundToNearest = error }
            if best == nil || error < best!.error {
                best = Choice(layer: input.layer, kind: input.kind, alpha: alpha, factors: s, roundToNearestError: roundToNearest, error: error)
            }
        }
        best?.roundToNearestError = roundToNearest
        return best
    }

    /// Scales `source` by AWQ with activations from `calibrationTokens` and writes it to `output`
    /// in the types `mix` assigns (round to nearest on the scaled weights): the library entry point
    /// of `models quantize --method awq` (and of a sweep's `quant_method: awq`). The file records
    /// `slmbench.quant.method` = awq, the calibration text's name and token count, and per group
    /// the α chosen (`slmbench.quant.awq.groups`, `slmbench.quant.awq.alphas`, their mean
    /// `slmbench.quant.awq.alpha_mean`, and `slmbench.quant.awq.sample_rows`).
    public static func quantize(source: URL, mix: QuantMix, output: String, calibrationTokens: [Int], calibration: String,
                                context: Int = 512, chunks: Int? = nil, threads: Int = 1, sampleRows: Int = defaultSampleRows,
                                progress: (String) -> Void = { _ in }) throws -> Report {
        guard context >= 8 else { throw Failure("the calibration context must be at least 8 tokens, got \(context)") }
        let weights = try ModelWeights(path: source.path)
        let engine = try Transformer(weights: weights, options: EngineOptions(threads: threads, context: context, batchTokens: min(context, 512)))
        let tokenizer = try Tokenizer(file: weights.file)
        let (activations, n) = try Self.activations(engine, tokens: calibrationTokens, bos: tokenizer.addBOS ? tokenizer.bos : nil,
                                                    context: context, chunks: chunks, sampleRows: sampleRows) { done, all in
            progress("awq: calibration chunk \(done)/\(all)")
        }
        let assignment = mix.assign(MixModel(file: weights.file))
        func type(_ w: WeightMatrix) -> TensorType? {
            let name = ImportanceCollector.tensorName(w.name)
            return assignment.kept.contains(name) ? nil : assignment.types[name]
        }
        var choices: [Choice] = []
        let plan = try ChannelScaling.plan(weights: weights) { input in
            guard let x = activations[input.matrices[0].name],
                  let choice = try search(input, activations: x, types: input.matrices.map(type), threads: threads) else { return nil }
            choices.append(choice)
            let ratio = choice.roundToNearestError > 0 ? choice.error / choice.roundToNearestError : 1
            progress("awq: blk.\(choice.layer) \(choice.kind.rawValue): α \(String(format: "%.2f", choice.alpha)), output error \(String(format: "%.3f", ratio))× round to nearest's")
            return choice.factors
        }
        let alphas = choices.map(\.alpha)
        let mean = alphas.isEmpty ? 0 : alphas.reduce(0, +) / Float(alphas.count)
        progress("awq: \(plan.scaled.count) matrices scaled, mean α \(String(format: "%.2f", mean)), \(plan.skipped.count) groups left as they are")
        let metadata: [(key: String, value: GGUFValue)] = [
            (ModelQuantizer.methodKey, .string(QuantMethod.awq.rawValue)),
            (ModelQuantizer.calibrationKey, .string(calibration)),
            (ModelQuantizer.calibrationTokensKey, .uint32(UInt32(clamping: min(calibrationTokens.count, n * min(context, calibrationTokens.count))))),
            ("slmbench.quant.awq.groups", .array(.string(choices.map { "blk.\($0.layer) \($0.kind.rawValue)" }))),
            ("slmbench.quant.awq.alphas", .array(.float32(alphas))),
            ("slmbench.quant.awq.alpha_mean", .float32(mean)),
            ("slmbench.quant.awq.sample_rows", .uint32(UInt32(clamping: sampleRows))),
        ]
        let written = try ModelQuantizer.quantize(weights.file, mix: mix, output: output, edits: plan.edits, metadata: metadata, progress: progress)
        return Report(assignment: written, plan: plan, choices: choices, calibrationTokens: calibrationTokens.count, chunks: n, sampleRows: sampleRows)
    }
}

/// A buffer handed to `concurrentPerform`'s workers, which only read it.
private struct UnsafeSendable: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<Float>
    init(_ buffer: UnsafeBufferPointer<Float>) { self.buffer = buffer }
}

/// Per-chunk sums (and the first failure) from `concurrentPerform`'s workers.
private final class ErrorSums: @unchecked Sendable {
    private let lock = NSLock()
    private var sums: [Double]
    private var failure: Error?
    init(count: Int) { sums = Array(repeating: 0, count: count) }
    func set(_ chunk: Int, _ value: Double) { lock.lock(); sums[chunk] = value; lock.unlock() }
    func fail(_ error: Error) { lock.lock(); if failure == nil { failure = error }; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return failure }
    /// Summed in chunk order, so the total does not depend on which worker finished first.
    var total: Double { lock.lock(); defer { lock.unlock() }; return sums.reduce(0, +) }
}
