import Foundation
import ModelFormat
import Synchronization
import TestSupport
import Testing

/// Every decoder vocabulary in the pinned llama.cpp tree against llama.cpp's own test vectors
/// (`models/ggml-vocab-NAME.gguf.inp`/`.out`, no special tokens added or parsed), token for token.
@Suite("tokenizer agrees with llama.cpp's vocabulary test vectors")
struct VocabularyAgreementTests {
    struct Vocabulary: Sendable, CustomTestStringConvertible {
        let name: String
        let kind: Tokenizer.Kind
        let family: PreTokenizer.Family?
        /// BOS is added by default, and which id it is.
        let bos: Int?
        var testDescription: String { name }
    }

    static let vocabularies: [Vocabulary] = [
        .init(name: "gpt-2", kind: .bpe, family: .gpt2, bos: nil),
        .init(name: "llama-bpe", kind: .bpe, family: .llama3, bos: 128000),
        .init(name: "llama-spm", kind: .sentencePiece, family: nil, bos: 1),
        .init(name: "qwen2", kind: .bpe, family: .qwen2, bos: nil),
        .init(name: "qwen35", kind: .bpe, family: .qwen35, bos: nil),
        .init(name: "phi-3", kind: .sentencePiece, family: nil, bos: 1),
        .init(name: "gemma-4", kind: .bpe, family: .gemma4, bos: 2),
        .init(name: "falcon", kind: .bpe, family: .falcon, bos: nil),
        .init(name: "deepseek-llm", kind: .bpe, family: .deepseekLLM, bos: 100000),
        .init(name: "deepseek-coder", kind: .bpe, family: .deepseekCoder, bos: 32013),
        .init(name: "starcoder", kind: .bpe, family: .digitsThenGPT2, bos: nil),
        .init(name: "mpt", kind: .bpe, family: .gpt2, bos: nil),
        .init(name: "refact", kind: .bpe, family: .digitsThenGPT2, bos: nil),
        .init(name: "command-r", kind: .bpe, family: .digitsThenGPT2, bos: 5),
    ]

    /// Each vocabulary is read once for all the tests (Gemma 4's has 262,144 tokens).
    static let loaded = Mutex<[String: Tokenizer]>([:])

    func load(_ name: String) throws -> Tokenizer {
        try #require(LlamaCppVocabularies.isPresent, Comment(rawValue: LlamaCppVocabularies.missingMessage))
        if let tokenizer = Self.loaded.withLock({ $0[name] }) { return tokenizer }
        let tokenizer = try Tokenizer(file: try GGUFFile(path: LlamaCppVocabularies.vocabulary(name).path))
        Self.loaded.withLock { $0[name] = tokenizer }
        return tokenizer
    }

    @Test(arguments: VocabularyAgreementTests.vocabularies)
    func sameIdsAsLlamaCpp(_ vocabulary: Vocabulary) throws {
        let tokenizer = try load(vocabulary.name)
        #expect(tokenizer.kind == vocabulary.kind && tokenizer.preTokenizerFamily == vocabulary.family)
        let cases = try LlamaCppVocabularies.cases(vocabulary.name)
        var passed = 0
        for test in cases {
            let ids = tokenizer.encode(test.text, addSpecial: false, parseSpecial: false)
            if ids == test.ids { passed += 1 }
            #expect(ids == test.ids, """
                \(vocabulary.name) \(test.text.debugDescription):
                 ours  \(ids) \(ids.map(tokenizer.piece))
                 llama \(test.ids) \(test.ids.map(tokenizer.piece))
                """)
        }
        // Every file holds llama.cpp's 46 standard cases (qwen35 a few more).
        #expect(cases.count >= 46)
        print("vocabulary \(vocabulary.name): \(passed)/\(cases.count) cases match llama.cpp")
    }

    /// The same vocabularies on slmbench's own varied sample (`tokenizer-texts.txt`: code, CRLF,
    /// emoji sequences, a chat template, white-space runs), against the ids the pinned libllama
    /// gives (Fixtures/README.md says how they were made).
    @Test(arguments: VocabularyAgreementTests.vocabularies)
    func sameIdsAsLibllamaOnVariedText(_ vocabulary: Vocabulary) throws {
        try TokenizerAgreementTests().compare(try load(vocabulary.name), "llamacpp-vocab/\(vocabulary.name).tsv")
    }

    /// BOS as the metadata says, or as llama.cpp defaults for the vocabulary's kind.
    @Test(arguments: VocabularyAgreementTests.vocabularies)
    func beginningOfSequence(_ vocabulary: Vocabulary) throws {
        let tokenizer = try load(vocabulary.name)
        let plain = tokenizer.encode("Hello world", addSpecial: false)
        let special = tokenizer.encode("Hello world", addSpecial: true)
        if let bos = vocabulary.bos {
            #expect(tokenizer.addBOS && tokenizer.bos == bos && special == [bos] + plain)
        } else {
            #expect(!tokenizer.addBOS && special == plain)
        }
    }

    /// Text survives a round trip through every vocabulary (SentencePiece and Gemma 4 by their
    /// byte fallback, byte-level BPE by its byte alphabet).
    @Test(arguments: VocabularyAgreementTests.vocabularies)
    func roundTrips(_ vocabulary: Vocabulary) throws {
        let tokenizer = try load(vocabulary.name)
        for text in ["The capital of France is Paris.", "  two  spaces\tand\ttabs\n\n", "Ünïcödé 日本語 🤖 e\u{301}"] {
            // Compared byte for byte: String equality would accept a composed "é" for "e" + U+0301.
            let back = try tokenizer.decode(tokenizer.encode(text, addSpecial: false))
            #expect(Array(back.utf8) == Array(text.utf8), "\(vocabulary.name): \(back.debugDescription) for \(text.debugDescription)")
        }
    }

    /// Control tokens are read from text only when asked; user-defined ones always.
    @Test func specialTokensInText() throws {
        let qwen = try load("qwen2")
        #expect(qwen.encode("<|im_start|>user", addSpecial: false, parseSpecial: true).first == 151644)
        #expect(!qwen.encode("<|im_start|>user", addSpecial: false, parseSpecial: false).contains(151644))
        // DeepSeek lists some Latin-1 letters as user-defined tokens: found even without parsing.
        let deepseek = try load("deepseek-llm")
        #expect(deepseek.encode("ø", addSpecial: false) == [100002])
        // Phi-3's control tokens swallow the white space after them (llama.cpp's rule for the model).
        let phi = try load("phi-3")
        let stripped = phi.encode("<|user|>  hi", addSpecial: false, parseSpecial: true)
        #expect(stripped.first == 32010 && stripped == phi.encode("<|user|>hi", addSpecial: false, parseSpecial: true))
    }

    /// Pre-tokenizer patterns cut between scalars, also inside a grapheme cluster: the CR of a
    /// CRLF, a letter and its combining mark.
    @Test func splitsInsideGraphemeClusters() throws {
        let gpt2 = try load("gpt-2")
        func ids(_ text: String) -> [Int] { gpt2.encode(text, addSpecial: false) }
        #expect(ids("a\r\nb") == ids("a") + ids("\r") + ids("\n") + ids("b"))
        #expect(ids("e\u{301}x") == ids("e") + ids("\u{301}") + ids("x"))
    }

    /// Vocabularies slmbench cannot read are refused by name, never split some other way.
    @Test func unreadableVocabulariesAreRefused() throws {
        try #require(LlamaCppVocabularies.isPresent, Comment(rawValue: LlamaCppVocabularies.missingMessage))
        #expect(throws: Tokenizer.Failure.unsupportedModel("bert")) { try load("bert-bge") }
        #expect(throws: Tokenizer.Failure.unsupportedModel("t5")) { try load("nomic-bert-moe") }
        #expect(throws: Tokenizer.Failure.unnamedPreTokenizer) { try load("gpt-neox") }
        #expect(throws: Tokenizer.Failure.unnamedPreTokenizer) { try load("aquila") }
    }
}
