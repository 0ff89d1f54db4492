import Foundation
import Synchronization

/// A tokenizer read from GGUF metadata: byte-level BPE (`tokenizer.ggml.model = gpt2`) with
/// the pre-tokenizer the file names (`tokenizer.ggml.pre`), or SentencePiece-style (`llama`).
///
/// It follows llama.cpp's behaviour token for token. BPE: the same pre-tokenizer splits (on
/// Unicode code points, with the GPT-2 rules for contractions, letters, numbers, other symbols
/// and white space), then merges by rank, leftmost lowest-ranked pair first. SentencePiece:
/// spaces become U+2581 (with one prefixed to each text fragment when the metadata asks), the
/// highest-scoring adjacent pair that forms a token merges first (leftmost on ties), and
/// characters outside the vocabulary fall back to `<0xXX>` byte tokens. BOS/EOS as the metadata asks.
public final class Tokenizer: Sendable {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case missing(key: String)
        case unsupportedModel(String)
        case unsupportedPreTokenizer(String)
        case invalidToken(id: Int, count: Int)

        public var description: String {
            switch self {
            case let .missing(key): return "tokenizer metadata '\(key)' is missing"
            case let .unsupportedModel(model):
                return "tokenizer.ggml.model '\(model)' is not supported yet (slmbench reads 'gpt2' byte-level BPE and 'llama' SentencePiece)"
            case let .unsupportedPreTokenizer(pre):
                return "tokenizer.ggml.pre '\(pre)' is not supported yet (slmbench reads 'gpt2', 'default' and 'smollm')"
            case let .invalidToken(id, count):
                return "token id \(id) is outside the vocabulary of \(count) tokens"
            }
        }
    }

    /// How text is split before BPE.
    enum PreTokenizer: Equatable {
        /// The GPT-2 pattern.
        case gpt2
        /// Every number code point on its own, then the GPT-2 pattern (smollm, starcoder, …).
        case digitsThenGPT2
    }

    /// Byte-level BPE or SentencePiece.
    public enum Kind: Sendable, Equatable { case bpe, sentencePiece }
    public let kind: Kind
    public let tokens: [String]
    /// SentencePiece scores (higher merges first); empty for BPE.
    let scores: [Float]
    /// SentencePiece: prefix a space to each text fragment that follows the start or a special token.
    public let addSpacePrefix: Bool
    /// llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte.
    public let types: [Int]
    public let bos: Int?
    public let eos: Int?
    public let addBOS: Bool
    public let addEOS: Bool
    let preTokenizer: PreTokenizer
    let ids: [String: Int]
    let ranks: [Pair: Int]
    /// Control and user-defined tokens, longest first, for splitting them out of text.
    let specials: [(text: [Unicode.Scalar], id: Int)]
    /// Words already tokenized (text repeats words a lot).
    private let cache = Mutex<[String: [Int]]>([:])

    struct Pair: Hashable { let left: String, right: String }

    public var count: Int { tokens.count }

    public init(file: GGUFFile) throws(Failure) {
        guard let model = file["tokenizer.ggml.model"]?.string else { throw .missing(key: "tokenizer.ggml.model") }
        switch model {
        case "gpt2": kind = .bpe
        case "llama": kind = .sentencePiece
        default: throw .unsupportedModel(model)
        }
        switch kind == .sentencePiece ? "default" : file["tokenizer.ggml.pre"]?.string ?? "default" {
        case "default", "gpt2", "gpt-2": preTokenizer = .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva": preTokenizer = .digitsThenGPT2
        case let other: throw .unsupportedPreTokenizer(other)
        }
        guard let tokens = file["tokenizer.ggml.tokens"]?.array?.strings else { throw .missing(key: "tokenizer.ggml.tokens") }
        let merges: [String]
        if kind == .bpe {
            guard let m = file["tokenizer.ggml.merges"]?.array?.strings else { throw .missing(key: "tokenizer.ggml.merges") }
            merges = m
            scores = []
        } else {
            guard let s = file["tokenizer.ggml.scores"]?.array?.float32s, s.count == tokens.count else {
                throw .missing(key: "tokenizer.ggml.scores")
            }
            merges = []
            scores = s
        }
        addSpacePrefix = file["tokenizer.ggml.add_space_prefix"]?.bool ?? (kind == .sentencePiece)
        self.tokens = tokens
        let types = file["tokenizer.ggml.token_type"]?.array?.ints ?? Array(repeating: 1, count: tokens.count)
        self.types = types
        bos = file["tokenizer.ggml.bos_token_id"]?.int
        eos = file["tokenizer.ggml.eos_token_id"]?.int
        addBOS = file["tokenizer.ggml.add_bos_token"]?.bool ?? (kind == .sentencePiece)
        addEOS = file["tokenizer.ggml.add_eos_token"]?.bool ?? false
        var ids: [String: Int] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where ids[token] == nil { ids[token] = id }
        self.ids = ids
        var ranks: [Pair: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            guard let space = merge.firstIndex(of: " ") else { continue }
            let pair = Pair(left: String(merge[..<space]), right: String(merge[merge.index(after: space)...]))
            if ranks[pair] == nil { ranks[pair] = rank }
        }
        self.ranks = ranks
        specials = tokens.enumerated()
            .filter { $0.offset < types.count && (types[$0.offset] == 3 || types[$0.offset] == 4) && !$0.element.isEmpty }
            .map { (Array($0.element.unicodeScalars), $0.offset) }
            .sorted { $0.text.count > $1.text.count }
    }

    /// Token ids for `text`. `addSpecial` adds BOS/EOS as the metadata says; `parseSpecial`
    /// recognises control tokens written in the text (`<|im_start|>`) instead of spelling them.
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false) -> [Int] {
        var out: [Int] = []
        if addSpecial, addBOS, let bos { out.append(bos) }
        let scalars = Array(text.unicodeScalars)
        var afterSpecial = true
        for fragment in splitSpecials(scalars, parse: parseSpecial) {
            switch fragment {
            case let .special(id):
                out.append(id)
                afterSpecial = true
            case let .text(range):
                if kind == .bpe {
                    for word in pretokenize(Array(scalars[range])) { out += bpe(word) }
                } else {
                    out += sentencePiece((addSpacePrefix && afterSpecial ? [" "] : []) + Array(scalars[range]))
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
            let type = id < types.count ? types[id] : 1
            if type == 3 || type == 4 {
                if renderSpecial || type == 4 { bytes += Array(tokens[id].utf8) }
                continue
            }
            bytes += kind == .bpe ? ByteLevel.decode(tokens[id]) : sentencePieceBytes(id)
        }
        // SentencePiece: the space added before the first fragment is not part of the text.
        if kind == .sentencePiece, addSpacePrefix, bytes.first == 0x20 { bytes.removeFirst() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A SentencePiece token's bytes: `<0xXX>` byte tokens, else its text with U+2581 as space.
    func sentencePieceBytes(_ id: Int) -> [UInt8] {
        let text = tokens[id]
        if id < types.count, types[id] == 6, text.count == 6, text.hasPrefix("<0x"), let byte = UInt8(text.dropFirst(3).prefix(2), radix: 16) {
            return [byte]
        }
        return Array(text.replacingOccurrences(of: "\u{2581}", with: " ").utf8)
    }

    /// A token's text as the user would see it (bytes decoded; partial UTF-8 shown as U+FFFD).
    public func piece(_ id: Int) -> String {
        guard id >= 0, id < tokens.count else { return "" }
        let type = id < types.count ? types[id] : 1
        if type == 3 || type == 4 { return tokens[id] }
        return String(decoding: kind == .bpe ? ByteLevel.decode(tokens[id]) : sentencePieceBytes(id), as: UTF8.self)
    }

    /// SentencePiece merging of one text fragment (spaces already to be escaped here).
    func sentencePiece(_ fragment: [Unicode.Scalar]) -> [Int] {
        let scalars = fragment.map { $0 == " " ? Unicode.Scalar(0x2581)! : $0 }
        guard !scalars.isEmpty else { return [] }
        // Symbols in a linked list; candidate bigrams in a max-heap by (score, -left).
        var text = scalars.map { String($0) }
        var next = Array(1...scalars.count), prev = Array(-1..<(scalars.count - 1))
        next[scalars.count - 1] = -1
        var heap = BigramHeap()
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0, let id = ids[text[left] + text[right]], id < scores.count else { return }
            heap.push(.init(score: scores[id], left: left, right: right, length: text[left].utf8.count + text[right].utf8.count))
        }
        for i in 1..<scalars.count { consider(i - 1, i) }
        while let best = heap.pop() {
            // Skip bigrams whose symbols changed since they were queued.
            guard !text[best.left].isEmpty, !text[best.right].isEmpty, next[best.left] == best.right,
                  text[best.left].utf8.count + text[best.right].utf8.count == best.length else { continue }
            text[best.left] += text[best.right]
            text[best.right] = ""
            next[best.left] = next[best.right]
            if next[best.right] >= 0 { prev[next[best.right]] = best.left }
            consider(prev[best.left], best.left)
            consider(best.left, next[best.left])
        }
        var out: [Int] = []
        var i = 0
        while i >= 0 {
            if let id = ids[text[i]] {
                out.append(id)
            } else {
                for byte in text[i].utf8 {
                    let hex = String(byte, radix: 16, uppercase: true)
                    if let id = ids["<0x\(byte < 16 ? "0" : "")\(hex)>"] ?? ids[String(UnicodeScalar(byte))] { out.append(id) }
                }
            }
            i = next[i]
        }
        return out
    }

    enum Fragment { case special(Int), text(Range<Int>) }

    func splitSpecials(_ s: [Unicode.Scalar], parse: Bool) -> [Fragment] {
        // Like llama.cpp, user-defined tokens are always matched; control tokens only when parsing specials.
        let candidates = specials.filter { parse || types[$0.id] == 4 }
        guard !candidates.isEmpty else { return s.isEmpty ? [] : [.text(0..<s.count)] }
        var fragments: [Fragment] = []
        var start = 0, i = 0
        outer: while i < s.count {
            for special in candidates where special.text.first == s[i] && i + special.text.count <= s.count
                && Array(s[i..<(i + special.text.count)]) == special.text {
                if start < i { fragments.append(.text(start..<i)) }
                fragments.append(.special(special.id))
                i += special.text.count
                start = i
                continue outer
            }
            i += 1
        }
        if start < s.count { fragments.append(.text(start..<s.count)) }
        return fragments
    }

    /// Splits text into words as the pre-tokenizer does.
    func pretokenize(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        switch preTokenizer {
        case .gpt2:
            return PreTokenize.gpt2(s)
        case .digitsThenGPT2:
            var words: [[Unicode.Scalar]] = []
            var run: [Unicode.Scalar] = []
            for scalar in s {
                if PreTokenize.isNumber(scalar) {
                    if !run.isEmpty { words += PreTokenize.gpt2(run); run = [] }
                    words.append([scalar])
                } else {
                    run.append(scalar)
                }
            }
            if !run.isEmpty { words += PreTokenize.gpt2(run) }
            return words
        }
    }

    /// Byte-level BPE of one word: merge the leftmost lowest-ranked adjacent pair until none is in the merges.
    func bpe(_ word: [Unicode.Scalar]) -> [Int] {
        let mapped = ByteLevel.encode(String(String.UnicodeScalarView(word)))
        if let cached = cache.withLock({ $0[mapped] }) { return cached }
        var symbols = mapped.map { String($0) }
        while symbols.count > 1 {
            var best = Int.max, at = -1
            for i in 0..<(symbols.count - 1) {
                if let rank = ranks[Pair(left: symbols[i], right: symbols[i + 1])], rank < best { best = rank; at = i }
            }
            guard at >= 0 else { break }
            symbols[at] += symbols[at + 1]
            symbols.remove(at: at + 1)
        }
        var result: [Int] = []
        for symbol in symbols {
            if let id = ids[symbol] { result.append(id); continue }
            // Not in the vocabulary as a whole: fall back to its single characters, as llama.cpp does.
            for ch in symbol { if let id = ids[String(ch)] { result.append(id) } }
        }
        cache.withLock { if $0.count < 100_000 { $0[mapped] = result } }
        return result
    }
}

/// A binary max-heap of SentencePiece merge candidates: highest score first, then leftmost.
struct BigramHeap {
    struct Bigram { let score: Float; let left: Int; let right: Int; let length: Int }
    private var items: [Bigram] = []

    static func before(_ a: Bigram, _ b: Bigram) -> Bool { a.score > b.score || (a.score == b.score && a.left < b.left) }

    mutating func push(_ item: Bigram) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(items[i], items[parent]) else { break }
            items.swapAt(i, parent); i = parent
        }
    }

    mutating func pop() -> Bigram? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count, Self.before(items[l], items[best]) { best = l }
                if r < items.count, Self.before(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best); i = best
            }
        }
        return top
    }
}

/// The GPT-2 pre-tokenizer rules on Unicode code points:
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
enum PreTokenize {
    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isWhitespace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }

    static func isOther(_ c: Unicode.Scalar) -> Bool { !isWhitespace(c) && !isLetter(c) && !isNumber(c) }

    static func gpt2(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var pos = 0
        let n = s.count
        func at(_ i: Int) -> Unicode.Scalar? { i < n ? s[i] : nil }
        while pos < n {
            let start = pos
            let c = s[pos]
            if c == "'", let next = at(pos + 1) {
                if "stmd".unicodeScalars.contains(next) { words.append(Array(s[pos..<pos + 2])); pos += 2; continue }
                if let third = at(pos + 2), (next == "r" && third == "e") || (next == "v" && third == "e") || (next == "l" && third == "l") {
                    words.append(Array(s[pos..<pos + 3])); pos += 3; continue
                }
            }
            let lead = c == " " ? at(pos + 1) : c
            if let lead, isLetter(lead) || isNumber(lead) || isOther(lead) {
                let test: (Unicode.Scalar) -> Bool
                if isLetter(lead) { test = isLetter } else if isNumber(lead) { test = isNumber } else { test = isOther }
                if c == " " { pos += 1 }
                while let x = at(pos), test(x) { pos += 1 }
                words.append(Array(s[start..<pos]))
                continue
            }
            var spaces = 0
            while let x = at(pos + spaces), isWhitespace(x) { spaces += 1 }
            if spaces > 1 && pos + spaces < n {
                pos += spaces - 1 // \s+(?!\S): leave the last space to lead the next word
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1
            }
            words.append(Array(s[start..<pos]))
        }
        return words
    }
}

/// GPT-2's reversible byte ↔ printable-character map used by byte-level BPE vocabularies.
enum ByteLevel {
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(extra)!
                extra += 1
            }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    static func encode(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for byte in text.utf8 { out.append(byteToScalar[Int(byte)]) }
        return String(out)
    }

    static func decode(_ token: String) -> [UInt8] {
        token.unicodeScalars.map { scalarToByte[$0.value] ?? UInt8(ascii: "?") }
    }
}
