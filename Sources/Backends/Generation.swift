import Engine
import Foundation
import ModelFormat

/// Continues a prompt with any backend, to see what a model says: the model's own tokenizer,
/// one prefill, then one sampled token a step. Text is handed out as whole characters complete
/// (a token may end in the middle of one).
public enum Generation {
    public static func run(backend: InferenceBackend, modelPath: String, prompt: String, maxTokens: Int, sampling: SamplingOptions,
                           options: LoadOptions, emit: (String) -> Void) throws(BackendError) {
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(file: try GGUFFile(path: modelPath)) } catch { throw BackendError("bad-model", "\(modelPath): \(error)") }
        let ids = tokenizer.encode(prompt).map(Int32.init)
        guard !ids.isEmpty else { throw BackendError("bad-request", "--prompt encodes to no tokens") }
        var load = options
        load.context = ids.count + maxTokens + 1
        load.sequences = 1
        load.batchTokens = ids.count
        try backend.load(modelPath: modelPath, options: load)
        defer { backend.unload() }
        guard Int(ids.max() ?? 0) < backend.vocabularySize else {
            throw BackendError("bad-model", "\(modelPath): the tokenizer gives ids past the model's vocabulary of \(backend.vocabularySize)")
        }
        var sampler = Sampler(sampling)
        _ = try backend.prefill(ids, sequence: 0, allLogits: false)
        emit(prompt)
        var generated: [Int] = []
        var shown = ""
        for _ in 0..<maxTokens {
            let next = sampler.next(backend.logits(0))
            if let eos = tokenizer.eos, Int(next) == eos { break }
            generated.append(Int(next))
            let text = (try? tokenizer.decode(generated)) ?? shown
            if text.count > shown.count, text.hasPrefix(shown) {
                emit(String(text.dropFirst(shown.count)))
                shown = text
            }
            _ = try backend.decode([(sequence: 0, token: next)])
        }
    }
}
