import Backends
import Engine
import Foundation
import Measures

/// A text corpus for perplexity, with where it came from.
public struct Corpus: Sendable {
    public var path: String
    public var source: String
    public var text: String

    /// The default: the GNU GPL version 3 as every Debian system ships it (package base-files),
    /// about 5,600 words of real English prose that needs no download.
    public static let defaultPath = "/usr/share/common-licenses/GPL-3"
    public static let defaultSource = "GNU GPL v3 text from Debian's base-files package (/usr/share/common-licenses/GPL-3)"

    /// The default calibration text (sensitivities, calibrated quantization): the GNU FDL 1.3
    /// from the same Debian package, prose of the same register that shares no passage with
    /// the evaluation corpus, so what is tuned on one is measured on the other.
    public static let calibrationPath = "/usr/share/common-licenses/GFDL-1.3"
    public static let calibrationSource = "GNU FDL 1.3 text from Debian's base-files package (/usr/share/common-licenses/GFDL-1.3)"

    public static func load(_ path: String?) throws(QualityError) -> Corpus {
        try load(path, defaultPath: defaultPath, defaultSource: defaultSource, flag: "--corpus")
    }

    /// A calibration text: `path`, or `calibrationPath`; errors name `flag`.
    public static func loadCalibration(_ path: String?, flag: String = "--calibration") throws(QualityError) -> Corpus {
        try load(path, defaultPath: calibrationPath, defaultSource: calibrationSource, flag: flag)
    }

    static func load(_ path: String?, defaultPath: String, defaultSource: String, flag: String) throws(QualityError) -> Corpus {
        let file = path ?? defaultPath
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .corpus(path == nil ? "the default text \(file) is missing (Debian's base-files ships it); pass \(flag) FILE"
                                      : "\(flag): cannot read \(file)")
        }
        guard let text = String(data: data, encoding: .utf8), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .corpus("\(flag): \(file) is not UTF-8 text, or is empty")
        }
        return Corpus(path: file, source: path == nil ? defaultSource : "user file \(file)", text: text)
    }
}

public enum QualityError: Error, Sendable, CustomStringConvertible {
    case corpus(String)
    case tooShort(tokens: Int, needed: Int)
    case backend(String, BackendError)
    /// A chunk length outside 16…`QualityEvaluation.maxContext`, or no variants to compare.
    case badSetting(String)
    /// A variant's vocabulary differs from the baseline's: their distributions cannot be compared.
    case vocabularyMismatch(variant: String, vocabulary: Int, baseline: String, baselineVocabulary: Int)
    /// A corpus token the baseline's vocabulary does not hold.
    case tokenOutOfRange(token: Int32, vocabulary: Int)

    public var description: String {
        switch self {
        case let .corpus(m): return m
        case let .tooShort(tokens, needed): return "the corpus is \(tokens) tokens; one chunk needs \(needed) (use --context smaller, or a longer --corpus)"
        case let .backend(variant, e): return "\(variant): \(e.message)"
        case let .badSetting(m): return m
        case let .vocabularyMismatch(variant, vocabulary, baseline, baselineVocabulary):
            return "\(variant) has a vocabulary of \(vocabulary) tokens, the baseline \(baseline) \(baselineVocabulary): only variants of the same model's weights can be compared"
        case let .tokenOutOfRange(token, vocabulary):
            return "the corpus encodes to token \(token), outside the baseline's vocabulary of \(vocabulary): the tokenizer does not belong to this model"
        }
    }
}

/// Perplexity of each variant of one model's weights, and how far each variant's next-token
/// distributions are from the baseline's (the highest-precision variant).
///
/// The corpus is cut into chunks of `context` tokens, each evaluated from an empty cache; the
/// second half of each chunk is scored (every scored token sees at least context/2 tokens
/// before it), as llama.cpp's perplexity tool does.
public struct QualityEvaluation {
    public struct Variant {
        public var label: String
        public var backend: InferenceBackend
        public var path: String
        public var kvType: KVType
        public var activationQuant: ActivationQuant
        public init(label: String, backend: InferenceBackend, path: String, kvType: KVType = .f32, activationQuant: ActivationQuant = .none) {
            self.label = label
            self.backend = backend
            self.path = path
            self.kvType = kvType
            self.activationQuant = activationQuant
        }
    }

    public struct Row: Codable, Sendable, Equatable {
        public var variant: String
        public var perplexity: Double
        /// Perplexity minus the baseline's; nil for the baseline.
        public var deltaPerplexity: Double?
        /// Mean over scored positions of KL(baseline ‖ variant), in nats.
        public var meanKLD: Double?
        /// Share of scored positions where the variant's most likely token is the baseline's (0–1).
        public var top1Agreement: Double?

        // `mean_kld` on the wire: the protocol's snake_case decoder turns it back into `meanKld`.
        enum CodingKeys: String, CodingKey {
            case variant, perplexity, deltaPerplexity, meanKLD = "meanKld", top1Agreement
        }
    }

    public struct Report: Codable, Sendable {
        public var corpus: String
        public var corpusTokens: Int
        public var context: Int
        public var chunks: Int
        public var scoredPositions: Int
        public var baseline: String
        public var rows: [Row]
        /// Set when the source weights were already quantized: every other type is then a
        /// requantization of them, and the baseline is their F32 conversion, so the loss from the
        /// original model to the source type is in none of the figures.
        public var sourceWeightsCaveat: String?
    }

    public var context: Int
    public var chunks: Int

    /// The longest chunk: the baseline's log-probabilities for half a chunk (× the vocabulary) are
    /// held in memory, 800 MB at this length with SmolLM2's 49,152 tokens.
    public static let maxContext = 8192

    public init(context: Int = 512, chunks: Int = 8) {
        self.context = context
        self.chunks = chunks
    }

    /// `tokens` is the tokenized corpus; `variants[0]` is the baseline.
    public func run(tokens: [Int32], corpus: String, variants: [Variant], threads: Int,
                    progress: (String) -> Void = { _ in }) throws(QualityError) -> Report {
        guard context >= 16, context <= Self.maxContext else { throw .badSetting("the chunk length must be 16 to \(Self.maxContext) tokens, got \(context)") }
        guard chunks >= 1 else { throw .badSetting("at least one chunk is needed, got \(chunks)") }
        guard !variants.isEmpty else { throw .badSetting("no variants to evaluate") }
        guard tokens.count >= context else { throw .tooShort(tokens: tokens.count, needed: context) }
        let chunkCount = min(chunks, tokens.count / context)
        let first = context / 2
        for v in variants {
            do { try v.backend.load(modelPath: v.path, options: LoadOptions(threads: threads, context: context, batchTokens: context, kvType: v.kvType,
                                                                                 activationQuant: v.activationQuant == .none ? nil : v.activationQuant)) }
            catch { throw .backend(v.label, error) }
        }
        defer { for v in variants { v.backend.unload() } }
        // Every buffer below is sized by the baseline's vocabulary.
        let vocabulary = variants[0].backend.vocabularySize
        for v in variants.dropFirst() where v.backend.vocabularySize != vocabulary {
            throw .vocabularyMismatch(variant: v.label, vocabulary: v.backend.vocabularySize, baseline: variants[0].label, baselineVocabulary: vocabulary)
        }
        if let outside = tokens.first(where: { $0 < 0 || Int($0) >= vocabulary }) { throw .tokenOutOfRange(token: outside, vocabulary: vocabulary) }
        var logLikelihood = [Double](repeating: 0, count: variants.count)
        var kl = [Double](repeating: 0, count: variants.count), agree = [Int](repeating: 0, count: variants.count)
        var scored = 0
        var baseline = [Float](repeating: 0, count: (context - first) * vocabulary) // log-probabilities
        var baselineTop = [Int](repeating: 0, count: context - first)
        for chunk in 0..<chunkCount {
            progress("chunk \(chunk + 1)/\(chunkCount)")
            let input = Array(tokens[(chunk * context)..<((chunk + 1) * context)])
            for (index, v) in variants.enumerated() {
                v.backend.clear(sequence: 0)
                do { _ = try v.backend.prefill(input, sequence: 0, allLogits: true) } catch { throw .backend(v.label, error) }
                for position in first..<(context - 1) {
                    let row = position - first
                    let logits = v.backend.logits(position)
                    guard logits.count == vocabulary else {
                        throw .vocabularyMismatch(variant: v.label, vocabulary: logits.count, baseline: variants[0].label, baselineVocabulary: vocabulary)
                    }
                    var lp = [Float](repeating: 0, count: vocabulary)
                    let top = Self.logSoftmax(logits, into: &lp)
                    logLikelihood[index] += Double(lp[Int(input[position + 1])])
                    if index == 0 {
                        baseline.replaceSubrange((row * vocabulary)..<((row + 1) * vocabulary), with: lp)
                        baselineTop[row] = top
                    } else {
                        var d = 0.0
                        for j in 0..<vocabulary {
                            let p = baseline[row * vocabulary + j]
                            d += Double(exp(p)) * Double(p - lp[j])
                        }
                        kl[index] += max(0, d)
                        if top == baselineTop[row] { agree[index] += 1 }
                    }
                }
            }
            scored += context - 1 - first
        }
        let base = exp(-logLikelihood[0] / Double(scored))
        let rows = variants.enumerated().map { index, v in
            let ppl = exp(-logLikelihood[index] / Double(scored))
            return Row(variant: v.label, perplexity: ppl, deltaPerplexity: index == 0 ? nil : ppl - base,
                       meanKLD: index == 0 ? nil : kl[index] / Double(scored),
                       top1Agreement: index == 0 ? nil : Double(agree[index]) / Double(scored))
        }
        return Report(corpus: corpus, corpusTokens: tokens.count, context: context, chunks: chunkCount,
                      scoredPositions: scored, baseline: variants[0].label, rows: rows)
    }

    /// log-softmax of `logits` into `out` (computed in double); returns the argmax.
    static func logSoftmax(_ logits: UnsafeBufferPointer<Float>, into out: inout [Float]) -> Int {
        var top = 0
        for i in 1..<logits.count where logits[i] > logits[top] { top = i }
        let m = Double(logits[top])
        var sum = 0.0
        for x in logits { sum += exp(Double(x) - m) }
        let logZ = m + log(sum)
        for i in 0..<logits.count { out[i] = Float(Double(logits[i]) - logZ) }
        return top
    }
}
