import Foundation
import Synchronization

/// A tokenizer read from GGUF metadata, following llama.cpp token for token:
///
/// - byte-level BPE (`tokenizer.ggml.model = gpt2`) with the pre-tokenizer the file names
///   (`tokenizer.ggml.pre`, see `PreTokenizer`), merges by rank;
/// - Gemma 4's BPE (`gemma4`): spaces as U+2581, merges over raw UTF-8, `<0xXX>` byte fallback;
/// - SentencePiece (`llama`): spaces as U+2581 (with one prefixed to each text fragment when the
///   metadata asks), the highest-scoring adjacent pair that forms a token merges first (leftmost
///   on ties), and characters outside the vocabulary fall back to `<0xXX>` byte tokens.
///
/// Special tokens written in the text are found first (`SpecialTokenSplitter`); BOS and EOS are
/// added as the metadata says, with llama.cpp's defaults where it says nothing. A vocabulary of
/// another kind, or a pre-tokenizer slmbench does not implement, is refused by name.
public final class Tokenizer: Sendable {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case missing(key: String)
        case unsupportedModel(String)
        case unsupportedPreTokenizer(String)
        /// A byte-level BPE vocabulary that does not name its pre-tokenizer.
        case unnamedPreTokenizer
        /// An array that must give one value per token is shorter than the token list.
        case tooShort(key: String, count: Int, tokens: Int)
        case invalidToken(id: Int, count: Int)

        public var description: String {
            switch self {
            case let .missing(key): return "tokenizer metadata '\(key)' is missing"
            case let .unsupportedModel(model):
                return "tokenizer.ggml.model '\(model)' is not supported (slmbench reads 'gpt2' and 'gemma4' BPE and 'llama' SentencePiece)"
            case let .unsupportedPreTokenizer(pre):
                return "tokenizer.ggml.pre '\(pre)' is not supported (slmbench reads: \(PreTokenizer.names.keys.sorted().joined(separator: ", ")))"
            case .unnamedPreTokenizer:
                return "tokenizer.ggml.pre is missing, so the file does not say how its BPE splits text (llama.cpp guesses and warns of degraded output); convert the model again with a current llama.cpp"
            case let .tooShort(key, count, tokens):
                return "tokenizer metadata '\(key)' has \(count) entries for \(tokens) tokens"
            case let .invalidToken(id, count):
                return "token id \(id) is outside the vocabulary of \(count) tokens"
            }
        }
    }

    /// Byte-pair merges (byte-level or Gemma 4's) or SentencePiece.
    public enum Kind: Sendable, Equatable { case bpe, sentencePiece }
    public let kind: Kind
    public let tokens: [String]
    /// SentencePiece scores (higher merges first); empty for BPE.
    let scores: [Float]
    /// SentencePiece: prefix a space to each text fragment that follows the start or a special token.
    public let addSpacePrefix: Bool
    /// llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte.
    public let types: [Int]
    let attributes: [TokenAttributes]
    public let bos: Int?
    public let eos: Int?
    let unknown: Int?
    public let addBOS: Bool
    public let addEOS: Bool
    /// BPE only: how text is cut into words, and the merges.
    let preTokenizer: PreTokenizer?
    let merges: BytePairMerges
    /// Token ids by exact text; a text listed twice maps to its last id, as in llama.cpp.
    let ids: [TokenText: Int]
    let specials: SpecialTokenSplitter
    /// Words already tokenized (text repeats words a lot).
    let cache = Mutex<[TokenText: [Int]]>([:])

    public var count: Int { tokens.count }

    /// The pre-tokenizer family of a BPE vocabulary (nil for SentencePiece).
    public var preTokenizerFamily: PreTokenizer.Family? { preTokenizer?.family }

    public init(file: GGUFFile) throws(Failure) {
        guard let model = file["tokenizer.ggml.model"]?.string else { throw .missing(key: "tokenizer.ggml.model") }
        let kind: Kind, preTokenizer: PreTokenizer?
        switch model {
        case "gpt2":
            guard let pre = file["tokenizer.ggml.pre"]?.string else { throw .unnamedPreTokenizer }
            guard let named = PreTokenizer.named(pre) else { throw .unsupportedPreTokenizer(pre) }
            kind = .bpe
            preTokenizer = named
        case "gemma4":
            kind = .bpe
            preTokenizer = PreTokenizer(family: .gemma4)
        case "llama":
            kind = .sentencePiece
            preTokenizer = nil
        default:
            throw .unsupportedModel(model)
        }
        guard let tokens = file["tokenizer.ggml.tokens"]?.array?.strings else { throw .missing(key: "tokenizer.ggml.tokens") }
        if kind == .bpe {
            guard let m = file["tokenizer.ggml.merges"]?.array?.strings else { throw .missing(key: "tokenizer.ggml.merges") }
            merges = BytePairMerges(m)
            scores = []
        } else {
            guard let s = file["tokenizer.ggml.scores"]?.array?.float32s else { throw .missing(key: "tokenizer.ggml.scores") }
            guard s.count >= tokens.count else { throw .tooShort(key: "tokenizer.ggml.scores", count: s.count, tokens: tokens.count) }
            merges = BytePairMerges([])
            scores = s
        }
        let types = file["tokenizer.ggml.token_type"]?.array?.ints ?? Array(repeating: 1, count: tokens.count)
        guard types.count >= tokens.count else {
            throw .tooShort(key: "tokenizer.ggml.token_type", count: types.count, tokens: tokens.count)
        }

        var ids: [TokenText: Int] = [:]
        ids.reserveCapacity(tokens.count)
        // llama.cpp gives an empty token a placeholder text, so no text maps to it.
        for (id, token) in tokens.enumerated() { ids[TokenText(token.isEmpty ? "[EMPTY_\(id)]" : token)] = id }

        // Special ids: llama.cpp's defaults for the model type, replaced by the metadata's when in range.
        func special(_ key: String, default fallback: Int?) -> Int? {
            if let id = file["tokenizer.ggml.\(key)"]?.int, id >= 0, id < tokens.count { return id }
            return fallback.flatMap { $0 < tokens.count ? $0 : nil }
        }
        let defaults: (bos: Int?, eos: Int?, unknown: Int?) = switch model {
        case "llama": (1, 2, 0)
        case "gpt2": (11, 11, nil)
        default: (nil, nil, nil)
        }
        let eos = special("eos_token_id", default: defaults.eos)
        bos = special("bos_token_id", default: defaults.bos)
        unknown = special("unknown_token_id", default: defaults.unknown)
        self.eos = eos

        // Gemma 4 always starts with BOS, whatever the metadata says (llama.cpp overrides it too).
        let defaultBOS = kind == .sentencePiece || preTokenizer?.addsBOSByDefault == true
        addBOS = preTokenizer?.family == .gemma4 ? true : file["tokenizer.ggml.add_bos_token"]?.bool ?? defaultBOS
        addEOS = file["tokenizer.ggml.add_eos_token"]?.bool ?? false
        addSpacePrefix = kind == .sentencePiece && (file["tokenizer.ggml.add_space_prefix"]?.bool ?? true)

        let attributes = TokenAttributes.reading(file, types: Array(types.prefix(tokens.count)), ids: ids, eos: eos)
        specials = SpecialTokenSplitter(tokens: tokens, attributes: attributes)
        self.attributes = attributes
        self.kind = kind
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.types = types
        self.ids = ids
    }

    /// Token ids for `text`. `addSpecial` adds BOS/EOS as the metadata says; `parseSpecial`
    /// recognises control tokens written in the text (`<|im_start|>`) instead of spelling them.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false) -> [Int] {
        var out: [Int] = []
        if addSpecial, addBOS, let bos { out.append(bos) }
        var afterSpecial = true
        for fragment in specials.split(text, parse: parseSpecial) {
            switch fragment {
            case let .token(id):
                out.append(id)
                afterSpecial = true
            case let .text(piece):
                if let preTokenizer {
                    for word in preTokenizer.split(piece) { out += bpe(word, preTokenizer) }
                } else {
                    out += sentencePiece((addSpacePrefix && afterSpecial ? " " : "") + piece)
                }
                afterSpecial = false
            }
        }
        if addSpecial, addEOS, let eos { out.append(eos) }
        return out
    }

    /// The text of `ids`; control tokens are rendered only when `renderSpecial` is set.
    public func decode(_ ids: [Int], renderSpecial: Bool = false) throws(Failure) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard id >= 0, id < tokens.count else { throw .invalidToken(id: id, count: tokens.count) }
            if attributes[id].contains(.control) {
                if renderSpecial { bytes += Array(tokens[id].utf8) }
                continue
            }
            bytes += pieceBytes(id)
        }
        // SentencePiece: the space added before the first fragment is not part of the text.
        if kind == .sentencePiece, addSpacePrefix, bytes.first == 0x20 { bytes.removeFirst() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A token's text as the user would see it (bytes decoded; partial UTF-8 shown as U+FFFD).
    public func piece(_ id: Int) -> String {
        guard id >= 0, id < tokens.count else { return "" }
        if attributes[id].contains(.control) { return tokens[id] }
        return String(decoding: pieceBytes(id), as: UTF8.self)
    }

    /// The bytes a token stands for: user-defined tokens are their own text; byte-level BPE maps
    /// its alphabet back to bytes; the others write spaces as U+2581 and bytes as `<0xXX>`.
    func pieceBytes(_ id: Int) -> [UInt8] {
        let text = tokens[id]
        if attributes[id].contains(.userDefined) { return Array(text.utf8) }
        if preTokenizer?.byteLevel == true { return ByteLevel.decode(text) }
        if attributes[id].contains(.byte), text.utf8.count == 6, text.hasPrefix("<0x"),
           let byte = UInt8(text.dropFirst(3).prefix(2), radix: 16) {
            return [byte]
        }
        return text.unicodeScalars.flatMap { $0 == "\u{2581}" ? [0x20] : Array(String($0).utf8) }
    }
}
