/// A BPE vocabulary's merges (`tokenizer.ggml.merges`, one "left right" pair a line, the line
/// number its rank) and the merge loop: starting from single characters, the adjacent pair with
/// the lowest rank merges first, the leftmost on ties, until no adjacent pair is listed.
struct BytePairMerges: Sendable {
    struct Pair: Hashable, Sendable {
        let left: TokenText
        let right: TokenText
    }

    let ranks: [Pair: Int]

    init(_ merges: [String]) {
        var ranks: [Pair: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            // The halves are split at the first space after the first character: a left half
            // may itself be a space.
            let scalars = merge.unicodeScalars
            guard !scalars.isEmpty,
                  let space = scalars[scalars.index(after: scalars.startIndex)...].firstIndex(of: " ") else { continue }
            let pair = Pair(left: TokenText(String(scalars[..<space])),
                            right: TokenText(String(scalars[scalars.index(after: space)...])))
            // A repeated pair keeps its first (lowest) rank.
            if ranks[pair] == nil { ranks[pair] = rank }
        }
        self.ranks = ranks
    }

    var count: Int { ranks.count }

    struct Candidate: Comparable {
        let rank: Int
        let left: Int
        let right: Int
        let leftVersion: Int
        let rightVersion: Int

        static func < (a: Candidate, b: Candidate) -> Bool { a.rank < b.rank || (a.rank == b.rank && a.left < b.left) }
    }

    /// The symbols `word` (already in the vocabulary's alphabet) merges into.
    func apply(_ word: String) -> [String] {
        var chain = SymbolChain(word.unicodeScalars)
        guard chain.count > 1 else { return chain.symbols }
        var queue = MergeQueue<Candidate>()
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0,
                  let rank = ranks[Pair(left: TokenText(chain.text[left]), right: TokenText(chain.text[right]))] else { return }
            queue.push(Candidate(rank: rank, left: left, right: right,
                                 leftVersion: chain.version[left], rightVersion: chain.version[right]))
        }
        for i in 1..<chain.count { consider(i - 1, i) }
        while let best = queue.pop() {
            // A candidate is stale once either symbol changed after it was queued.
            guard chain.version[best.left] == best.leftVersion, chain.version[best.right] == best.rightVersion,
                  chain.next[best.left] == best.right else { continue }
            chain.merge(best.left, best.right)
            consider(chain.prev[best.left], best.left)
            consider(best.left, chain.next[best.left])
        }
        return chain.symbols
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
