import Foundation

/// An importance matrix: for each weight matrix, the mean squared activation of each of its input
/// channels over a calibration text. A quantizer weights each weight's error by its channel's
/// figure, so that channels the activations use heavily are kept closer.
///
/// The file formats are llama.cpp's, so that `llama-quantize --imatrix` reads what slmbench writes
/// and slmbench reads what `llama-imatrix` writes:
/// - **GGUF** (llama-imatrix's default): `general.type` = "imatrix", `imatrix.datasets` (strings),
///   `imatrix.chunk_count` and `imatrix.chunk_size` (u32); per matrix two F32 tensors,
///   `NAME.in_sum2` (Σ x² per channel, one row per expert) and `NAME.counts` (activation rows
///   summed, one per expert).
/// - **Legacy** (`--output-format dat`), little-endian: i32 entry count; per entry i32 name length,
///   the name, i32 `ncall`, i32 value count, f32 values (the mean times `ncall`); then, optionally,
///   i32 chunk count, i32 dataset-name length and the name.
public struct ImportanceMatrix: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        /// Σ x² per input channel, `counts.count` rows (experts) of `channels` each.
        public var sums: [Float]
        /// Activation rows summed into each expert's row of `sums`.
        public var counts: [Int]

        public init(sums: [Float], counts: [Int]) {
            self.sums = sums
            self.counts = counts
        }

        public var channels: Int { counts.isEmpty ? 0 : sums.count / counts.count }

        /// The mean squared activation per channel: `sums ÷ counts`, per expert; 1 where an
        /// expert saw no activation (as llama-quantize reads such an entry).
        public var means: [Float] {
            let n = channels
            var out = [Float](repeating: 1, count: sums.count)
            for (e, count) in counts.enumerated() where count > 0 {
                for i in 0..<n { out[e * n + i] = sums[e * n + i] / Float(count) }
            }
            return out
        }
    }

    /// Per weight tensor name (`blk.0.attn_q.weight`), its entry.
    public var entries: [String: Entry]
    /// The calibration texts the sums were collected over, as their files were named.
    public var datasets: [String]
    /// Chunks of `chunkSize` tokens the sums cover (0 when the file does not say).
    public var chunkCount: Int
    public var chunkSize: Int

    public init(entries: [String: Entry], datasets: [String], chunkCount: Int, chunkSize: Int) {
        self.entries = entries
        self.datasets = datasets
        self.chunkCount = chunkCount
        self.chunkSize = chunkSize
    }

    /// Why an importance-matrix file cannot be read; each names the file and the place.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var description: String
        init(_ path: String, _ message: String) { description = "\(path): \(message)" }
    }

    public enum Format: String, Sendable, CaseIterable {
        case gguf, dat
    }

    /// Reads either format (GGUF by its magic, else legacy).
    public init(path: String) throws(Failure) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Failure(path, "cannot read the importance matrix: \(error.localizedDescription)")
        }
        if data.count >= 4, data.prefix(4) == Data("GGUF".utf8) {
            self = try Self.readGGUF(path)
        } else {
            self = try Self.readLegacy(data, path: path)
        }
    }

    static func readGGUF(_ path: String) throws(Failure) -> ImportanceMatrix {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw Failure(path, "\(error)") }
        if let type = file["general.type"]?.string, type != "imatrix" {
            throw Failure(path, "general.type is '\(type)', not 'imatrix': a model file, not an importance matrix?")
        }
        var sums: [String: GGUFTensorInfo] = [:], counts: [String: GGUFTensorInfo] = [:]
        for t in file.tensors {
            if t.name.hasSuffix(".in_sum2") { sums[String(t.name.dropLast(8))] = t }
            else if t.name.hasSuffix(".counts") { counts[String(t.name.dropLast(7))] = t }
        }
        guard !sums.isEmpty else { throw Failure(path, "no NAME.in_sum2 tensors: not an importance matrix") }
        var entries: [String: Entry] = [:]
        for (name, s) in sums {
            guard let c = counts[name] else { throw Failure(path, "\(name).in_sum2 has no \(name).counts") }
            guard s.type == .f32, c.type == .f32 else { throw Failure(path, "\(name): in_sum2 and counts must be F32") }
            guard c.elementCount > 0, s.elementCount % c.elementCount == 0 else {
                throw Failure(path, "\(name): \(s.elementCount) sums do not divide into \(c.elementCount) experts")
            }
            let sumValues = Array(file.data(for: s).bindMemory(to: Float.self))
            var countValues: [Int] = []
            for v in file.data(for: c).bindMemory(to: Float.self) {
                guard v.isFinite, v >= 0, v < 9.0e15 else { throw Failure(path, "\(name).counts holds \(v), not a count") }
                countValues.append(Int(v.rounded()))
            }
            entries[name] = Entry(sums: sumValues, counts: countValues)
        }
        for name in counts.keys where sums[name] == nil { throw Failure(path, "\(name).counts has no \(name).in_sum2") }
        return ImportanceMatrix(entries: entries, datasets: file["imatrix.datasets"]?.array?.strings ?? [],
                                chunkCount: file["imatrix.chunk_count"]?.int ?? 0, chunkSize: file["imatrix.chunk_size"]?.int ?? 0)
    }

    static func readLegacy(_ data: Data, path: String) throws(Failure) -> ImportanceMatrix {
        var at = 0
        func int32(_ field: String) throws(Failure) -> Int {
            guard at + 4 <= data.count else { throw Failure(path, "truncated at byte \(at) reading \(field)") }
            let v = data.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: Int32.self)) }
            at += 4
            return Int(v)
        }
        func bytes(_ n: Int, _ field: String) throws(Failure) -> Data {
            guard n >= 0, at + n <= data.count else { throw Failure(path, "truncated at byte \(at) reading \(field) (\(n) bytes)") }
            defer { at += n }
            return data.subdata(in: at..<at + n)
        }
        let n = try int32("the entry count")
        guard n >= 1 else { throw Failure(path, "entry count \(n): neither a GGUF nor a legacy importance matrix") }
        var entries: [String: Entry] = [:]
        for i in 0..<n {
            let length = try int32("entry \(i + 1)'s name length")
            guard length > 0, length <= 4096 else { throw Failure(path, "entry \(i + 1): name length \(length) is implausible") }
            guard let name = String(data: try bytes(length, "entry \(i + 1)'s name"), encoding: .utf8) else {
                throw Failure(path, "entry \(i + 1): the name is not UTF-8")
            }
            let ncall = try int32("\(name)'s ncall")
            let count = try int32("\(name)'s value count")
            guard count >= 1 else { throw Failure(path, "\(name): value count \(count)") }
            guard ncall >= 0 else { throw Failure(path, "\(name): ncall \(ncall) is negative") }
            let raw = try bytes(count * 4, "\(name)'s values")
            let values = raw.withUnsafeBytes { b in (0..<count).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
            entries[name] = Entry(sums: values, counts: [ncall])
        }
        var chunks = 0, datasets: [String] = []
        if at + 4 <= data.count {
            chunks = try int32("the chunk count")
            if at + 4 <= data.count {
                let length = try int32("the dataset name's length")
                if length > 0, let name = String(data: try bytes(length, "the dataset name"), encoding: .utf8) { datasets = [name] }
            }
        }
        return ImportanceMatrix(entries: entries, datasets: datasets, chunkCount: chunks, chunkSize: 0)
    }

    /// Writes the matrix in `format`. The legacy format has one count per entry, so an entry with
    /// several experts is written as its means times `ncall`, the chunks its largest count spans, as
    /// llama-imatrix does; reading it back gives the means, and counts of [ncall].
    public func write(to path: String, format: Format = .gguf) throws(Failure) {
        switch format {
        case .gguf:
            var w = GGUFWriter()
            w.set("general.type", .string("imatrix"))
            w.set("imatrix.datasets", .array(.string(datasets)))
            w.set("imatrix.chunk_count", .uint32(UInt32(clamping: chunkCount)))
            w.set("imatrix.chunk_size", .uint32(UInt32(clamping: chunkSize)))
            for name in entries.keys.sorted() {
                let e = entries[name]!
                let sums = e.sums.withUnsafeBytes { [UInt8]($0) }
                let counts = e.counts.map { Float($0) }.withUnsafeBytes { [UInt8]($0) }
                w.tensors.append(GGUFTensorSpec(name: name + ".in_sum2", shape: [e.channels, e.counts.count], type: .f32, bytes: sums))
                w.tensors.append(GGUFTensorSpec(name: name + ".counts", shape: [e.counts.count], type: .f32, bytes: counts))
            }
            do { try w.write(to: path) } catch { throw Failure(path, "\(error)") }
        case .dat:
            var out = Data()
            func append(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
            append(Int32(clamping: entries.count))
            for name in entries.keys.sorted() {
                let e = entries[name]!
                append(Int32(clamping: name.utf8.count))
                out.append(contentsOf: Array(name.utf8))
                // llama-imatrix's ncall is the chunks the largest count spans (rounded up).
                let most = e.counts.max() ?? 0
                let ncall = chunkSize > 0 ? (most + chunkSize - 1) / chunkSize : most
                append(Int32(clamping: ncall))
                append(Int32(clamping: e.sums.count))
                let scale = Float(ncall)
                for m in e.means { withUnsafeBytes(of: (m * (ncall > 0 ? scale : 1)).bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            }
            append(Int32(clamping: chunkCount))
            let dataset = datasets.last ?? ""
            append(Int32(clamping: dataset.utf8.count))
            out.append(contentsOf: Array(dataset.utf8))
            do { try out.write(to: URL(fileURLWithPath: path)) } catch {
                throw Failure(path, "cannot write: \(error.localizedDescription)")
            }
        }
    }

    /// The per-channel weights for one weight tensor of `channels` inputs (expert 0's for a dense
    /// matrix), or nil when the matrix has no entry for it. A row count that does not match is an
    /// error naming the tensor: an importance matrix of another model.
    public func weights(for tensor: String, channels: Int) throws(Failure) -> [Float]? {
        guard let e = entries[tensor] else { return nil }
        guard e.channels == channels else {
            throw Failure(tensor, "the importance matrix has \(e.channels) channels, the tensor \(channels): made for another model?")
        }
        return Array(e.means.prefix(channels))
    }
}
