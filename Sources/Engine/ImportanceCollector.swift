import ModelFormat

/// Collects an importance matrix with the native engine, as llama-imatrix does: the text's
/// tokens are cut into chunks of `context`, each run from an empty cache (its first token
/// replaced by BOS where the vocabulary adds one), and for every block matrix the squares of its
/// input activations are summed per channel over every token. A fused matrix (Phi-3's `attn_qkv`)
/// is one entry, as in llama.cpp.
public enum ImportanceCollector {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `tokens`: the whole calibration text; at least two chunks' worth, as llama-imatrix asks.
    /// `processOutput`: also the output head (every position's logits are then computed), under
    /// the head's tensor name — `token_embd.weight` for a tied head — as llama-imatrix's
    /// `--process-output` does. `progress` is told each chunk done.
    public static func collect(_ engine: Transformer, tokens: [Int], bos: Int?, context: Int, chunks: Int?,
                               dataset: String, processOutput: Bool = false,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> ImportanceMatrix {
        guard context >= 8, context <= engine.options.context else {
            throw Failure(description: "context \(context) must be 8 to the engine's context (\(engine.options.context))")
        }
        guard tokens.count >= 2 * context else {
            throw Failure(description: "\(dataset): \(tokens.count) tokens; a context of \(context) needs at least \(2 * context)")
        }
        let available = tokens.count / context
        let n = min(chunks ?? available, available)
        guard n >= 1 else { throw Failure(description: "--chunks must be at least 1") }
        var sums: [String: [Double]] = [:], counts: [String: Int] = [:]
        let previous = engine.activationObserver, observed = engine.observesOutput
        defer { engine.activationObserver = previous; engine.observesOutput = observed }
        engine.observesOutput = processOutput
        engine.activationObserver = { names, x, rows, columns in
            for name in Set(names.map(Self.tensorName)) {
                var s = sums[name] ?? [Double](repeating: 0, count: columns)
                for r in 0..<rows {
                    let row = x + r * columns
                    for c in 0..<columns { s[c] += Double(row[c]) * Double(row[c]) }
                }
                sums[name] = s
                counts[name, default: 0] += rows
            }
        }
        try engine.runCalibration(tokens: tokens, bos: bos, chunkLength: context, chunks: n, logits: processOutput, progress: progress)
        var entries: [String: ImportanceMatrix.Entry] = [:]
        for (name, s) in sums { entries[name] = .init(sums: s.map(Float.init), counts: [counts[name] ?? 0]) }
        return ImportanceMatrix(entries: entries, datasets: [dataset], chunkCount: n, chunkSize: context)
    }

    /// `blk.3.attn_qkv.weight[1]` (a part of a fused matrix) → `blk.3.attn_qkv.weight`.
    static func tensorName(_ name: String) -> String {
        guard name.hasSuffix("]"), let open = name.lastIndex(of: "[") else { return name }
        return String(name[..<open])
    }
}

extension Transformer {
    /// A calibration pass as llama-imatrix makes one: the first `chunks` runs of `chunkLength`
    /// tokens, each from an empty cache with its first token replaced by `bos` (when the
    /// vocabulary adds one), no logits asked for; `activationObserver` sees every block matrix's
    /// input. `progress` is told each chunk done; the cache is left empty.
    func runCalibration(tokens: [Int], bos: Int?, chunkLength: Int, chunks: Int, logits: Bool = false,
                        progress: (Int, Int) -> Void) throws {
        for chunk in 0..<chunks {
            var ids = Array(tokens[chunk * chunkLength..<(chunk + 1) * chunkLength])
            if let bos { ids[0] = bos }
            clear(slot: 0)
            let batch = ids.enumerated().map { BatchToken(token: Int32($0.element), position: $0.offset, slot: 0) }
            _ = try forward(batch, logitsFor: logits ? Array(0..<batch.count) : [])
            progress(chunk + 1, chunks)
        }
        clear(slot: 0)
    }
}
