import Foundation

/// The tokenizer a synthetic file of a preset carries: its real model family's vocabulary where
/// the pinned llama.cpp source has it, so that the vocabulary size, the special tokens (BOS, EOS,
/// padding, unknown and their ids) and the token types are the family's, not SmolLM2's padded.
public enum SyntheticVocabulary: Sendable, Equatable {
    /// SmolLM2's own tokenizer, read from the real SmolLM2-135M file and cut or padded to the
    /// preset's size: the SmolLM2 presets (whose vocabulary it is) and slmbench's test shapes.
    case smolLM2
    /// llama.cpp's vocabulary-only file `models/ggml-vocab-NAME.gguf` in the pinned source
    /// (llama.cpp's tokenizer test vectors come from the same files).
    case llamaCpp(String)

    /// The file the tokenizer is read from.
    public func path(cache: ModelCache) -> URL {
        switch self {
        case .smolLM2: return cache.path(of: .smollm2_135m)
        case let .llamaCpp(name): return cache.llamaCppVocabularies.appendingPathComponent("ggml-vocab-\(name).gguf")
        }
    }

    /// Opens the vocabulary's file, or says how to get it.
    public func open(cache: ModelCache, for preset: String) throws(Unavailable) -> GGUFFile {
        let path = path(cache: cache)
        guard FileManager.default.fileExists(atPath: path.path) else {
            switch self {
            case .smolLM2:
                throw Unavailable(description: "synthetic \(preset) borrows SmolLM2's tokenizer, which is not in the cache (\(path.path)); run `slmbench models fetch smollm2-135m`")
            case .llamaCpp:
                throw Unavailable(description: "synthetic \(preset) carries its family's vocabulary from llama.cpp's source, which is not in the cache (\(path.path)); run scripts/bootstrap.sh (or scripts/tools/llamacpp-source.sh \(cache.root.path)/llama-build/\(ModelCache.llamaCppPythonVersion))")
            }
        }
        do { return try GGUFFile(path: path.path) } catch {
            throw Unavailable(description: "\(path.path): \(error)")
        }
    }

    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public let description: String
    }
}

extension ModelCache {
    /// The llama-cpp-python release whose vendored llama.cpp slmbench pins (scripts/pins.env says
    /// the same; a test compares them).
    public static let llamaCppPythonVersion = "0.3.36"

    /// `models/` of the pinned llama.cpp source, where scripts/tools/llamacpp-source.sh unpacks it:
    /// the vocabulary-only files `ggml-vocab-*.gguf` and their test vectors.
    public var llamaCppVocabularies: URL {
        let version = Self.llamaCppPythonVersion
        return root.appendingPathComponent("llama-build/\(version)/llama_cpp_python-\(version)/vendor/llama.cpp/models")
    }
}
