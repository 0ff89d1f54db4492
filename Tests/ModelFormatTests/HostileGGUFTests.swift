import Foundation
import ModelFormat
import TestSupport
import Testing

/// Malformed GGUF files, generated in code: each must give a GGUFError naming the field,
/// never a crash, a hang or an allocation sized by a lying count.
@Suite("hostile GGUF input")
struct HostileGGUFTests {
    static let valid: [UInt8] = (try? GGUFFixtures.small()) ?? []

    func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    func expectError(_ bytes: [UInt8], _ check: (GGUFError) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try GGUFFile(bytes: bytes)
            Issue.record("expected a GGUFError", sourceLocation: sourceLocation)
        } catch {
            #expect(check(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func everyTruncationIsAnError() throws {
        try #require(!Self.valid.isEmpty)
        let file = try GGUFFile(bytes: Self.valid)
        // Every prefix that cuts into the header or the tensor data must fail cleanly (the
        // alignment padding after the last tensor may go).
        let end = file.dataOffset + file.tensors.map { $0.offset + $0.byteCount }.max()!
        for length in 0..<end where length < file.dataOffset || length % 7 == 0 {
            do {
                _ = try GGUFFile(bytes: Array(Self.valid.prefix(length)))
                Issue.record("prefix of \(length) bytes was accepted")
            } catch {
                switch error {
                case .truncated, .tensorOutOfBounds, .implausibleCount: break
                default: Issue.record("prefix of \(length) bytes: \(error)")
                }
            }
        }
    }

    @Test func wrongMagicAndVersion() {
        var bytes = Self.valid
        bytes[0] = 0x47; bytes[1] = 0x47; bytes[2] = 0x4D; bytes[3] = 0x4C // "GGML"
        expectError(bytes) { if case .notGGUF = $0 { true } else { false } }
        bytes = Self.valid
        bytes.replaceSubrange(4..<8, with: le32(1))
        expectError(bytes) { $0 == .unsupportedVersion(1) }
    }

    @Test func lyingCountsAreRefusedBeforeAllocating() {
        var bytes = Self.valid
        bytes.replaceSubrange(8..<16, with: le64(UInt64.max))
        expectError(bytes) { if case .implausibleCount("tensor_count", 8, _) = $0 { true } else { false } }
        bytes = Self.valid
        bytes.replaceSubrange(16..<24, with: le64(1 << 60))
        expectError(bytes) { if case .implausibleCount("metadata_kv_count", 16, _) = $0 { true } else { false } }
        // First key's string length points far past the end.
        bytes = Self.valid
        bytes.replaceSubrange(24..<32, with: le64(1 << 62))
        expectError(bytes) { if case .implausibleCount(let field, 24, _) = $0 { field.contains("metadata key length") } else { false } }
    }

    /// Finds `needle` in the valid file (to patch a field whose position depends on layout).
    func position(of needle: [UInt8]) throws -> Int {
        let bytes = Self.valid
        return try #require((0...(bytes.count - needle.count)).first { Array(bytes[$0..<$0 + needle.count]) == needle })
    }

    @Test func arrayCountPastTheEnd() throws {
        let key = Array("test.tokens".utf8)
        let at = try position(of: key) + key.count + 4 + 4 // value type, element type
        var bytes = Self.valid
        bytes.replaceSubrange(at..<at + 8, with: le64(1 << 40))
        expectError(bytes) { if case .implausibleCount(let field, _, _) = $0 { field.contains("test.tokens") } else { false } }
    }

    @Test func unknownValueType() throws {
        let key = Array("test.float".utf8)
        let at = try position(of: key) + key.count
        var bytes = Self.valid
        bytes.replaceSubrange(at..<at + 4, with: le32(99))
        expectError(bytes) { if case .unknownValueType(let field, at, 99) = $0 { field.contains("test.float") } else { false } }
    }

    @Test func duplicateKey() throws {
        var writer = GGUFWriter()
        writer.set("key.aa", .uint32(1))
        writer.set("key.ab", .uint32(2))
        var bytes = try writer.bytes()
        let at = try #require((0..<bytes.count - 6).first { Array(bytes[$0..<$0 + 6]) == Array("key.ab".utf8) })
        bytes[at + 5] = UInt8(ascii: "a")
        expectError(bytes) { if case .duplicateKey("key.aa", _) = $0 { true } else { false } }
    }

    func tensorEntry(_ name: String) throws -> Int {
        let bytes = Array(name.utf8)
        return try position(of: bytes) + bytes.count // n_dims follows the name
    }

    @Test func unknownTensorTypeNamesTheTensor() throws {
        var bytes = Self.valid
        let at = try tensorEntry("a.weight") + 4 + 2 * 8
        bytes.replaceSubrange(at..<at + 4, with: le32(77))
        expectError(bytes) { if case .unknownTensorType("a.weight", _, 77) = $0 { true } else { false } }
    }

    @Test func badDimensions() throws {
        var bytes = Self.valid
        let at = try tensorEntry("a.weight")
        bytes.replaceSubrange(at..<at + 4, with: le32(9))
        expectError(bytes) { if case .badShape("a.weight", _, let reason) = $0 { reason.contains("n_dims") } else { false } }
        bytes = Self.valid
        bytes.replaceSubrange(at + 4..<at + 12, with: le64(0))
        expectError(bytes) { if case .badShape("a.weight", _, _) = $0 { true } else { false } }
        bytes = Self.valid
        bytes.replaceSubrange(at + 4..<at + 12, with: le64(1 << 39))
        bytes.replaceSubrange(at + 12..<at + 20, with: le64(1 << 39))
        expectError(bytes) { if case .badShape("a.weight", _, let reason) = $0 { reason.contains("overflow") } else { false } }
    }

    @Test func rowNotAWholeNumberOfBlocks() throws {
        var bytes = Self.valid
        let at = try tensorEntry("b.weight") + 4
        bytes.replaceSubrange(at..<at + 8, with: le64(48))
        expectError(bytes) { if case .badShape("b.weight", _, let reason) = $0 { reason.contains("block") } else { false } }
    }

    @Test func misalignedAndOutOfBoundsAndOverlappingData() throws {
        let offsetAt = try tensorEntry("b.weight") + 4 + 2 * 8 + 4
        var bytes = Self.valid
        bytes.replaceSubrange(offsetAt..<offsetAt + 8, with: le64(520))
        expectError(bytes) { $0 == .misaligned(tensor: "b.weight", dataOffset: 520, alignment: 32) }
        bytes.replaceSubrange(offsetAt..<offsetAt + 8, with: le64(1 << 20))
        expectError(bytes) { if case .tensorOutOfBounds("b.weight", _, _, _) = $0 { true } else { false } }
        bytes.replaceSubrange(offsetAt..<offsetAt + 8, with: le64(0))
        expectError(bytes) { if case .tensorsOverlap = $0 { true } else { false } }
    }

    @Test func duplicateTensorName() throws {
        var bytes = Self.valid
        let at = try position(of: Array("b.weight".utf8))
        bytes.replaceSubrange(at..<at + 8, with: Array("a.weight".utf8))
        expectError(bytes) { if case .duplicateTensor("a.weight", _) = $0 { true } else { false } }
    }

    @Test func badAlignmentValue() throws {
        var writer = GGUFWriter()
        writer.set("general.alignment", .uint32(48))
        #expect(throws: GGUFError.badAlignment(value: 48)) { try writer.bytes() }
        writer.set("general.alignment", .int32(32))
        let bytes = try writer.bytes()
        expectError(bytes) { $0 == .wrongMetadataType(key: "general.alignment", expected: "uint32") }
    }

    @Test func invalidUTF8InATensorName() throws {
        var bytes = Self.valid
        let at = try position(of: Array("a.weight".utf8))
        bytes[at] = 0xFF
        expectError(bytes) { if case .invalidString = $0 { true } else { false } }
    }

    @Test func randomByteFlipsNeverCrash() throws {
        var state: UInt64 = 12345
        for _ in 0..<3000 {
            var bytes = Self.valid
            for _ in 0..<3 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let at = Int(state >> 33) % min(bytes.count, 400)
                bytes[at] = UInt8(truncatingIfNeeded: state >> 17)
            }
            _ = try? GGUFFile(bytes: bytes)
        }
    }

    @Test func missingFileNamesThePath() {
        #expect(throws: GGUFError.cannotOpen(path: "/nonexistent/model.gguf", errno: ENOENT)) {
            try GGUFFile(path: "/nonexistent/model.gguf")
        }
    }
}
