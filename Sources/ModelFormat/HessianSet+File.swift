import Foundation

/// A `HessianSet` on disk, so that GPTQ with other options (act-order, dampening, the range
/// search) can reuse one calibration pass: the magic `SLMHESS1`, a little-endian UInt32 length
/// and a JSON header (text, chunks, the name → matrix index, each matrix's columns and tokens),
/// then every matrix's sums as little-endian Float64, row-major.
extension HessianSet {
    static let magic = Array("SLMHESS1".utf8)

    struct Header: Codable {
        struct Matrix: Codable { var columns: Int; var tokens: Int }
        var dataset: String
        var chunkCount: Int
        var chunkSize: Int
        var index: [String: Int]
        var matrices: [Matrix]
    }

    public struct FileError: Error, CustomStringConvertible {
        public var description: String
    }

    public func write(to path: String) throws(FileError) {
        let header = Header(dataset: dataset, chunkCount: chunkCount, chunkSize: chunkSize, index: index,
                            matrices: hessians.map { .init(columns: $0.columns, tokens: $0.tokens) })
        guard let json = try? JSONEncoder().encode(header) else { throw FileError(description: "\(path): cannot encode the Hessians' header") }
        var data = Data(Self.magic)
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for h in hessians { h.sums.withUnsafeBytes { data.append(contentsOf: $0) } } // Float64 is little-endian on every target here
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw FileError(description: "\(path): cannot write the Hessians (\(error.localizedDescription))")
        }
    }

    /// Reads a file `write` made; every error names the file and what is wrong.
    public init(path: String) throws(FileError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(description: "\(path): cannot read the Hessians file") }
        let bytes = [UInt8](data)
        guard bytes.count >= 12, Array(bytes[0..<8]) == Self.magic else { throw FileError(description: "\(path): not a Hessians file (no SLMHESS1 magic)") }
        let length = Int(UInt32(bytes[8]) | UInt32(bytes[9]) << 8 | UInt32(bytes[10]) << 16 | UInt32(bytes[11]) << 24)
        guard length <= bytes.count - 12, let header = try? JSONDecoder().decode(Header.self, from: Data(bytes[12..<(12 + length)])) else {
            throw FileError(description: "\(path): the Hessians header is truncated or not valid JSON")
        }
        var offset = 12 + length
        var hessians: [Hessian] = []
        for (i, m) in header.matrices.enumerated() {
            guard m.columns > 0, m.columns <= 65_536, m.tokens >= 0 else { throw FileError(description: "\(path): matrix \(i) has \(m.columns) columns") }
            let count = m.columns * m.columns
            guard bytes.count - offset >= count * 8 else { throw FileError(description: "\(path): matrix \(i) is truncated") }
            var sums = [Double](repeating: 0, count: count)
            sums.withUnsafeMutableBytes { out in bytes.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count * 8)])) } }
            offset += count * 8
            hessians.append(Hessian(columns: m.columns, matrix: sums, tokens: m.tokens))
        }
        guard offset == bytes.count else { throw FileError(description: "\(path): \(bytes.count - offset) bytes after the last matrix") }
        guard header.index.values.allSatisfy({ $0 >= 0 && $0 < hessians.count }) else {
            throw FileError(description: "\(path): the name index points past the \(hessians.count) matrices")
        }
        self.init(hessians: hessians, index: header.index, dataset: header.dataset, chunkCount: header.chunkCount, chunkSize: header.chunkSize)
    }
}
