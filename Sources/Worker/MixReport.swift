import Foundation
import ModelFormat

/// What `models mix` prints (`--json`: this document): the chosen mix, its predicted KLD, and,
/// measured on the same text with the same settings, the mix beside uniform Q4_K and the
/// Q4_K_M recipe.
public struct MixReport: Encodable, Sendable {
    public static let additivity = "predicted KLD = the sum of each tensor's ΔKLD measured alone (assumes the losses add up)"

    public struct Row: Encodable, Sendable {
        public var variant: String
        public var path: String
        public var bytes: Int
        public var bitsPerWeight: Double
        public var predictedKLD: Double?
        public var measuredKLD: Double?
        public var deltaPerplexity: Double?
        public var top1Agreement: Double?
    }

    /// The mix's predicted decode rate on a device not at hand (`--target-profile`), with the
    /// cross-device predictor's own validated error.
    public struct TargetSpeed: Encodable, Sendable {
        public var profile: String
        public var threads: Int
        /// The floor the search kept to (`--min-decode`), if any.
        public var minDecode: Double?
        public var predictedDecodeTps: Double?
        /// p90 |relative error| of the predictor's leave-one-device-out validation; nil when not validated.
        public var error: Double?
        public var errorBasis: String?
        public var notes: [String]
        public init(profile: String, threads: Int, minDecode: Double?, predictedDecodeTps: Double?, error: Double?, errorBasis: String?, notes: [String]) {
            self.profile = profile; self.threads = threads; self.minDecode = minDecode; self.predictedDecodeTps = predictedDecodeTps
            self.error = error; self.errorBasis = errorBasis; self.notes = notes
        }

        /// One line: the rate, and its error only as the predictor validated it.
        public var line: String {
            guard let tps = predictedDecodeTps else { return "predicted decode on \(profile): none (\(notes.joined(separator: "; ")))" }
            var text = String(format: "predicted decode on %@, %d thread%@: %.1f t/s", profile, threads, threads == 1 ? "" : "s", tps)
            if let error, let errorBasis { text += String(format: " (±%.0f%%, %@)", error * 100, errorBasis) } else { text += " (error not validated)" }
            if let minDecode { text += String(format: "; floor --min-decode %g", minDecode) }
            return text
        }
    }

    public var schema = "slmbench.mix/1"
    public var budgetBitsPerWeight: Double
    public var types: [String]
    /// The sensitivity file, or how the sensitivities were measured.
    public var sensitivity: String
    /// The text the sensitivities were measured on.
    public var calibration: String
    public var assumption: String
    /// Tensors per chosen type.
    public var chosen: [String: Int]
    /// The type chosen for the token embedding (with a tied head, the output head too), which
    /// alone is a fifth of a small model's parameters.
    public var embedding: String?
    public var rows: [Row]
    /// The evaluation text, chunks and scored positions, once measured.
    public var corpus: String?
    public var context: Int?
    public var scoredPositions: Int?
    public var sourceWeightsCaveat: String?
    /// The importance matrix every scale search was weighted by (`--imatrix`), if any.
    public var importance: String?
    /// With `--method gptq`: how the mix was built (text, options).
    public var gptq: String?
    /// `--target-profile`: the mix's predicted decode rate there.
    public var target: TargetSpeed?

    public init(budgetBitsPerWeight: Double, types: [String], sensitivity: String, calibration: String, assumption: String,
                path: String, result: MixSearch.Result) {
        self.budgetBitsPerWeight = budgetBitsPerWeight; self.types = types; self.sensitivity = sensitivity
        self.calibration = calibration; self.assumption = assumption
        chosen = Dictionary(result.types.values.map { ($0.name.lowercased(), 1) }, uniquingKeysWith: +)
        embedding = result.types["token_embd.weight"]?.name.lowercased()
        rows = [Self.row("mix", path: path, predicted: result.predictedKLD)]
    }

    static func row(_ label: String, path: String, predicted: Double?) -> Row {
        let summary = (try? GGUFFile(path: path)).map(ModelSummary.init(file:))
        return Row(variant: label, path: path, bytes: summary?.tensorBytes ?? 0, bitsPerWeight: summary?.bitsPerWeight ?? .nan,
                   predictedKLD: predicted)
    }

    /// Fills in the measured figures; `quality.rows[0]` is F32, then `variants` in order.
    public mutating func measure(_ quality: QualityEvaluation.Report, variants: [(label: String, path: String, predicted: Double?)], caveat: String?) {
        rows = zip(variants, quality.rows.dropFirst()).map { variant, measured in
            var row = Self.row(variant.label, path: variant.path, predicted: variant.predicted)
            row.measuredKLD = measured.meanKLD
            row.deltaPerplexity = measured.deltaPerplexity
            row.top1Agreement = measured.top1Agreement
            return row
        }
        corpus = quality.corpus
        context = quality.context
        scoredPositions = quality.scoredPositions
        sourceWeightsCaveat = caveat
    }

    public var markdown: String {
        let mark = sourceWeightsCaveat == nil ? "" : " †"
        func f(_ x: Double?, _ format: String) -> String { x.map { String(format: format, $0) } ?? "—" }
        var lines = [
            String(format: "mix  budget %.3f bits per weight", budgetBitsPerWeight) + " · types \(types.joined(separator: ",")) · sensitivities: \(sensitivity)",
            "     chosen: " + chosen.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
                + (embedding.map { " · the embedding (token_embd) \($0)" } ?? ""),
            "     \(assumption); sensitivities on \(calibration)",
        ]
        if let importance { lines.append("     scale searches weighted by the importance matrix \(importance) (the mix and the rows named imatrix; the other rows round to nearest)") }
        if let gptq { lines.append("     \(gptq)") }
        if let target {
            lines.append("     " + target.line)
            lines += target.notes.map { "       \($0)" }
        }
        if let corpus, let context, let scoredPositions {
            lines.append("     measured against F32 on \(corpus) · chunks of \(context) · \(scoredPositions) scored positions")
        }
        lines += ["", "| model | bytes | bits/weight | predicted KLD | measured KLD\(mark) | ΔPPL\(mark) | top-1\(mark) |", "|---|---:|---:|---:|---:|---:|---:|"]
        for r in rows {
            lines.append("| \(r.variant) | \(r.bytes) | \(String(format: "%.3f", r.bitsPerWeight)) | \(f(r.predictedKLD, "%.6f")) | \(f(r.measuredKLD, "%.6f")) | \(f(r.deltaPerplexity, "%+.4f")) | \(f(r.top1Agreement.map { $0 * 100 }, "%.2f%%")) |")
        }
        lines.append("")
        lines.append("mix file: \(rows.first?.path ?? "")")
        if let sourceWeightsCaveat { lines.append("† \(sourceWeightsCaveat)") }
        return lines.joined(separator: "\n")
    }
}
