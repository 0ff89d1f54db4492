import Backends
import Engine
import Foundation
import Measures
import ModelFormat

/// A quality evaluation as a worker runs it: variants of one model's weights, each against the
/// first (the baseline), on a text corpus. Carried as the `quality` object of a worker request,
/// so that a fault in an evaluation (a crash, a run past its memory) costs that evaluation only,
/// never the sweep around it.
public struct QualitySpec: Codable, Sendable, Equatable {
    public struct Variant: Codable, Sendable, Equatable {
        public var label: String
        public var backend: BackendKind
        /// The GGUF file of this variant.
        public var path: String
        /// The KV-cache type it runs with (absent: f32, as before the field existed).
        public var kvType: KVType?
        /// The native engine's 8-bit activation rounding (absent: none).
        public var activationQuant: ActivationQuant?
        public init(label: String, backend: BackendKind, path: String, kvType: KVType? = nil, activationQuant: ActivationQuant? = nil) {
            self.label = label; self.backend = backend; self.path = path; self.kvType = kvType; self.activationQuant = activationQuant
        }
    }

    /// `variants[0]` is the baseline; its file's tokenizer encodes the corpus.
    public var variants: [Variant]
    /// The corpus file (nil: `Corpus.defaultPath`).
    public var corpus: String?
    /// Tokens per chunk, and the most chunks to evaluate.
    public var context: Int
    public var chunks: Int
    public var threads: Int

    public init(variants: [Variant], corpus: String?, context: Int, chunks: Int, threads: Int) {
        self.variants = variants; self.corpus = corpus; self.context = context; self.chunks = chunks; self.threads = threads
    }

    /// Runs the evaluation in this process: the worker's side of a quality request.
    public func evaluate(progress: (String) -> Void = { _ in }) throws(QualityError) -> QualityEvaluation.Report {
        guard let baseline = variants.first else { throw .badSetting("no variants to evaluate") }
        let text = try Corpus.load(corpus)
        let tokens: [Int32]
        do { tokens = try Tokenizer(file: try GGUFFile(path: baseline.path)).encode(text.text).map(Int32.init) } catch {
            throw .badSetting("\(baseline.path): \(error)")
        }
        var evaluated: [QualityEvaluation.Variant] = []
        for v in variants {
            guard let backend = BackendRegistry.make(v.backend.rawValue) else {
                throw .badSetting("\(v.label): backend \(v.backend.rawValue) cannot evaluate quality (only \(BackendRegistry.names.joined(separator: ", ")))")
            }
            evaluated.append(.init(label: v.label, backend: backend, path: v.path, kvType: v.kvType ?? .f32,
                                     activationQuant: v.activationQuant ?? .none))
        }
        return try QualityEvaluation(context: context, chunks: chunks)
            .run(tokens: tokens, corpus: text.source, variants: evaluated, threads: threads, progress: progress)
    }
}
