import Foundation
import ModelFormat
import TestSupport
import Testing

@Suite("tokenizer from GGUF metadata")
struct TokenizerTests {
    func tokenizer() throws -> Tokenizer {
        try Tokenizer(file: try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage)))
    }

    @Test func roundTripsVariedText() throws {
        let t = try tokenizer()
        let samples = [
            "The capital of France is Paris.",
            "func main() {\n    let x = 42 // answer\n}\n",
            "3.14159 × 10^23, 2024-11-27, $1,299.99",
            "Ünïcödé: 日本語のテキスト, emoji 🤖🚀, Ελληνικά",
            "  leading and trailing spaces   \n\n\ttabs\t\tand\r\nnewlines  ",
            "don't won't they're we've I'm you'll he'd",
            "<|im_start|>user\nhi<|im_end|>",
        ]
        for text in samples {
            let ids = t.encode(text)
            #expect(!ids.isEmpty)
            #expect(try t.decode(ids) == text, "round trip of \(text.debugDescription)")
        }
    }

    @Test func smollmSplitsDigitsOneByOne() throws {
        let t = try tokenizer()
        let ids = t.encode("in 2024")
        #expect(ids.map(t.piece) == ["in", " ", "2", "0", "2", "4"])
    }

    @Test func specialTokensOnlyWhenParsing() throws {
        let t = try tokenizer()
        #expect(t.encode("<|im_start|>", parseSpecial: true) == [1])
        #expect(t.encode("<|im_start|>", parseSpecial: false).count > 1)
        #expect(try t.decode([1, 2]) == "")
        #expect(try t.decode([1], renderSpecial: true) == "<|im_start|>")
    }

    @Test func noBOSForSmolLM() throws {
        let t = try tokenizer()
        #expect(!t.addBOS && t.bos == 1 && t.eos == 2)
        #expect(t.encode("Hello", addSpecial: true) == t.encode("Hello", addSpecial: false))
    }

    @Test func wordsMergeToSingleTokens() throws {
        let t = try tokenizer()
        // Common English words are single tokens with their leading space.
        for word in [" the", " capital", " France", "Hello"] {
            #expect(t.encode(word).count == 1, "\(word) → \(t.encode(word).map(t.piece))")
        }
    }

    @Test func invalidIdsAreRefused() throws {
        let t = try tokenizer()
        #expect(throws: Tokenizer.Failure.invalidToken(id: 49152, count: 49152)) { try t.decode([49152]) }
    }
}

/// Token-for-token agreement with llama.cpp on the real model (fixture made by llama.cpp;
/// Fixtures/README.md says how).
@Suite("tokenizer agrees with llama.cpp")
struct TokenizerAgreementTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func unescape(_ s: Substring) -> String {
        var out = "", escaped = false
        for ch in s {
            if escaped {
                switch ch { case "n": out.append("\n"); case "t": out.append("\t"); case "r": out.append("\r"); default: out.append(ch) }
                escaped = false
            } else if ch == "\\" { escaped = true } else { out.append(ch) }
        }
        return out
    }

    @Test func sameIdsAsLlamaCpp() throws {
        let tokenizer = try Tokenizer(file: try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage)))
        try compare(tokenizer, "tokenizer-llamacpp.tsv")
    }

    /// SentencePiece: a generated vocabulary (scripts/fixtures/make-spm-fixture.py) with byte fallback,
    /// tokenized by llama.cpp with the same tool.
    @Test func sentencePieceSameIdsAsLlamaCpp() throws {
        let file = try GGUFFile(path: Self.folder.appendingPathComponent("spm-vocab.gguf-fixture").path)
        let tokenizer = try Tokenizer(file: file)
        #expect(tokenizer.kind == .sentencePiece && tokenizer.addBOS && tokenizer.addSpacePrefix)
        try compare(tokenizer, "tokenizer-spm-llamacpp.tsv")
        for text in ["Hello world", "  spaced  out ", "日本語 ☃ snowman", "tab\there"] {
            #expect(try tokenizer.decode(tokenizer.encode(text)) == text)
        }
        #expect(tokenizer.encode("the", addSpecial: true).first == 1)
    }

    func compare(_ tokenizer: Tokenizer, _ fixture: String) throws {
        let table = try String(contentsOf: Self.folder.appendingPathComponent(fixture), encoding: .utf8)
        var checked = 0, tokens = 0
        for line in table.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            let text = Self.unescape(parts[0])
            let expected = parts.count > 1 ? parts[1].split(separator: " ").map { Int($0)! } : []
            let got = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            #expect(got == expected, "\(text.debugDescription):\n ours  \(got.map(tokenizer.piece))\n llama \(expected.map(tokenizer.piece))")
            checked += 1
            tokens += expected.count
        }
        #expect(checked == 20 && tokens > 300)
    }
}

/// Vocabulary metadata at the edges, on small vocabularies written in the test.
@Suite("tokenizer metadata at the edges")
struct TokenizerMetadataTests {
    static let bpe: [(String, GGUFValue)] = [
        ("tokenizer.ggml.model", .string("gpt2")),
        ("tokenizer.ggml.tokens", .array(.string(["a", "b", "ab", "ba"]))),
        ("tokenizer.ggml.merges", .array(.string(["b a", "a b"]))),
    ]

    func tokenizer(_ metadata: [(String, GGUFValue)]) throws -> Tokenizer {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        for (key, value) in metadata { writer.set(key, value) }
        return try Tokenizer(file: try GGUFFile(bytes: try writer.bytes()))
    }

    @Test func mergesByRank() throws {
        let t = try tokenizer(Self.bpe + [("tokenizer.ggml.pre", .string("gpt-2"))])
        #expect(t.encode("ab", addSpecial: false) == [2])
        // "b a" ranks before "a b": the second pair merges first.
        #expect(t.encode("aba", addSpecial: false) == [0, 3])
        #expect(t.encode("", addSpecial: false).isEmpty)
    }

    /// User-defined tokens are taken out of the text before it is split; control tokens only
    /// when parsing specials; the longer of two overlapping specials wins.
    @Test func specialTokensComeOutFirst() throws {
        let t = try tokenizer([
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.tokens", .array(.string(["a", "b", "ab", "<x>", "<c>", "<x><c", ">"]))),
            ("tokenizer.ggml.token_type", .array(.int32([1, 1, 1, 4, 3, 4, 1]))),
            ("tokenizer.ggml.merges", .array(.string(["a b"]))),
        ])
        #expect(t.encode("a<x>b", addSpecial: false) == [0, 3, 1])
        #expect(t.encode("<c>", addSpecial: false, parseSpecial: true) == [4])
        #expect(!t.encode("<c>", addSpecial: false, parseSpecial: false).contains(4))
        // "<x><c" (longest) takes the text first, so neither "<x>" nor "<c>" is found.
        #expect(t.encode("<x><c>", addSpecial: false, parseSpecial: true) == [5, 6])
        #expect(t.preTokenizerFamily == .gpt2)
    }

    @Test func llamaCppDefaultPreTokenizer() throws {
        let t = try tokenizer(Self.bpe + [("tokenizer.ggml.pre", .string("default"))])
        #expect(t.preTokenizerFamily == .llamaCppDefault && t.encode("ab", addSpecial: false) == [2])
    }

    @Test func unknownPreTokenizerIsRefusedByName() throws {
        #expect(throws: Tokenizer.Failure.unsupportedPreTokenizer("tekken")) {
            try tokenizer(Self.bpe + [("tokenizer.ggml.pre", .string("tekken"))])
        }
        #expect(Tokenizer.Failure.unsupportedPreTokenizer("tekken").description.contains("'tekken'"))
    }

    @Test func unnamedPreTokenizerIsRefused() throws {
        #expect(throws: Tokenizer.Failure.unnamedPreTokenizer) { try tokenizer(Self.bpe) }
        #expect(throws: Tokenizer.Failure.unsupportedModel("bert")) {
            try tokenizer([("tokenizer.ggml.model", .string("bert"))] + Self.bpe.dropFirst())
        }
    }

    @Test func shortPerTokenArraysAreRefused() throws {
        #expect(throws: Tokenizer.Failure.tooShort(key: "tokenizer.ggml.token_type", count: 1, tokens: 4)) {
            try tokenizer(Self.bpe + [("tokenizer.ggml.pre", .string("gpt-2")), ("tokenizer.ggml.token_type", .array(.int32([1])))])
        }
    }

    /// Special ids outside the vocabulary are not used (llama.cpp's default BOS of 11 among them).
    @Test func outOfRangeSpecialIdsAreDropped() throws {
        let t = try tokenizer(Self.bpe + [("tokenizer.ggml.pre", .string("llama-bpe")),
                                          ("tokenizer.ggml.eos_token_id", .uint32(1 << 30)),
                                          ("tokenizer.ggml.bos_token_id", .int32(-1))])
        #expect(t.bos == nil && t.eos == nil && t.addBOS)
        #expect(t.encode("ab", addSpecial: true) == [2])
    }
}
