import Foundation
import ModelFormat

/// SmoothQuant (Xiao et al. 2022, "SmoothQuant: Accurate and Efficient Post-Training
/// Quantization for Large Language Models"): activation outliers are migrated into the weights
/// by a per-input-channel factor s_j = max|X_j|^α / max|W_j|^(1−α), X_j ÷ s_j and W's column j
/// × s_j, which leaves X·Wᵀ unchanged; then the weights are quantized.
///
/// The division is folded into whatever writes X, where that is exact:
/// - q/k/v's input: into `attn_norm` (an RMSNorm's weights scale each channel);
/// - gate/up's input: into `ffn_norm`;
/// - attn_output's input (attention's output, linear in V per channel): into V's rows and bias;
///   with grouped-query attention one V channel feeds several query heads, so those heads'
///   channels share a factor;
/// - down's input (act(gate)·up, element-wise): into up's rows and bias.
/// A fused tensor (Phi-3's `attn_qkv`; its `ffn_up`, gate and up in one) is rescaled part by
/// part in place. Biases on V and up are divided with their rows. A block matrix with no
/// calibration activations is left unsmoothed, and the plan says so.
public enum SmoothQuant {
    public static let defaultAlpha: Float = 0.5

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// What smoothing a model does: the rescaling of each tensor it touches, and what it left alone.
    public struct Plan: Sendable {
        public var edits: [String: ModelQuantizer.TensorEdit] = [:]
        /// One line per group of matrices left unsmoothed, and why.
        public var skipped: [String] = []
        /// Matrices whose input is smoothed.
        public var smoothed: [String] = []
    }

    /// What `quantize` did.
    public struct Report: Sendable {
        public var assignment: MixAssignment
        public var plan: Plan
        public var calibrationTokens: Int
        public var chunks: Int
    }

    /// Checks α: 0 (all the difficulty stays with the activations) to 1 (all moves to the weights).
    public static func check(alpha: Float) throws(Failure) {
        guard alpha.isFinite, alpha >= 0, alpha <= 1 else {
            throw Failure("--alpha must be a number from 0 to 1 (the share of the activations' range moved into the weights), got \(alpha)")
        }
    }

    /// The per-input-channel factor: max|X_j|^α / max|W_j|^(1−α), 1 where either maximum is 0
    /// or not finite (a channel that never fires, or has no weight, is left as it is).
    public static func factors(activationMax: [Float], weightMax: [Float], alpha: Float) -> [Float] {
        zip(activationMax, weightMax).map { x, w in
            guard x > 0, w > 0, x.isFinite, w.isFinite else { return 1 }
            let s = powf(x, alpha) / powf(w, 1 - alpha)
            return s.isFinite && s > 0 ? min(max(s, 1e-5), 1e5) : 1
        }
    }

    /// Per input channel, the largest |x| each block matrix reads over the calibration tokens,
    /// keyed by weight tensor name (q, k and v share one entry's values). The tokens are cut
    /// into chunks of `context`, each run from an empty cache with its first token replaced by
    /// BOS where the vocabulary adds one, as `ImportanceCollector` does; a text shorter than one
    /// chunk is one chunk.
    public static func activationMaxima(_ engine: Transformer, tokens: [Int], bos: Int?, context: Int, chunks: Int?,
                                        progress: (Int, Int) -> Void = { _, _ in }) throws -> (maxima: [String: [Float]], chunks: Int) {
        guard tokens.count >= 8 else { throw Failure("the calibration text is \(tokens.count) tokens; SmoothQuant needs at least 8") }
        let length = min(context, tokens.count, engine.options.context)
        let n = min(chunks ?? Int.max, tokens.count / length)
        guard n >= 1 else { throw Failure("at least one calibration chunk is needed") }
        var maxima: [String: [Float]] = [:]
        let previous = engine.activationObserver
        defer { engine.activationObserver = previous }
        engine.activationObserver = { names, x, rows, columns in
            var m = maxima[names[0]] ?? [Float](repeating: 0, count: columns)
            for r in 0..<rows {
                let row = x + r * columns
                for c in 0..<columns { m[c] = max(m[c], abs(row[c])) }
            }
            for name in names { maxima[name] = m }
        }
        try engine.runCalibration(tokens: tokens, bos: bos, chunkLength: length, chunks: n, progress: progress)
        return (maxima, n)
    }

    /// Per column, the largest |w| over the rows of every matrix in `matrices` (which share an input).
    static func columnMax(_ matrices: [WeightMatrix]) -> [Float] {
        guard let first = matrices.first else { return [] }
        var m = [Float](repeating: 0, count: first.columns)
        var row = [Float](repeating: 0, count: first.columns)
        for w in matrices {
            for r in 0..<w.rows {
                row.withUnsafeMutableBufferPointer { w.fastDequantizedRow(r, into: $0) }
                for c in 0..<w.columns { m[c] = max(m[c], abs(row[c])) }
            }
        }
        return m
    }

    /// The smoothing of every block of `weights` from the activation maxima of a calibration run.
    /// A fused tensor (Phi-3's `attn_qkv`, `ffn_up` holding gate and up) is rescaled as a whole:
    /// its columns by the shared input's factors, and the rows of the part that writes the next
    /// input (V, up) by that input's.
    public static func plan(weights: ModelWeights, maxima: [String: [Float]], alpha: Float) throws(Failure) -> Plan {
        try check(alpha: alpha)
        var plan = Plan()
        let c = weights.config
        func tensor(_ name: String) -> GGUFTensorInfo? { weights.file.tensor(named: ImportanceCollector.tensorName(name)) }
        func scaleColumns(_ name: String, _ factors: [Float]) {
            let name = ImportanceCollector.tensorName(name)
            var edit = plan.edits[name] ?? ModelQuantizer.TensorEdit()
            edit.columnScale = zip(edit.columnScale ?? Array(repeating: 1, count: factors.count), factors).map(*)
            plan.edits[name] = edit
        }
        /// Rows `offset…` of the tensor that holds `name` (a part of a fused tensor starts past the parts before it).
        func scaleRows(_ name: String, _ factors: [Float], offset: Int) {
            guard let info = tensor(name) else { return }
            let whole = ImportanceCollector.tensorName(name)
            var edit = plan.edits[whole] ?? ModelQuantizer.TensorEdit()
            var rows = edit.rowScale ?? Array(repeating: 1, count: info.rowCount)
            for (r, f) in factors.enumerated() { rows[offset + r] *= f }
            edit.rowScale = rows
            plan.edits[whole] = edit
        }
        for (i, layer) in weights.layers.enumerated() {
            let p = "blk.\(i)."
            // Inputs of q/k/v and gate/up: an RMSNorm's weights divide, the matrices' columns multiply.
            for (norm, group) in [("attn_norm.weight", [layer.query, layer.key, layer.value]), ("ffn_norm.weight", [layer.gate, layer.up])] {
                let names = group.map(\.name)
                guard tensor(p + norm) != nil, let x = maxima[names[0]], x.count == c.width else {
                    plan.skipped.append("\(names.joined(separator: ", ")): no calibration activations or no \(p + norm); left unsmoothed")
                    continue
                }
                let s = factors(activationMax: x, weightMax: columnMax(group), alpha: alpha)
                scaleColumns(p + norm, s.map { 1 / $0 })
                for name in Set(names.map(ImportanceCollector.tensorName)) { scaleColumns(name, s) }
                plan.smoothed += names
            }
            // attn_output's input: each V channel feeds the same channel of every query head of its group.
            let o = layer.attentionOutput, v = layer.value
            let group = c.heads / max(1, c.kvHeads), hd = c.headDim
            let vOffset = v.name.hasSuffix("]") ? layer.query.rows + layer.key.rows : 0
            if let x = maxima[o.name], x.count == c.heads * hd, v.rows == c.kvHeads * hd, c.heads % max(1, c.kvHeads) == 0 {
                let w = columnMax([o])
                var xv = [Float](repeating: 0, count: v.rows), wv = [Float](repeating: 0, count: v.rows)
                for j in 0..<x.count {
                    let u = (j / hd) / group * hd + j % hd
                    xv[u] = max(xv[u], x[j]); wv[u] = max(wv[u], w[j])
                }
                let s = factors(activationMax: xv, weightMax: wv, alpha: alpha)
                scaleRows(v.name, s.map { 1 / $0 }, offset: vOffset)
                if tensor(p + "attn_v.bias") != nil { scaleColumns(p + "attn_v.bias", s.map { 1 / $0 }) }
                scaleColumns(o.name, (0..<x.count).map { j in s[(j / hd) / group * hd + j % hd] })
                plan.smoothed.append(o.name)
            } else {
                plan.skipped.append("\(o.name): no calibration activations, or V shaped unlike the heads; left unsmoothed")
            }
            // down's input is act(gate)·up element by element: up's rows divide.
            let down = layer.down, up = layer.up
            let upOffset = up.name.hasSuffix("]") ? layer.gate.rows : 0
            if let x = maxima[down.name], x.count == up.rows {
                let s = factors(activationMax: x, weightMax: columnMax([down]), alpha: alpha)
                scaleRows(up.name, s.map { 1 / $0 }, offset: upOffset)
                if upOffset == 0, tensor(p + "ffn_up.bias") != nil { scaleColumns(p + "ffn_up.bias", s.map { 1 / $0 }) }
                scaleColumns(down.name, s)
                plan.smoothed.append(down.name)
            } else {
                plan.skipped.append("\(down.name): no calibration activations; left unsmoothed")
            }
        }
        return plan
    }

    /// Smooths `source` with activations from `calibrationTokens` and writes it to `output` in
    /// the types `mix` assigns: the library entry point of `models quantize --method smoothquant`
    /// (and of a sweep's `quant_method: smoothquant`). `calibration` names the text in the file's
    /// metadata (`slmbench.quant.method`, `slmbench.quant.calibration`, `slmbench.quant.smoothquant.alpha`,
    /// `slmbench.quant.calibration_tokens`). Calibration runs the source file as it is on the native
    /// engine, `threads` threads, in chunks of `context` tokens.
    public static func quantize(source: URL, mix: QuantMix, output: String, calibrationTokens: [Int], calibration: String,
                                alpha: Float = defaultAlpha, context: Int = 512, chunks: Int? = nil, threads: Int = 1,
                                progress: (String) -> Void = { _ in }) throws -> Report {
        try check(alpha: alpha)
        guard context >= 8 else { throw Failure("the calibration context must be at least 8 tokens, got \(context)") }
        let weights = try ModelWeights(path: source.path)
        let engine = try Transformer(weights: weights, options: EngineOptions(threads: threads, context: context, batchTokens: min(context, 512)))
        let tokenizer = try Tokenizer(file: weights.file)
        let (maxima, n) = try activationMaxima(engine, tokens: calibrationTokens, bos: tokenizer.addBOS ? tokenizer.bos : nil,
                                               context: context, chunks: chunks) { done, all in progress("smoothquant: calibration chunk \(done)/\(all)") }
        let plan = try plan(weights: weights, maxima: maxima, alpha: alpha)
        progress("smoothquant: α \(alpha), \(plan.smoothed.count) matrices smoothed, \(plan.skipped.count) groups left as they are")
        let metadata: [(key: String, value: GGUFValue)] = [
            (ModelQuantizer.methodKey, .string("smoothquant")),
            (ModelQuantizer.calibrationKey, .string(calibration)),
            (ModelQuantizer.calibrationTokensKey, .uint32(UInt32(clamping: min(calibrationTokens.count, n * min(context, calibrationTokens.count))))),
            ("slmbench.quant.smoothquant.alpha", .float32(alpha)),
        ]
        let assignment = try ModelQuantizer.quantize(weights.file, mix: mix, output: output, edits: plan.edits, metadata: metadata, progress: progress)
        return Report(assignment: assignment, plan: plan, calibrationTokens: calibrationTokens.count, chunks: n)
    }
}
