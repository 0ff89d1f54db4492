import Foundation
import ModelFormat

/// SmoothQuant (Xiao et al. 2022, "SmoothQuant: Accurate and Efficient Post-Training
/// Quantization for Large Language Models"): activation outliers are migrated into the weights
/// by a per-input-channel factor s_j = max|X_j|^α / max|W_j|^(1−α), X_j ÷ s_j and W's column j
/// × s_j, which leaves X·Wᵀ unchanged; then the weights are quantized.
///
/// The factors are folded into whatever writes X by `ChannelScaling` (the norms before q/k/v and
/// gate/up, V's rows before attn_output, up's rows before down; fused tensors part by part). A
/// block matrix with no calibration activations is left unsmoothed, and the plan says so.
public enum SmoothQuant {
    public static let defaultAlpha: Float = 0.5

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// What smoothing a model does: the rescaling of each tensor it touches, and what it left alone.
    public typealias Plan = ChannelScaling.Plan

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

    /// The smoothing of every block of `weights` from the activation maxima of a calibration run:
    /// per shared input, `factors` of the largest |x| and the largest |w| over the matrices that
    /// read it (per V channel for attn_output: the largest over the query heads it feeds).
    public static func plan(weights: ModelWeights, maxima: [String: [Float]], alpha: Float) throws(Failure) -> Plan {
        try check(alpha: alpha)
        return ChannelScaling.plan(weights: weights) { input in
            guard let x = maxima[input.matrices[0].name], x.count == input.channel.count else { return nil }
            let w = ChannelScaling.columnMax(input.matrices)
            var xv = [Float](repeating: 0, count: input.factorCount), wv = xv
            for (j, u) in input.channel.enumerated() { xv[u] = max(xv[u], x[j]); wv[u] = max(wv[u], w[j]) }
            return factors(activationMax: xv, weightMax: wv, alpha: alpha)
        }
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
        progress("smoothquant: α \(alpha), \(plan.scaled.count) matrices smoothed, \(plan.skipped.count) groups left as they are")
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
