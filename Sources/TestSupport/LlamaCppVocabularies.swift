import Foundation
import ModelFormat

/// llama.cpp's own tokenizer test vectors: the vocabulary-only files `models/ggml-vocab-NAME.gguf`
/// in the pinned llama.cpp source, each with `NAME.gguf.inp` (the texts, separated by lines
/// `__ggml_vocab_test__`) and `NAME.gguf.out` (one line of token ids per text, made by the
/// model's reference tokenizer with no special tokens added). scripts/bootstrap.sh keeps that
/// source in the cache; tests that need it fail with `missingMessage` when it is not there.
public enum LlamaCppVocabularies {
    /// One text and the ids llama.cpp's test expects for it.
    public struct Case: Sendable {
        public let text: String
        public let ids: [Int]
    }

    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The pinned llama-cpp-python version (scripts/pins.env).
    public static var version: String {
        let pins = (try? String(contentsOf: TestPaths.packageRoot.appendingPathComponent("scripts/pins.env"), encoding: .utf8)) ?? ""
        let key = "LLAMA_CPP_PYTHON_VERSION="
        return pins.split(separator: "\n").first { $0.hasPrefix(key) }.map { String($0.dropFirst(key.count)) } ?? "unknown"
    }

    /// `$SLMBENCH_CACHE/llama-build/VERSION/llama_cpp_python-VERSION/vendor/llama.cpp/models`, where
    /// scripts/tools/llamacpp-source.sh unpacks the source (`ModelCache.llamaCppVocabularies`).
    public static var folder: URL { ModelCache.fromEnvironment().llamaCppVocabularies }

    public static var isPresent: Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent("ggml-vocab-gpt-2.gguf.inp").path)
    }

    public static var missingMessage: String {
        "llama.cpp's tokenizer test vectors are not in the cache (\(folder.path)); run scripts/bootstrap.sh, which unpacks the pinned llama.cpp source there"
    }

    /// The vocabulary file `ggml-vocab-NAME.gguf`.
    public static func vocabulary(_ name: String) -> URL { folder.appendingPathComponent("ggml-vocab-\(name).gguf") }

    /// The test cases of vocabulary `name`, read as llama.cpp's test-tokenizer-0 reads them.
    public static func cases(_ name: String) throws -> [Case] {
        let input = vocabulary(name).appendingPathExtension("inp"), output = vocabulary(name).appendingPathExtension("out")
        let texts = split(Array(try Data(contentsOf: input)), separator: Array("\n__ggml_vocab_test__\n".utf8))
            .map { String(decoding: $0, as: UTF8.self) }
        var lines = String(decoding: try Data(contentsOf: output), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.count == texts.count else {
            throw FormatError(description: "\(output.path) has \(lines.count) lines for \(texts.count) texts in \(input.lastPathComponent)")
        }
        return try zip(texts, lines).map { text, line in
            let ids = try line.split(separator: " ").map { field in
                guard let id = Int(field) else { throw FormatError(description: "\(output.path): '\(field)' is not a token id") }
                return id
            }
            return Case(text: text, ids: ids)
        }
    }

    /// Byte-exact split: the pieces between separators; text after the last separator is a
    /// piece only when it is not empty.
    static func split(_ bytes: [UInt8], separator: [UInt8]) -> [ArraySlice<UInt8>] {
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0, i = 0
        while i + separator.count <= bytes.count {
            if bytes[i..<(i + separator.count)].elementsEqual(separator) {
                pieces.append(bytes[start..<i])
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        if start < bytes.count { pieces.append(bytes[start...]) }
        return pieces
    }
}
