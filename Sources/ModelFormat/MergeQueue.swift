/// A binary min-heap of merge candidates (BPE: lowest rank first; SentencePiece: highest score
/// first), each breaking ties on the leftmost position.
struct MergeQueue<Candidate: Comparable> {
    private var items: [Candidate] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ item: Candidate) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count, items[l] < items[best] { best = l }
                if r < items.count, items[r] < items[best] { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}

/// Symbols in a doubly linked list over array slots, as both merge loops keep them: merging
/// appends the right symbol to the left one and empties the right slot.
struct SymbolChain {
    var text: [String]
    var next: [Int]
    var prev: [Int]
    /// Bumped whenever a slot's text changes, so queued candidates can tell they are stale.
    var version: [Int]

    init(_ scalars: String.UnicodeScalarView) {
        text = scalars.map { String($0) }
        let n = text.count
        next = (0..<n).map { $0 + 1 < n ? $0 + 1 : -1 }
        prev = (0..<n).map { $0 - 1 }
        version = [Int](repeating: 0, count: n)
    }

    var count: Int { text.count }

    /// Appends `right` to `left` (its neighbour) and unlinks `right`.
    mutating func merge(_ left: Int, _ right: Int) {
        text[left] += text[right]
        text[right] = ""
        version[left] += 1
        version[right] += 1
        next[left] = next[right]
        if next[right] >= 0 { prev[next[right]] = left }
    }

    /// The symbols left, in order.
    var symbols: [String] { text.filter { !$0.isEmpty } }
}
