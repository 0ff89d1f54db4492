/// A token's text compared byte for byte. Swift's `String` equality is canonical equivalence
/// ("é" equals "e" + U+0301), which would fold distinct vocabulary entries into one and match
/// text to a token it does not spell; vocabularies are byte strings.
struct TokenText: Hashable, Sendable {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (a: TokenText, b: TokenText) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }

    func hash(into hasher: inout Hasher) {
        var copy = string
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
