import Synchronization

/// The two merge algorithms, per word (BPE) or per text fragment (SentencePiece).
extension Tokenizer {
    /// Spaces written as U+2581, scalar by scalar (Foundation's string search would not find a
    /// space that starts a grapheme cluster, such as one followed by a combining mark).
    static func escapingSpaces(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { out.append(scalar == " " ? "\u{2581}" : scalar) }
        return String(out)
    }

    func id(_ text: String) -> Int? { ids[TokenText(text)] }

    /// The `<0xXX>` token for one byte.
    func hexByteToken(_ byte: UInt8) -> Int? {
        id("<0x\(byte < 16 ? "0" : "")\(String(byte, radix: 16, uppercase: true))>")
    }

    /// SentencePiece's token for one byte: `<0xXX>`, else the byte as a one-character token.
    func byteToken(_ byte: UInt8) -> Int? {
        hexByteToken(byte) ?? (byte < 0x80 ? id(String(UnicodeScalar(byte))) : nil)
    }

    /// BPE of one pre-tokenized word.
    func bpe(_ word: String, _ pre: PreTokenizer) -> [Int] {
        let symbolText = pre.byteLevel ? ByteLevel.encode(word) : word
        let key = TokenText(symbolText)
        if let cached = cache.withLock({ $0[key] }) { return cached }
        var result: [Int] = []
        if pre.wholeWordTokens || (pre.newlineRunTokens && word.utf8.allSatisfy { $0 == 0x0A }), let whole = ids[key] {
            result = [whole]
        } else {
            for symbol in merges.apply(symbolText) {
                if let token = ids[TokenText(symbol)] { result.append(token); continue }
                // A merged symbol outside the vocabulary falls back to its bytes, as llama.cpp
                // does: byte-level vocabularies by their one-byte ASCII tokens (no other byte can
                // be a token on its own), Gemma 4 by its `<0xXX>` tokens.
                for byte in symbol.utf8 {
                    if pre.byteLevel {
                        if byte < 0x80, let token = id(String(UnicodeScalar(byte))) { result.append(token) }
                    } else if let token = hexByteToken(byte) {
                        result.append(token)
                    }
                }
            }
        }
        cache.withLock { if $0.count < 100_000 { $0[key] = result } }
        return result
    }

    struct Bigram: Comparable {
        let score: Float
        let left: Int
        let right: Int
        /// UTF-8 length of the pair, to tell when either symbol has changed since.
        let length: Int

        /// Highest score first, then leftmost.
        static func < (a: Bigram, b: Bigram) -> Bool { a.score > b.score || (a.score == b.score && a.left < b.left) }
    }

    /// SentencePiece merging of one text fragment (spaces are escaped here).
    func sentencePiece(_ fragment: String) -> [Int] {
        guard !fragment.isEmpty else { return [] }
        var chain = SymbolChain(Self.escapingSpaces(fragment).unicodeScalars)
        var queue = MergeQueue<Bigram>()
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0, let token = id(chain.text[left] + chain.text[right]) else { return }
            queue.push(Bigram(score: scores[token], left: left, right: right,
                              length: chain.text[left].utf8.count + chain.text[right].utf8.count))
        }
        for i in 1..<chain.count { consider(i - 1, i) }
        while let best = queue.pop() {
            guard !chain.text[best.left].isEmpty, !chain.text[best.right].isEmpty,
                  chain.text[best.left].utf8.count + chain.text[best.right].utf8.count == best.length else { continue }
            chain.merge(best.left, best.right)
            consider(chain.prev[best.left], best.left)
            consider(best.left, chain.next[best.left])
        }
        var out: [Int] = []
        for symbol in chain.symbols {
            if let token = id(symbol) { out.append(token); continue }
            // Only single characters can be missing (every merge formed a token): their bytes.
            for byte in symbol.utf8 {
                if let token = byteToken(byte) ?? unknown { out.append(token) }
            }
        }
        return out
    }
}
