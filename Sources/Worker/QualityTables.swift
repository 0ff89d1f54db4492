import Engine
import Foundation
import ModelFormat

extension QualityEvaluation.Report {
    /// The caveat for a source file whose weight matrices are already quantized (`types`: the
    /// source's tensor types), else nil. SmolLM2-135M, the one real model here, is Q4_1.
    public static func sourceWeightsCaveat(model: String, types: some Sequence<String>) -> String? {
        let quantized = Set(types.map { $0.uppercased() }).subtracting(["F32", "F16", "BF16"]).sorted()
        guard !quantized.isEmpty else { return nil }
        let source = quantized.joined(separator: "/")
        return "\(model)'s source weights are already \(source): every other type is a requantization of them and the baseline is their F32 conversion, so the loss from the original model to \(source) is in none of these figures"
    }

    /// `slmbench quality`'s table: each variant against the baseline. `paths` gives each row's
    /// file, for its bits per weight.
    public func markdown(model: String, backend: String, paths: [String]) -> String {
        var lines = [
            "quality  \(model) on \(backend) · corpus: \(corpus)",
            "         \(corpusTokens) tokens · \(chunks) chunks of \(context) · \(scoredPositions) scored positions · baseline \(baseline)",
            "",
        ]
        // The caveat sits with the figures it qualifies: a mark on each quality column, the words under the table.
        let mark = sourceWeightsCaveat == nil ? "" : " †"
        lines.append("| type | bits/weight | PPL\(mark) | ΔPPL\(mark) | ΔPPL %\(mark) | mean KLD\(mark) | top-1 agreement\(mark) |")
        lines.append("|---|---|---|---|---|---|---|")
        let base = rows[0].perplexity
        func f(_ x: Double?, _ format: String) -> String { x.map { String(format: format, $0) } ?? "—" }
        for (row, path) in zip(rows, paths) {
            let bits = (try? GGUFFile(path: path)).map { ModelSummary(file: $0).bitsPerWeight } ?? .nan
            lines.append("| \(row.variant) | \(String(format: "%.3f", bits)) | \(String(format: "%.4f", row.perplexity)) | \(f(row.deltaPerplexity, "%+.4f")) | \(f(row.deltaPerplexity.map { $0 / base * 100 }, "%+.2f%%")) | \(f(row.meanKLD, "%.6f")) | \(f(row.top1Agreement.map { $0 * 100 }, "%.2f%%")) |")
        }
        if let sourceWeightsCaveat { lines += ["", "† \(sourceWeightsCaveat)"] }
        return lines.joined(separator: "\n")
    }

    /// `slmbench quality --kv`'s table: one weights file, each row a KV-cache type against the
    /// first row's (the baseline cache), so the loss shown is the cache's alone.
    public func kvMarkdown(model: String, weights: String, backend: String, caches: [KVType]) -> String {
        var lines = [
            "quality  \(model) \(weights) on \(backend) · corpus: \(corpus)",
            "         \(corpusTokens) tokens · \(chunks) chunks of \(context) · \(scoredPositions) scored positions · baseline: kv \(caches.first?.rawValue ?? "?")",
            "",
            "| kv cache | bytes/element | PPL | ΔPPL | ΔPPL % | mean KLD | top-1 agreement |",
            "|---|---|---|---|---|---|---|",
        ]
        let base = rows[0].perplexity
        func f(_ x: Double?, _ format: String) -> String { x.map { String(format: format, $0) } ?? "—" }
        for (row, kv) in zip(rows, caches) {
            lines.append("| \(kv.rawValue) | \(String(format: "%.4f", kv.bytesPerElement)) | \(String(format: "%.4f", row.perplexity)) | \(f(row.deltaPerplexity, "%+.4f")) | \(f(row.deltaPerplexity.map { $0 / base * 100 }, "%+.2f%%")) | \(f(row.meanKLD, "%.6f")) | \(f(row.top1Agreement.map { $0 * 100 }, "%.2f%%")) |")
        }
        lines.append("")
        lines.append("The weights are the same file (\(weights)) in every row: the loss is the KV cache's alone.")
        if backend == "llama.cpp" && caches.contains(where: \.isBlock) {
            lines.append("llama.cpp runs the q8_0/q4_0 caches with flash attention on (it reads a quantized V cache only there) and the f32/f16 ones with it off.")
        }
        return lines.joined(separator: "\n")
    }

    /// `slmbench quality --reference-backend`'s table: per type, `backend` against `reference` on the same file.
    public static func backendMarkdown(_ reports: [QualityEvaluation.Report], backend: String, reference: String, corpus: String) -> String {
        var lines = [
            "\(backend) against \(reference) on the same files · corpus: \(corpus)",
            "",
            "| type | positions | PPL \(reference) | PPL \(backend) | mean KLD | top-1 agreement |",
            "|---|---|---|---|---|---|",
        ]
        for r in reports {
            lines.append(String(format: "| %@ | %d | %.4f | %.4f | %.2e | %.2f%% |", String(r.rows[0].variant.split(separator: " ")[0]), r.scoredPositions,
                                r.rows[0].perplexity, r.rows[1].perplexity, r.rows[1].meanKLD ?? .nan, (r.rows[1].top1Agreement ?? .nan) * 100))
        }
        return lines.joined(separator: "\n")
    }
}
