/// Takes special tokens written in a text out of it before the text is tokenized, as llama.cpp
/// does: user-defined tokens always, control and unknown tokens only when asked to parse them.
///
/// The rule it follows: tokens are taken longest first (by UTF-8 length, then by id); each takes
/// every occurrence, leftmost first and without overlap, that lies wholly in text no earlier
/// token took. A token marked lstrip/rstrip also takes the ASCII white space beside it. What no
/// token took is left as text, cut at each token.
struct SpecialTokenSplitter: Sendable {
    struct Entry: Sendable {
        let bytes: [UInt8]
        let id: Int
        /// Control and unknown tokens are only found when special tokens are parsed.
        let needsParse: Bool
        let lstrip: Bool
        let rstrip: Bool
    }

    enum Fragment: Equatable {
        case text(String)
        case token(Int)
    }

    /// Longest first, then by id.
    let entries: [Entry]
    /// A byte trie of the entries' texts: children of node 0 in `root`, the rest in `children`.
    private let root: [Int32]
    private let children: [[UInt8: Int32]]
    /// Entry indices whose text ends at each node.
    private let ends: [[Int32]]
    private let alwaysFound: Bool

    init(tokens: [String], attributes: [TokenAttributes]) {
        var entries: [Entry] = []
        for (id, text) in tokens.enumerated() where id < attributes.count && !text.isEmpty {
            let a = attributes[id]
            guard !a.isDisjoint(with: [.control, .userDefined, .unknown]) else { continue }
            entries.append(Entry(bytes: Array(text.utf8), id: id, needsParse: !a.isDisjoint(with: [.control, .unknown]),
                                 lstrip: a.contains(.lstrip), rstrip: a.contains(.rstrip)))
        }
        entries.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        self.entries = entries
        alwaysFound = entries.contains { !$0.needsParse }

        var root = [Int32](repeating: -1, count: 256)
        var children: [[UInt8: Int32]] = [[:]]
        var ends: [[Int32]] = [[]]
        for (index, entry) in entries.enumerated() {
            var node = 0
            for (depth, byte) in entry.bytes.enumerated() {
                let existing: Int?
                if depth == 0 { existing = root[Int(byte)] >= 0 ? Int(root[Int(byte)]) : nil } else { existing = children[node][byte].map(Int.init) }
                if let existing {
                    node = existing
                } else {
                    children.append([:])
                    ends.append([])
                    let created = children.count - 1
                    if depth == 0 { root[Int(byte)] = Int32(created) } else { children[node][byte] = Int32(created) }
                    node = created
                }
            }
            ends[node].append(Int32(index))
        }
        self.root = root
        self.children = children
        self.ends = ends
    }

    /// `text` cut into plain text and the special tokens found in it.
    func split(_ text: String, parse: Bool) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        guard parse ? !entries.isEmpty : alwaysFound else { return [.text(text)] }
        let bytes = Array(text.utf8)

        // Every occurrence of every candidate, by entry, in text order.
        var occurrences: [Int: [Int]] = [:]
        for start in bytes.indices {
            var node = Int(root[Int(bytes[start])])
            var i = start + 1
            while node >= 0 {
                for e in ends[node] where parse || !entries[Int(e)].needsParse { occurrences[Int(e), default: []].append(start) }
                guard i < bytes.count, let child = children[node][bytes[i]] else { break }
                node = Int(child)
                i += 1
            }
        }
        guard !occurrences.isEmpty else { return [.text(text)] }

        var taken = [Bool](repeating: false, count: bytes.count)
        var tokenAt: [Int: (id: Int, end: Int)] = [:]
        for e in occurrences.keys.sorted() {
            let entry = entries[e]
            var resume = 0
            for start in occurrences[e]! where start >= resume {
                let end = start + entry.bytes.count
                guard !taken[start..<end].contains(true) else { continue }
                var from = start, to = end
                if entry.lstrip { while from > 0, !taken[from - 1], Self.isSpace(bytes[from - 1]) { from -= 1 } }
                if entry.rstrip { while to < bytes.count, !taken[to], Self.isSpace(bytes[to]) { to += 1 } }
                for k in from..<to { taken[k] = true }
                tokenAt[from] = (entry.id, to)
                resume = to
            }
        }

        var fragments: [Fragment] = []
        var position = 0, run = 0
        func flush() { if run < position { fragments.append(.text(String(decoding: bytes[run..<position], as: UTF8.self))) } }
        while position < bytes.count {
            if let token = tokenAt[position] {
                flush()
                fragments.append(.token(token.id))
                position = token.end
                run = position
            } else {
                position += 1
            }
        }
        flush()
        return fragments
    }

    /// C's `isspace` in the C locale, which llama.cpp strips with.
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
}
