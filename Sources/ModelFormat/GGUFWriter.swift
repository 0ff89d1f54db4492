#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A tensor to write: its directory entry and a function that fills its bytes.
public struct GGUFTensorSpec: Sendable {
    public let name: String
    public let shape: [Int]
    public let type: TensorType
    /// Fills exactly `byteCount` bytes; called once, in file order, while writing.
    public let fill: @Sendable (UnsafeMutableRawBufferPointer) throws -> Void

    public init(name: String, shape: [Int], type: TensorType,
                fill: @escaping @Sendable (UnsafeMutableRawBufferPointer) throws -> Void) {
        self.name = name; self.shape = shape; self.type = type; self.fill = fill
    }

    /// A tensor whose bytes are already at hand.
    public init(name: String, shape: [Int], type: TensorType, bytes: [UInt8]) {
        self.init(name: name, shape: shape, type: type) { buffer in
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
    }

    public var byteCount: Int? {
        guard let first = shape.first else { return nil }
        return type.rowBytes(first).map { $0 * shape.dropFirst().reduce(1, *) }
    }
}

/// Writes GGUF version 3 files that llama.cpp loads: metadata in the given order, the tensor
/// directory, then each tensor's data at an offset aligned to `general.alignment`.
/// Tensor data is streamed, so memory use is bounded by the largest tensor.
public struct GGUFWriter: Sendable {
    public var metadata: [(key: String, value: GGUFValue)] = []
    public var tensors: [GGUFTensorSpec] = []

    public init() {}

    public var alignment: Int {
        metadata.first { $0.key == "general.alignment" }?.value.int ?? GGUFFile.defaultAlignment
    }

    /// Sets a key, replacing an earlier value in place.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.key == key }) { metadata[i].value = value }
        else { metadata.append((key, value)) }
    }

    public func write(to path: String) throws(GGUFError) {
        let temporary = path + ".partial"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .writeFailed(path: path, reason: ErrnoText.describe(errno)) }
        var sink = FileSink(fd: fd, path: path)
        do throws(GGUFError) {
            try write(into: &sink)
            try sink.flush()
            guard fsync(fd) == 0 else { throw .writeFailed(path: path, reason: ErrnoText.describe(errno)) }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        // Rename last so a reader never sees a half-written model under the final name.
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .writeFailed(path: path, reason: ErrnoText.describe(code))
        }
    }

    /// The whole file in memory (tests and small fixtures).
    public func bytes() throws(GGUFError) -> [UInt8] {
        var sink = MemorySink()
        try write(into: &sink)
        return sink.bytes
    }

    func write<S: ByteSink>(into sink: inout S) throws(GGUFError) {
        let alignment = self.alignment
        guard alignment > 0, alignment & (alignment - 1) == 0 else { throw .badAlignment(value: UInt64(alignment)) }
        var header = Encoder()
        header.u32(GGUFFile.magic)
        header.u32(3)
        header.u64(UInt64(tensors.count))
        header.u64(UInt64(metadata.count))
        var seen = Set<String>()
        for (key, value) in metadata {
            guard seen.insert(key).inserted else { throw .duplicateKey(key, offset: header.bytes.count) }
            header.string(key)
            header.u32(value.typeID.rawValue)
            header.value(value)
        }
        var offset = 0
        var sizes: [Int] = []
        var names = Set<String>()
        for tensor in tensors {
            guard names.insert(tensor.name).inserted else { throw .duplicateTensor(tensor.name, offset: header.bytes.count) }
            guard (1...GGUFFile.maxDimensions).contains(tensor.shape.count), tensor.shape.allSatisfy({ $0 >= 1 }) else {
                throw .badShape(tensor: tensor.name, offset: header.bytes.count, reason: "shape \(tensor.shape) is not 1-4 positive dimensions")
            }
            guard let size = tensor.byteCount else {
                throw .badShape(tensor: tensor.name, offset: header.bytes.count,
                                reason: "row length \(tensor.shape[0]) is not a whole number of \(tensor.type.name) blocks")
            }
            header.string(tensor.name)
            header.u32(UInt32(tensor.shape.count))
            for extent in tensor.shape { header.u64(UInt64(extent)) }
            header.u32(tensor.type.id)
            header.u64(UInt64(offset))
            sizes.append(size)
            offset += (size + alignment - 1) / alignment * alignment
        }
        header.pad(to: alignment)
        try sink.write(header.bytes)
        for (tensor, size) in zip(tensors, sizes) {
            var data = [UInt8](repeating: 0, count: (size + alignment - 1) / alignment * alignment)
            do {
                try data.withUnsafeMutableBytes { try tensor.fill(UnsafeMutableRawBufferPointer(rebasing: $0[0..<size])) }
            } catch let error as GGUFError {
                throw error
            } catch {
                throw .writeFailed(path: "tensor '\(tensor.name)'", reason: "\(error)")
            }
            try sink.write(data)
        }
    }
}

/// Little-endian GGUF encoding of header values.
struct Encoder {
    var bytes: [UInt8] = []

    mutating func integer<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func u32(_ v: UInt32) { integer(v) }
    mutating func u64(_ v: UInt64) { integer(v) }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u64(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    mutating func pad(to alignment: Int) {
        let rounded = (bytes.count + alignment - 1) / alignment * alignment
        bytes.append(contentsOf: repeatElement(0, count: rounded - bytes.count))
    }

    mutating func value(_ value: GGUFValue) {
        switch value {
        case let .uint8(v): integer(v)
        case let .int8(v): integer(v)
        case let .uint16(v): integer(v)
        case let .int16(v): integer(v)
        case let .uint32(v): integer(v)
        case let .int32(v): integer(v)
        case let .uint64(v): integer(v)
        case let .int64(v): integer(v)
        case let .float32(v): integer(v.bitPattern)
        case let .float64(v): integer(v.bitPattern)
        case let .bool(v): integer(UInt8(v ? 1 : 0))
        case let .string(v): string(v)
        case let .array(a): array(a)
        }
    }

    mutating func array(_ a: GGUFArray) {
        u32(a.elementType.rawValue)
        u64(UInt64(a.count))
        switch a {
        case let .uint8(v): v.forEach { integer($0) }
        case let .int8(v): v.forEach { integer($0) }
        case let .uint16(v): v.forEach { integer($0) }
        case let .int16(v): v.forEach { integer($0) }
        case let .uint32(v): v.forEach { integer($0) }
        case let .int32(v): v.forEach { integer($0) }
        case let .uint64(v): v.forEach { integer($0) }
        case let .int64(v): v.forEach { integer($0) }
        case let .float32(v): v.forEach { integer($0.bitPattern) }
        case let .float64(v): v.forEach { integer($0.bitPattern) }
        case let .bool(v): v.forEach { integer(UInt8($0 ? 1 : 0)) }
        case let .string(v): v.forEach { string($0) }
        case let .nested(v): v.forEach { if case let .array(inner) = $0 { array(inner) } }
        }
    }
}

protocol ByteSink {
    mutating func write(_ bytes: [UInt8]) throws(GGUFError)
}

struct MemorySink: ByteSink {
    var bytes: [UInt8] = []
    mutating func write(_ more: [UInt8]) throws(GGUFError) { bytes.append(contentsOf: more) }
}

/// Buffered writes to a file descriptor.
struct FileSink: ByteSink {
    let fd: Int32
    let path: String
    var buffer: [UInt8] = []

    mutating func write(_ more: [UInt8]) throws(GGUFError) {
        buffer.append(contentsOf: more)
        if buffer.count >= 1 << 22 { try flush() }
    }

    mutating func flush() throws(GGUFError) {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, reason: ErrnoText.describe(errno))
            }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
