import Foundation
import ModelFormat

/// Collects GPTQ's Hessians with the native engine, over the same chunks as
/// `ImportanceCollector` (chunks of `context` tokens, each from an empty cache, BOS first where
/// the vocabulary adds one): for every input group (q/k/v share one, gate/up share one, then
/// attn_output and ffn_down) the sum of xᵀx over every token, in Double.
///
/// The Hessians come from the unquantized model in one pass (every layer sees the original
/// model's activations), not layer by layer through already-quantized layers.
public enum HessianCollector {
    /// `processOutput`: also the output head's input (the final norm's output at every position),
    /// under the head's name — `token_embd.weight` for a tied head, as `ImportanceCollector` does.
    /// `wanted`: only the input groups with a tensor it accepts are summed (the others cost as much
    /// as the forward pass again); nil: every group.
    public static func collect(_ engine: Transformer, tokens: [Int], bos: Int?, context: Int, chunks: Int?,
                               dataset: String, processOutput: Bool = false, wanted: Set<String>? = nil,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> HessianSet {
        guard context >= 8, context <= engine.options.context else {
            throw ImportanceCollector.Failure(description: "context \(context) must be 8 to the engine's context (\(engine.options.context))")
        }
        guard tokens.count >= context else {
            throw ImportanceCollector.Failure(description: "\(dataset): \(tokens.count) tokens; a context of \(context) needs at least \(context)")
        }
        let available = tokens.count / context
        let n = min(chunks ?? available, available)
        guard n >= 1 else { throw ImportanceCollector.Failure(description: "--chunks must be at least 1") }
        var set = HessianSet(dataset: dataset, chunkCount: n, chunkSize: context)
        let previous = engine.activationObserver, observed = engine.observesOutput
        defer { engine.activationObserver = previous; engine.observesOutput = observed }
        engine.observesOutput = processOutput
        engine.activationObserver = { names, x, rows, columns in
            let tensors = names.map(ImportanceCollector.tensorName)
            if let wanted, !tensors.contains(where: wanted.contains) { return }
            let slot: Int
            if let existing = set.index[tensors[0]] { slot = existing } else {
                slot = set.hessians.count
                set.hessians.append(Hessian(columns: columns))
                for name in tensors { set.index[name] = slot }
            }
            set.hessians[slot].add(x, rows: rows)
        }
        try engine.runCalibration(tokens: tokens, bos: bos, chunkLength: context, chunks: n, logits: processOutput, progress: progress)
        return set
    }
}

/// The library's calibrated-quantization entry point: quantize a GGUF model with a method and a
/// calibration text, as `slmbench models quantize --method` does (and a sweep's `quant_method`).
public enum CalibratedQuantizer {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Quantizes the model at `source` to `mix` with `method`, writing `output`.
    /// - `calibration`: a UTF-8 text file, run on the native engine in `chunks` (default: all the
    ///   text holds) of `context` tokens; its file name is recorded in the output's metadata.
    /// - `.rtn` ignores the calibration and writes what `ModelQuantizer.quantize` writes.
    /// Matrices a method does not cover (token embedding, tied output) keep round-to-nearest;
    /// the result lists them.
    public static func quantize(method: QuantMethod, source: String, mix: QuantMix, output: String,
                                calibration: String?, context: Int = 512, chunks: Int? = nil, threads: Int = 1,
                                gptq: GPTQ.Options = GPTQ.Options(), alpha: Float? = nil, processOutput: Bool = false,
                                hessianCache: URL? = nil,
                                progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> CalibratedQuantization {
        let file = try GGUFFile(path: source)
        switch method {
        case .rtn:
            let assignment = try ModelQuantizer.quantize(file, mix: mix, output: output, progress: progress)
            return CalibratedQuantization(method: .rtn, assignment: assignment)
        case .awq:
            let (tokens, name, _) = try calibrationTokens(file: file, calibration: calibration, method: method)
            progress("awq: activations over \(tokens.count) tokens of \(name), chunks of \(context)")
            let report = try AWQ.quantize(source: URL(fileURLWithPath: source), mix: mix, output: output, calibrationTokens: tokens,
                                          calibration: name, context: context, chunks: chunks, threads: threads, progress: progress)
            var result = CalibratedQuantization(method: .awq, assignment: report.assignment)
            for choice in report.choices { result.alphas["blk.\(choice.layer) \(choice.kind.rawValue)"] = choice.alpha }
            result.notes = report.plan.skipped
            return result
        case .imatrix:
            let (tokens, name, tokenizer) = try calibrationTokens(file: file, calibration: calibration, method: method)
            let engine = try Transformer(weights: try ModelWeights(path: source),
                                         options: EngineOptions(threads: threads, context: context, batchTokens: min(context, 512)))
            progress("imatrix: importance over \(tokens.count) tokens of \(name), chunks of \(context)")
            let matrix = try ImportanceCollector.collect(engine, tokens: tokens, bos: tokenizer.addBOS ? tokenizer.bos : nil,
                                                         context: context, chunks: chunks, dataset: name) { done, all in
                progress("imatrix: calibration chunk \(done)/\(all)")
            }
            let written = try ModelQuantizer.quantize(file, mix: mix, output: output, importance: matrix, progress: progress)
            var result = CalibratedQuantization(method: .imatrix, assignment: written.assignment)
            for name in written.weighted { result.calibrated[name] = 0 }
            for name in written.unweighted { result.roundedToNearest[name] = "no importance entry" }
            return result
        case .smoothquant:
            let (tokens, name, _) = try calibrationTokens(file: file, calibration: calibration, method: method)
            let report = try SmoothQuant.quantize(source: URL(fileURLWithPath: source), mix: mix, output: output, calibrationTokens: tokens,
                                                  calibration: name, alpha: alpha ?? SmoothQuant.defaultAlpha, context: context,
                                                  chunks: chunks, threads: threads, progress: progress)
            var result = CalibratedQuantization(method: .smoothquant, assignment: report.assignment)
            result.notes = report.plan.skipped
            return result
        case .gptq:
            let (tokens, _, tokenizer) = try calibrationTokens(file: file, calibration: calibration, method: method)
            guard let calibration else { throw Failure(description: "--method gptq needs --calibration TEXT") }
            let engine = try Transformer(weights: try ModelWeights(path: source),
                                         options: EngineOptions(threads: threads, context: context, batchTokens: min(context, 512)))
            // Only the matrices GPTQ will fill need a Hessian (a mix of types it cannot fill, say, but for the head).
            let assignment = mix.assign(MixModel(file: file))
            let filled = Set(assignment.types.filter { GPTQ.canFill($0.value) && !assignment.kept.contains($0.key) }.map(\.key))
            let hessians = try collectHessians(engine: engine, source: source, calibration: calibration, tokens: tokens,
                                               bos: tokenizer.addBOS ? tokenizer.bos : nil, context: context, chunks: chunks,
                                               processOutput: processOutput, wanted: filled, cache: hessianCache, progress: progress)
            return try ModelQuantizer.quantizeGPTQ(file, mix: mix, output: output, hessians: hessians, options: gptq, progress: progress)
        }
    }

    /// GPTQ's Hessians of the matrices in `wanted` over `tokens` (the text at `calibration`), run on
    /// `engine` (the model at `source`). They depend on the model, the text, the chunks and the
    /// matrices wanted, not on GPTQ's options: with a `cache` folder they are kept there under
    /// those, and a second run with other options skips the calibration pass.
    public static func collectHessians(engine: Transformer, source: String, calibration: String, tokens: [Int], bos: Int?,
                                       context: Int, chunks: Int?, processOutput: Bool, wanted: Set<String>, cache: URL?,
                                       progress: @escaping @Sendable (String) -> Void) throws -> HessianSet {
        let name = URL(fileURLWithPath: calibration).lastPathComponent
        var cached: String?
        if let cache {
            let key = "\(try ModelFetcher.sha256(of: URL(fileURLWithPath: source)).prefix(16))-\(try ModelFetcher.sha256(of: URL(fileURLWithPath: calibration)).prefix(12))"
                + "-c\(context)-n\(chunks.map(String.init) ?? "all")\(processOutput ? "-out" : "")-w\(fnv1a(wanted.sorted().joined(separator: ",")))"
            cached = cache.appendingPathComponent("\(key).hess").path
        }
        // Nothing for GPTQ to fill (a mix of types it cannot fill): no calibration pass at all.
        if wanted.isEmpty { return HessianSet(dataset: name, chunkCount: 0, chunkSize: context) }
        if let cached, FileManager.default.fileExists(atPath: cached), let reused = try? HessianSet(path: cached) {
            progress("gptq: Hessians reused from \(cached)")
            return reused
        }
        progress("gptq: Hessians over \(tokens.count) tokens of \(name), chunks of \(context)")
        let hessians = try HessianCollector.collect(engine, tokens: tokens, bos: bos, context: context, chunks: chunks, dataset: name,
                                                    processOutput: processOutput, wanted: wanted) { done, all in
            progress("gptq: calibration chunk \(done)/\(all)")
        }
        if let cached, let cache {
            try? FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
            do { try hessians.write(to: cached) } catch { progress("gptq: \(error.description)") }
        }
        return hessians
    }

    /// The calibration text read as the model's tokenizer reads it (BOS added where it adds one).
    public static func calibrationTokens(file: GGUFFile, calibration: String?, method: QuantMethod) throws -> ([Int], String, Tokenizer) {
        guard let calibration else {
            throw Failure(description: "--method \(method.rawValue) needs --calibration TEXT: a UTF-8 text apart from the evaluation text")
        }
        guard let data = FileManager.default.contents(atPath: calibration), let text = String(data: data, encoding: .utf8),
              !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw Failure(description: "--calibration: cannot read \(calibration) as UTF-8 text, or it is empty")
        }
        let tokenizer = try Tokenizer(file: file)
        return (tokenizer.encode(text, addSpecial: true), URL(fileURLWithPath: calibration).lastPathComponent, tokenizer)
    }
}

/// FNV-1a, 64 bits, as hex: a short cache key for a list of names.
func fnv1a(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return String(hash, radix: 16)
}
