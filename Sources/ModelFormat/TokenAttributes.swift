/// What a token is, as llama.cpp holds it: the GGUF token type (`tokenizer.ggml.token_type`),
/// corrected by the token's text where converters are known to get it wrong, plus whether
/// white space next to it is swallowed when it is found in text.
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt16

    static let normal = TokenAttributes(rawValue: 1 << 0)
    static let unknown = TokenAttributes(rawValue: 1 << 1)
    static let control = TokenAttributes(rawValue: 1 << 2)
    static let userDefined = TokenAttributes(rawValue: 1 << 3)
    static let unused = TokenAttributes(rawValue: 1 << 4)
    static let byte = TokenAttributes(rawValue: 1 << 5)
    /// Found in text, it takes the white space before it.
    static let lstrip = TokenAttributes(rawValue: 1 << 6)
    /// Found in text, it takes the white space after it.
    static let rstrip = TokenAttributes(rawValue: 1 << 7)

    /// From a GGUF token type: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte.
    init(type: Int) {
        switch type {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Tokens that end generation, recognised by their text whatever their type says; llama.cpp
    /// makes each a control token, so they are only read from text when specials are parsed.
    static let endOfGeneration: [String] = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<\u{FF5C}end\u{2581}of\u{2581}sentence\u{FF5C}>", "[e~[",
    ]

    /// Fill-in-the-middle tokens by role: the metadata key that names the role's id, and the
    /// texts recognised when it does not. Each becomes a control token.
    static let fillInMiddle: [(keys: [String], texts: [String])] = [
        (["fim_pre_token_id", "prefix_token_id"],
         ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\u{FF5C}fim\u{2581}begin\u{FF5C}>", "<PRE>", "\u{2581}<PRE>",
          "<|code_prefix|>", "<|prefix|>"]),
        (["fim_suf_token_id", "suffix_token_id"],
         ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\u{FF5C}fim\u{2581}hole\u{FF5C}>", "<SUF>", "\u{2581}<SUF>",
          "<|code_suffix|>", "<|suffix|>"]),
        (["fim_mid_token_id", "middle_token_id"],
         ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\u{FF5C}fim\u{2581}end\u{FF5C}>", "<MID>", "\u{2581}<MID>",
          "<|code_middle|>", "<|middle|>"]),
        (["fim_pad_token_id"], ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
        (["fim_rep_token_id"], ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
        (["fim_sep_token_id"], ["<|file_sep|>"]),
    ]

    /// The attributes of every token of `file`'s vocabulary, with llama.cpp's corrections by text
    /// and by model name applied in its order.
    static func reading(_ file: GGUFFile, types: [Int], ids: [TokenText: Int], eos: Int?) -> [TokenAttributes] {
        var attributes = types.map(TokenAttributes.init(type:))
        func id(_ text: String) -> Int? { ids[TokenText(text)] }
        func add(_ attribute: TokenAttributes, to text: String) { if let i = id(text) { attributes[i].insert(attribute) } }

        for role in fillInMiddle where !role.keys.contains(where: { file["tokenizer.ggml.\($0)"]?.int != nil }) {
            for text in role.texts { add(.control, to: text) }
        }
        for text in endOfGeneration { add(.control, to: text) }
        // gpt-oss's channel markers are always rendered.
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let i = id(text) { attributes[i] = .userDefined }
        }
        // o200k_harmony and Solar Open: "<|end|>" separates messages rather than ending generation.
        let call = id("<|call|>") != nil || id("<|calls|>") != nil
        if let end = id("<|end|>"), call, id("<|return|>") != nil || id("<|flush|>") != nil { attributes[end] = .userDefined }
        // Gemma 4 and PLaMo 2 use "</s>" as an ordinary token.
        if let s = id("</s>"), id("<|tool_response>") != nil || eos.map({ $0 == id("<|plamo:eos|>") }) == true {
            attributes[s] = .normal
        }

        // Phi-3: special tokens swallow the white space after them, except these three.
        let name = (file["general.name"]?.string ?? "").lowercased()
        if name.contains("phi-3") || name.contains("phi3") {
            for i in attributes.indices where !attributes[i].isDisjoint(with: [.control, .userDefined, .unknown]) {
                attributes[i].insert(.rstrip)
            }
            add(.rstrip, to: "</s>")
            for text in ["<unk>", "<s>", "<|endoftext|>"] { if let i = id(text) { attributes[i].remove(.rstrip) } }
        }
        return attributes
    }
}
