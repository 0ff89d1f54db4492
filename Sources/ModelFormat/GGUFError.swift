/// Why a GGUF file cannot be read or written. Each case names the field and the byte offset
/// where the problem was found, so a user can locate it with a hex dump. A description never
/// names the file being read: the caller that opened it by path names it once (`PATH: …`).
public enum GGUFError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, errno: Int32)
    case notGGUF(magic: UInt32)
    case unsupportedVersion(UInt32)
    /// The file ends before `needed` bytes of `field` at `offset`.
    case truncated(field: String, offset: Int, needed: Int)
    /// A count or length that cannot be true for a file of this size.
    case implausibleCount(field: String, offset: Int, value: UInt64)
    case unknownValueType(field: String, offset: Int, type: UInt32)
    case invalidString(field: String, offset: Int)
    case duplicateKey(String, offset: Int)
    case duplicateTensor(String, offset: Int)
    case unknownTensorType(tensor: String, offset: Int, type: UInt32)
    case badShape(tensor: String, offset: Int, reason: String)
    case misaligned(tensor: String, dataOffset: UInt64, alignment: Int)
    case badAlignment(value: UInt64)
    /// A tensor's bytes run past the end of the file.
    case tensorOutOfBounds(tensor: String, start: UInt64, bytes: UInt64, fileSize: Int)
    case tensorsOverlap(String, String)
    case wrongMetadataType(key: String, expected: String)
    case missingMetadata(key: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(_, code):
            return "cannot open the file: \(ErrnoText.describe(code))"
        case let .notGGUF(magic):
            return "not a GGUF file: the first 4 bytes are 0x\(String(magic, radix: 16)) instead of \"GGUF\""
        case let .unsupportedVersion(version):
            return "GGUF version \(version) is not supported (slmbench reads versions 2 and 3)"
        case let .truncated(field, offset, needed):
            return "file is truncated: \(field) at byte \(offset) needs \(needed) more bytes than the file has"
        case let .implausibleCount(field, offset, value):
            return "\(field) at byte \(offset) is \(value), more than the file could hold"
        case let .unknownValueType(field, offset, type):
            return "\(field) at byte \(offset) has unknown value type \(type)"
        case let .invalidString(field, offset):
            return "\(field) at byte \(offset) is not valid UTF-8"
        case let .duplicateKey(key, offset):
            return "metadata key '\(key)' appears twice (second at byte \(offset))"
        case let .duplicateTensor(name, offset):
            return "tensor '\(name)' appears twice in the directory (second at byte \(offset))"
        case let .unknownTensorType(tensor, offset, type):
            return "tensor '\(tensor)' (directory entry at byte \(offset)) has unknown type id \(type)"
        case let .badShape(tensor, offset, reason):
            return "tensor '\(tensor)' (directory entry at byte \(offset)): \(reason)"
        case let .misaligned(tensor, dataOffset, alignment):
            return "tensor '\(tensor)' data offset \(dataOffset) is not a multiple of general.alignment \(alignment)"
        case let .badAlignment(value):
            return "general.alignment is \(value); it must be a power of two between 1 and 65536"
        case let .tensorOutOfBounds(tensor, start, bytes, fileSize):
            return "tensor '\(tensor)' occupies bytes \(start)..<\(start &+ bytes) but the file has only \(fileSize) bytes"
        case let .tensorsOverlap(a, b):
            return "tensors '\(a)' and '\(b)' overlap in the data section"
        case let .wrongMetadataType(key, expected):
            return "metadata '\(key)' should be \(expected)"
        case let .missingMetadata(key):
            return "metadata '\(key)' is missing"
        case let .writeFailed(path, reason):
            return "cannot write \(path): \(reason)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum ErrnoText {
    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: text)) (errno \(code))"
    }
}
