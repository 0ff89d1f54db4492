#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One entry of the GGUF tensor directory.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions, innermost first (ggml's ne[0] is the row length).
    public let shape: [Int]
    public let type: TensorType
    /// Offset of the tensor's data from the start of the data section.
    public let offset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
    public var rowLength: Int { shape.first ?? 1 }
    public var rowCount: Int { elementCount / max(1, rowLength) }
}

/// A GGUF file (version 2 or 3), memory-mapped: tensor data is read in place, never copied.
///
/// Every count, length and offset is checked against the file's size before it is used, so a
/// truncated or hostile file gives a `GGUFError` naming the field and byte offset instead of a
/// crash or an unbounded allocation.
public final class GGUFFile: @unchecked Sendable {
    public static let magic: UInt32 = 0x4655_4747 // "GGUF" little-endian
    public static let defaultAlignment = 32
    static let maxDimensions = 4

    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Byte offset of the data section in the file.
    public let dataOffset: Int
    public let fileSize: Int

    private let base: UnsafeRawPointer
    private let release: () -> Void
    private let index: [String: Int]
    private let tensorIndex: [String: Int]

    /// Maps and parses the file at `path`.
    public convenience init(path: String) throws(GGUFError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotOpen(path: path, errno: errno) }
        let size = Int(info.st_size)
        guard size >= 8 else { throw .truncated(field: "header", offset: 0, needed: 24 - size) }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw .cannotOpen(path: path, errno: errno)
        }
        try self.init(path: path, base: UnsafeRawPointer(mapped), size: size) { munmap(mapped, size) }
        isMapped = true
    }

    /// Whether the bytes are a read-only mapping of the file (else a copy in memory).
    public private(set) var isMapped = false

    /// Lets the kernel drop the resident pages wholly inside `region` (a part of this file's
    /// data), for bytes the caller has copied elsewhere: a mapped file's pages come back from
    /// the file if read again. Does nothing for a file held in memory.
    public func evict(_ region: UnsafeRawBufferPointer) {
        guard isMapped, let start = region.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page, end = (Int(bitPattern: start) + region.count) / page * page
        if end > first { madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED) }
    }

    /// Parses GGUF bytes held in memory (tests and generated files); the bytes are copied.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws(GGUFError) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        try self.init(path: name, base: UnsafeRawPointer(buffer), size: bytes.count) { buffer.deallocate() }
    }

    private init(path: String, base: UnsafeRawPointer, size: Int, release: @escaping () -> Void) throws(GGUFError) {
        var cursor = Cursor(base: base, size: size)
        do throws(GGUFError) {
            let magic = try cursor.u32("magic")
            guard magic == Self.magic else { throw GGUFError.notGGUF(magic: magic) }
            let version = try cursor.u32("version")
            guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
            let tensorCount = try cursor.count("tensor_count", minBytesEach: 24)
            let kvCount = try cursor.count("metadata_kv_count", minBytesEach: 13)

            var metadata: [(key: String, value: GGUFValue)] = []
            var index: [String: Int] = [:]
            metadata.reserveCapacity(kvCount)
            for _ in 0..<kvCount {
                let keyOffset = cursor.offset
                let key = try cursor.string("metadata key", strict: true)
                let value = try cursor.value(field: "metadata '\(key)'", depth: 0)
                guard index[key] == nil else { throw GGUFError.duplicateKey(key, offset: keyOffset) }
                index[key] = metadata.count
                metadata.append((key, value))
            }

            var alignment = Self.defaultAlignment
            if let i = index["general.alignment"] {
                guard case let .uint32(value) = metadata[i].value else {
                    throw GGUFError.wrongMetadataType(key: "general.alignment", expected: "uint32")
                }
                guard value > 0, value <= 65536, value & (value - 1) == 0 else {
                    throw GGUFError.badAlignment(value: UInt64(value))
                }
                alignment = Int(value)
            }

            var tensors: [GGUFTensorInfo] = []
            var tensorIndex: [String: Int] = [:]
            tensors.reserveCapacity(tensorCount)
            for _ in 0..<tensorCount {
                let entryOffset = cursor.offset
                let tensor = try cursor.tensorInfo(entryOffset: entryOffset, alignment: alignment)
                guard tensorIndex[tensor.name] == nil else { throw GGUFError.duplicateTensor(tensor.name, offset: entryOffset) }
                tensorIndex[tensor.name] = tensors.count
                tensors.append(tensor)
            }

            let dataOffset = tensorCount == 0 ? cursor.offset : (cursor.offset + alignment - 1) / alignment * alignment
            for tensor in tensors {
                let start = UInt64(dataOffset) + UInt64(tensor.offset)
                guard start + UInt64(tensor.byteCount) <= UInt64(size) else {
                    throw GGUFError.tensorOutOfBounds(tensor: tensor.name, start: start, bytes: UInt64(tensor.byteCount), fileSize: size)
                }
            }
            let sorted = tensors.sorted { $0.offset < $1.offset }
            for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.byteCount > b.offset {
                throw GGUFError.tensorsOverlap(a.name, b.name)
            }

            self.path = path
            self.version = version
            self.metadata = metadata
            self.index = index
            self.alignment = alignment
            self.tensors = tensors
            self.tensorIndex = tensorIndex
            self.dataOffset = dataOffset
            self.fileSize = size
            self.base = base
            self.release = release
        } catch {
            release()
            throw error
        }
    }

    deinit { release() }

    public subscript(key: String) -> GGUFValue? { index[key].map { metadata[$0].value } }

    public func tensor(named name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The tensor's bytes in the mapped file (valid while this object lives).
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + dataOffset + tensor.offset, count: tensor.byteCount)
    }

    /// A required integer metadata value.
    public func int(_ key: String) throws(GGUFError) -> Int {
        guard let value = self[key] else { throw .missingMetadata(key: key) }
        guard let int = value.int else { throw .wrongMetadataType(key: key, expected: "an integer") }
        return int
    }

    /// A required string metadata value.
    public func string(_ key: String) throws(GGUFError) -> String {
        guard let value = self[key] else { throw .missingMetadata(key: key) }
        guard let string = value.string else { throw .wrongMetadataType(key: key, expected: "a string") }
        return string
    }
}

/// Bounds-checked little-endian reads over the mapped bytes.
struct Cursor {
    let base: UnsafeRawPointer
    let size: Int
    var offset = 0

    var remaining: Int { size - offset }

    mutating func bytes(_ n: Int, _ field: String) throws(GGUFError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { throw .truncated(field: field, offset: offset, needed: n - remaining) }
        defer { offset += n }
        return UnsafeRawBufferPointer(start: base + offset, count: n)
    }

    mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ field: String) throws(GGUFError) -> T {
        let raw = try bytes(MemoryLayout<T>.size, field)
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    mutating func u32(_ field: String) throws(GGUFError) -> UInt32 { try load(UInt32.self, field) }
    mutating func u64(_ field: String) throws(GGUFError) -> UInt64 { try load(UInt64.self, field) }

    /// A u64 count whose items need at least `minBytesEach` bytes each: refused when the rest
    /// of the file could not hold that many, which bounds every allocation by the file size.
    mutating func count(_ field: String, minBytesEach: Int) throws(GGUFError) -> Int {
        let at = offset
        let value = try u64(field)
        guard value <= UInt64(remaining / max(1, minBytesEach)) else {
            throw .implausibleCount(field: field, offset: at, value: value)
        }
        return Int(value)
    }

    /// A GGUF string (u64 length + UTF-8 bytes). `strict` refuses invalid UTF-8 (keys, tensor
    /// names); values are decoded leniently since some tokenizers store raw byte pieces.
    mutating func string(_ field: String, strict: Bool) throws(GGUFError) -> String {
        let at = offset
        let length = try count("\(field) length", minBytesEach: 1)
        let raw = try bytes(length, field)
        if strict {
            guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidString(field: field, offset: at) }
            return text
        }
        return String(decoding: raw, as: UTF8.self)
    }

    mutating func value(field: String, depth: Int) throws(GGUFError) -> GGUFValue {
        let at = offset
        let raw = try u32("\(field) type")
        guard let type = GGUFValue.TypeID(rawValue: raw) else { throw .unknownValueType(field: field, offset: at, type: raw) }
        return try value(of: type, field: field, depth: depth)
    }

    mutating func value(of type: GGUFValue.TypeID, field: String, depth: Int) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try load(UInt8.self, field))
        case .int8: return .int8(try load(Int8.self, field))
        case .uint16: return .uint16(try load(UInt16.self, field))
        case .int16: return .int16(try load(Int16.self, field))
        case .uint32: return .uint32(try load(UInt32.self, field))
        case .int32: return .int32(try load(Int32.self, field))
        case .uint64: return .uint64(try load(UInt64.self, field))
        case .int64: return .int64(try load(Int64.self, field))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self, field)))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self, field)))
        case .bool: return .bool(try load(UInt8.self, field) != 0)
        case .string: return .string(try string(field, strict: false))
        case .array: return .array(try array(field: field, depth: depth))
        }
    }

    mutating func array(field: String, depth: Int) throws(GGUFError) -> GGUFArray {
        let at = offset
        let raw = try u32("\(field) element type")
        guard let type = GGUFValue.TypeID(rawValue: raw) else { throw .unknownValueType(field: field, offset: at, type: raw) }
        guard depth < 4 else { throw .implausibleCount(field: "\(field) array nesting", offset: at, value: UInt64(depth + 1)) }
        // Strings need at least their 8-byte length; nested arrays at least type + count.
        let count = try self.count("\(field) count", minBytesEach: type.fixedSize ?? (type == .string ? 8 : 12))
        func fixed<T: FixedWidthInteger>(_: T.Type) throws(GGUFError) -> [T] {
            let raw = try bytes(count * MemoryLayout<T>.size, field)
            return (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
        }
        switch type {
        case .uint8: return .uint8(try fixed(UInt8.self))
        case .int8: return .int8(try fixed(Int8.self))
        case .uint16: return .uint16(try fixed(UInt16.self))
        case .int16: return .int16(try fixed(Int16.self))
        case .uint32: return .uint32(try fixed(UInt32.self))
        case .int32: return .int32(try fixed(Int32.self))
        case .uint64: return .uint64(try fixed(UInt64.self))
        case .int64: return .int64(try fixed(Int64.self))
        case .float32: return .float32(try fixed(UInt32.self).map { Float(bitPattern: $0) })
        case .float64: return .float64(try fixed(UInt64.self).map { Double(bitPattern: $0) })
        case .bool: return .bool(try fixed(UInt8.self).map { $0 != 0 })
        case .string:
            var strings: [String] = []
            strings.reserveCapacity(count)
            for i in 0..<count { strings.append(try string("\(field)[\(i)]", strict: false)) }
            return .string(strings)
        case .array:
            var values: [GGUFValue] = []
            for i in 0..<count {
                values.append(.array(try array(field: "\(field)[\(i)]", depth: depth + 1)))
            }
            return .nested(values)
        }
    }

    mutating func tensorInfo(entryOffset: Int, alignment: Int) throws(GGUFError) -> GGUFTensorInfo {
        let name = try string("tensor name", strict: true)
        let dimsAt = offset
        let dims = try u32("tensor '\(name)' n_dims")
        guard dims >= 1, dims <= UInt32(GGUFFile.maxDimensions) else {
            throw .badShape(tensor: name, offset: dimsAt, reason: "n_dims is \(dims); GGUF tensors have 1 to \(GGUFFile.maxDimensions)")
        }
        var shape: [Int] = []
        var elements: UInt64 = 1
        for d in 0..<Int(dims) {
            let extent = try u64("tensor '\(name)' ne[\(d)]")
            guard extent >= 1, extent < 1 << 40 else {
                throw .badShape(tensor: name, offset: entryOffset, reason: "dimension \(d) is \(extent)")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow, product < 1 << 48 else {
                throw .badShape(tensor: name, offset: entryOffset, reason: "element count overflows")
            }
            elements = product
            shape.append(Int(extent))
        }
        let typeAt = offset
        let type = TensorType(id: try u32("tensor '\(name)' type"))
        guard type.layout != nil else { throw .unknownTensorType(tensor: name, offset: typeAt, type: type.id) }
        guard let rowBytes = type.rowBytes(shape[0]) else {
            throw .badShape(tensor: name, offset: entryOffset,
                            reason: "row length \(shape[0]) is not a multiple of \(type.name)'s block of \(type.layout!.blockElements)")
        }
        let dataOffset = try u64("tensor '\(name)' offset")
        guard dataOffset % UInt64(alignment) == 0 else {
            throw .misaligned(tensor: name, dataOffset: dataOffset, alignment: alignment)
        }
        guard dataOffset < UInt64(size) else {
            throw .tensorOutOfBounds(tensor: name, start: dataOffset, bytes: 0, fileSize: size)
        }
        let rows = Int(elements) / shape[0]
        let (bytes, overflow) = rowBytes.multipliedReportingOverflow(by: rows)
        guard !overflow, bytes <= size else {
            throw .tensorOutOfBounds(tensor: name, start: dataOffset, bytes: UInt64(clamping: overflow ? Int.max : bytes), fileSize: size)
        }
        return GGUFTensorInfo(name: name, shape: shape, type: type, offset: Int(dataOffset), byteCount: bytes)
    }
}
