import Foundation

/// How a BPE vocabulary cuts text into words before merging (`tokenizer.ggml.pre`).
///
/// Each family is the ordered list of split patterns its `tokenizer.json` documents (Hugging Face
/// `Split` pre-tokenizers with `behavior: Isolated`, and the `ByteLevel` one's GPT-2 pattern).
/// A pattern cuts every piece the previous one left into its matches and the text between them,
/// both kept; llama.cpp applies the same lists (`llama-vocab.cpp`, `llm_tokenizer_bpe`). The
/// patterns run on ICU through `NSRegularExpression`, on Unicode scalars, with `\s` read as the
/// Unicode White_Space property as the reference tokenizers read it.
public struct PreTokenizer: Sendable {
    /// The families slmbench implements; every `tokenizer.ggml.pre` name it accepts maps to one.
    public enum Family: String, Sendable, CaseIterable {
        case gpt2, digitsThenGPT2, llama3, qwen2, qwen35, falcon, deepseekLLM, deepseekCoder, llamaCppDefault, gemma4
    }

    public let family: Family
    /// Byte-level BPE: words are mapped through the GPT-2 byte alphabet before merging
    /// (Gemma 4 merges raw UTF-8 with spaces written as U+2581 instead).
    let byteLevel: Bool
    /// Spaces become U+2581 before splitting (Gemma 4's normalizer).
    let escapesSpaces: Bool
    /// A word that is itself a token skips merging (`ignore_merges` in Llama 3's tokenizer.json).
    let wholeWordTokens: Bool
    /// Gemma 4: a run of newlines that is itself a token skips merging.
    let newlineRunTokens: Bool
    /// BOS is added unless the metadata says otherwise (Llama 3 and Gemma 4).
    let addsBOSByDefault: Bool
    let patterns: [SplitPattern]

    /// `tokenizer.ggml.pre` names, as llama.cpp groups them (only names it treats exactly as the
    /// family's tested name: same patterns, same merge and BOS rules).
    static let names: [String: Family] = {
        var table: [String: Family] = [:]
        let groups: [(Family, [String])] = [
            (.gpt2, ["gpt-2", "phi-2", "mpt", "olmo", "jais", "exaone4", "gigachat", "a.x-4.0", "mellum",
                     "trillion", "granite-docling"]),
            (.digitsThenGPT2, ["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"]),
            (.llama3, ["llama-bpe", "llama3", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"]),
            (.qwen2, ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "hunyuan", "solar-open", "megrez"]),
            (.qwen35, ["qwen35"]),
            (.falcon, ["falcon"]),
            (.deepseekLLM, ["deepseek-llm"]),
            (.deepseekCoder, ["deepseek-coder"]),
            (.llamaCppDefault, ["default"]),
        ]
        for (family, names) in groups { for name in names { table[name] = family } }
        return table
    }()

    /// The pre-tokenizer of a byte-level BPE vocabulary, by its `tokenizer.ggml.pre` name.
    static func named(_ name: String) -> PreTokenizer? { names[name].map(PreTokenizer.init(family:)) }

    init(family: Family) {
        self.family = family
        byteLevel = family != .gemma4
        escapesSpaces = family == .gemma4
        wholeWordTokens = family == .llama3
        newlineRunTokens = family == .gemma4
        addsBOSByDefault = family == .llama3 || family == .gemma4
        patterns = Self.compiled[family] ?? []
    }

    /// Every family's patterns, compiled once.
    static let compiled: [Family: [SplitPattern]] =
        Dictionary(uniqueKeysWithValues: Family.allCases.map { ($0, compile($0)) })

    /// Splits a text fragment (special tokens already taken out) into the words BPE merges.
    func split(_ text: String) -> [String] {
        var pieces = [escapesSpaces ? Tokenizer.escapingSpaces(text) : text]
        for pattern in patterns {
            var next: [String] = []
            next.reserveCapacity(pieces.count * 2)
            for piece in pieces { pattern.isolate(piece, into: &next) }
            pieces = next
        }
        return pieces
    }

    // The patterns, as the vocabularies' tokenizer.json files write them. `(?i:'s|…)` is spelled
    // `'[sS]|…` (what it means for these ASCII letters) so that ICU's case folding cannot add
    // matches such as the long s.
    static let contractions = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"#
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3 = contractions + #"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2 = contractions + #"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen35 = contractions + #"|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// DeepSeek LLM's letters: the cased letters, listed as ranges in its tokenizer.json.
    static let deepseekLetters = "\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}"
        + "\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}"
        + "\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}\u{13F8}-\u{13FD}"
        + "\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}"
        + "\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}"
        + "\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}"
        + "\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}"
        + "\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}"
        + "\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}"
        + "\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}"
        + "\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}"
        + "\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+"
    /// CJK ideographs and Hangul syllables, as DeepSeek's tokenizers isolate them.
    static let deepseekCJK = "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+"

    static func compile(_ family: Family) -> [SplitPattern] {
        let sources: [String]
        switch family {
        case .gpt2: sources = [gpt2]
        // StarCoder, SmolLM, Command-R, …: every digit alone (`Digits(individual_digits)`), then GPT-2.
        case .digitsThenGPT2: sources = [#"\p{N}"#, gpt2]
        case .llama3: sources = [llama3]
        case .qwen2: sources = [qwen2]
        case .qwen35: sources = [qwen35]
        // Falcon: runs of punctuation (`Punctuation`, which counts ASCII symbols too), GPT-2, then
        // numbers cut into threes from the left.
        case .falcon: sources = [#"[\p{P}\$\+<=>\^~\|`]+"#, gpt2, #"[0-9][0-9][0-9]"#]
        case .deepseekLLM:
            sources = [#"[\r\n]"#, deepseekLetters,
                       "\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+",
                       #"\s+$"#, deepseekCJK, #"\p{N}+"#]
        case .deepseekCoder: sources = [#"[\r\n]"#, #"\s?\p{L}+"#, #"\s?\p{P}+"#, deepseekCJK, #"\p{N}"#]
        // What llama.cpp applies to a BPE vocabulary whose pre-tokenizer is named "default".
        case .llamaCppDefault: sources = [#"[\p{P}\$\+<=>\^~\|]+"#, gpt2, #"\p{N}+"#, #"[0-9][0-9][0-9]"#]
        // Gemma 4 merges whole lines: only runs of newlines are cut apart.
        case .gemma4: sources = [#"[^\n]+|[\n]+"#]
        }
        return sources.map(SplitPattern.init)
    }
}

/// One split pattern, compiled once. `NSRegularExpression` is immutable and safe to share
/// between threads once built.
struct SplitPattern: @unchecked Sendable {
    let source: String
    let regex: NSRegularExpression

    init(_ source: String) {
        self.source = source
        do {
            regex = try NSRegularExpression(pattern: Self.icu(source))
        } catch {
            // The patterns are constants of this file; the tests compile every one.
            fatalError("pre-tokenizer pattern \(source.debugDescription) does not compile: \(error)")
        }
    }

    /// ICU documents `\s` as `[\t\n\f\r\p{Z}]`, which would miss U+000B and U+0085; the
    /// reference tokenizers (and llama.cpp) mean the Unicode White_Space property.
    static func icu(_ source: String) -> String {
        var out = String.UnicodeScalarView(), escaped = false
        for scalar in source.unicodeScalars {
            if escaped {
                switch scalar {
                case "s": out += #"\p{White_Space}"#.unicodeScalars
                case "S": out += #"\P{White_Space}"#.unicodeScalars
                default: out += ["\\", scalar]
                }
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Appends the pieces of `text`: each match, and each stretch between matches.
    ///
    /// ICU reports UTF-16 offsets; they become indices through the UTF-16 view and cut the scalar
    /// view, because a match may end inside a grapheme cluster: "\r" of a CRLF, a letter before
    /// its combining mark. (Foundation's `Range(_:in:)` gives nil for such ranges.)
    func isolate(_ text: String, into out: inout [String]) {
        guard !text.isEmpty else { return }
        let scalars = text.unicodeScalars, utf16 = text.utf16
        var cursor = text.startIndex, cursorOffset = 0
        for match in regex.matches(in: text, range: NSRange(location: 0, length: utf16.count)) where match.range.length > 0 {
            let lower = utf16.index(cursor, offsetBy: match.range.location - cursorOffset)
            let upper = utf16.index(lower, offsetBy: match.range.length)
            if cursor < lower { out.append(String(scalars[cursor..<lower])) }
            out.append(String(scalars[lower..<upper]))
            cursor = upper
            cursorOffset = match.range.location + match.range.length
        }
        if cursor < text.endIndex { out.append(String(scalars[cursor...])) }
    }
}
