import Foundation

/// Converts every weight matrix of a GGUF model to one tensor type (1-D tensors such as norms
/// and biases stay F32), streaming tensor by tensor.
public enum ModelQuantizer {
    /// Bumped when a quantizer's output bytes change, so cached files are regenerated.
    public static let quantizerVersion = 2

    /// The cached copy of `source` in `type`, written first if missing. Files are keyed by the
    /// source's content (SHA-256), the type and the quantizer version, so a sweep never
    /// requantizes the same weights twice and never reuses a stale file.
    public static func ensure(source: URL, type: TensorType, cache: ModelCache,
                              progress: (String) -> Void = { _ in }) throws(Failure) -> URL {
        try ensure(source: source, mix: QuantMix(type: type), cache: cache, progress: progress)
    }

    /// The cached copy of `source` with each tensor in the type `mix` gives it (keyed by the
    /// mix's cache name: a type or recipe name, or the base with a digest of the rules).
    public static func ensure(source: URL, mix: QuantMix, cache: ModelCache,
                              progress: (String) -> Void = { _ in }) throws(Failure) -> URL {
        let digest: String
        do { digest = try ModelFetcher.sha256(of: source) } catch { throw .unreadableSource(error.description) }
        let stem = source.deletingPathExtension().lastPathComponent
        let name = mix.cacheName.replacingOccurrences(of: "recipe:", with: "recipe-")
        let path = cache.models.appendingPathComponent("derived")
            .appendingPathComponent("\(stem)-\(digest.prefix(16))-\(name)-q\(quantizerVersion).gguf")
        if FileManager.default.fileExists(atPath: path.path), (try? GGUFFile(path: path.path)) != nil { return path }
        do {
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch { throw .gguf(.writeFailed(path: path.path, reason: error.localizedDescription)) }
        let file: GGUFFile
        do { file = try GGUFFile(path: source.path) } catch { throw .unreadableSource("\(source.path): \(error)") }
        try quantize(file, mix: mix, output: path.path, progress: progress)
        return path
    }

    /// The type a matrix gets when its rows are not whole blocks of the requested type, as
    /// llama.cpp falls back (576-wide SmolLM2 rows cannot hold 256-element K blocks).
    public static func effectiveType(_ requested: TensorType, rowLength: Int) -> TensorType {
        if requested.rowBytes(rowLength) != nil { return requested }
        let fallbacks: [TensorType: TensorType] = [.q2_K: .q4_0, .q3_K: .q4_0, .q4_K: .q5_0, .q5_K: .q5_1, .q6_K: .q8_0]
        if let fallback = fallbacks[requested], fallback.rowBytes(rowLength) != nil { return fallback }
        return TensorType.f16.rowBytes(rowLength) != nil ? .f16 : .f32
    }

    /// Why a quantize request cannot be carried out.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case cannotQuantize(TensorType)
        case cannotRead(tensor: String, type: TensorType)
        /// The source file could not be read to key the cache.
        case unreadableSource(String)
        /// A tensor edit that does not fit its tensor's shape, or names a tensor copied as it is.
        case badEdit(String)
        case gguf(GGUFError)
        /// The importance matrix does not fit the model.
        case importance(String)

        public var description: String {
            switch self {
            case let .cannotQuantize(type):
                return "cannot quantize to \(type.name) yet; available: \(TensorType.quantizableNames.joined(separator: ", "))"
            case let .cannotRead(tensor, type):
                return "tensor '\(tensor)' is \(type.name), which slmbench cannot dequantize"
            case let .unreadableSource(reason):
                return "cannot read the model to quantize: \(reason)"
            case let .badEdit(name):
                return "tensor '\(name)': its rescaling does not fit its shape, or it is copied unquantized"
            case let .gguf(error):
                return error.description
            case let .importance(reason):
                return reason
            }
        }
    }

    /// Writes `source` with its matrices in `type` to `output`. Returns the tensors that fell
    /// back to another type, by name.
    @discardableResult
    public static func quantize(_ source: GGUFFile, to type: TensorType, output: String,
                                progress: (String) -> Void = { _ in }) throws(Failure) -> [String: TensorType] {
        try quantize(source, mix: QuantMix(type: type), output: output, progress: progress).fallbacks.mapValues { $0.used }
    }

    /// An equivalence transform applied to a tensor's float values before it is quantized (what
    /// SmoothQuant's smoothing writes): element (r, j) is multiplied by `columnScale[j]` and
    /// `rowScale[r]`. A 1-D tensor (a norm, a bias) is one row.
    public struct TensorEdit: Sendable, Equatable {
        public var columnScale: [Float]?
        public var rowScale: [Float]?
        public init(columnScale: [Float]? = nil, rowScale: [Float]? = nil) {
            self.columnScale = columnScale; self.rowScale = rowScale
        }
    }

    /// Writes `source` to `output` with each tensor in the type `mix` assigns it (1-D tensors
    /// F32; matrices llama-quantize never quantizes copied as they are). A recipe also sets
    /// `general.file_type` to llama.cpp's value for it. `edits` rescale tensors (by name) before
    /// they are quantized; `metadata` is added to the file's (how it was made).
    @discardableResult
    public static func quantize(_ source: GGUFFile, mix: QuantMix, output: String,
                                edits: [String: TensorEdit] = [:], metadata: [(key: String, value: GGUFValue)] = [],
                                progress: (String) -> Void = { _ in }) throws(Failure) -> MixAssignment {
        try write(source, mix: mix, output: output, importance: nil, edits: edits, metadata: metadata, progress: progress).assignment
    }

    /// Writes `source` to `output` as `quantize(_:mix:output:)` does, except that every tensor
    /// with an entry in `importance` is quantized with that entry's per-column weights in its
    /// type's scale search (the types `Quantization.usesImportance` lists; others, and tensors
    /// without an entry, come out as without a matrix). The output records the matrix as
    /// llama-quantize does: `quantize.imatrix.file` (`importanceFile`, when given),
    /// `quantize.imatrix.dataset` (its first calibration text), `quantize.imatrix.entries_count`
    /// and `quantize.imatrix.chunks_count`. This is the entry point for an `imatrix` quantization
    /// method. An entry whose channel count differs from its tensor's row length is an error
    /// naming the tensor (a matrix made for another model).
    @discardableResult
    public static func quantize(_ source: GGUFFile, mix: QuantMix, output: String, importance: ImportanceMatrix,
                                importanceFile: String? = nil,
                                progress: (String) -> Void = { _ in }) throws(Failure) -> ImportanceQuantized {
        try write(source, mix: mix, output: output, importance: (importance, importanceFile), progress: progress)
    }

    /// What an importance-weighted quantization did.
    public struct ImportanceQuantized: Sendable {
        /// Every tensor's type, as without a matrix.
        public var assignment: MixAssignment
        /// The tensors whose scale search was weighted by the matrix.
        public var weighted: [String]
        /// Quantized tensors the matrix has no entry for (token embeddings, usually).
        public var unweighted: [String]
    }

    static func write(_ source: GGUFFile, mix: QuantMix, output: String, importance: (matrix: ImportanceMatrix, file: String?)?,
                      edits: [String: TensorEdit] = [:], metadata: [(key: String, value: GGUFValue)] = [],
                      progress: (String) -> Void) throws(Failure) -> ImportanceQuantized {
        if case let .type(type) = mix.base, !Quantization.canQuantize(to: type) { throw .cannotQuantize(type) }
        let assignment = mix.assign(MixModel(file: source))
        var writer = GGUFWriter()
        writer.metadata = source.metadata.filter { $0.key != "general.file_type" && !$0.key.hasPrefix("quantize.imatrix.") }
        if case let .recipe(recipe) = mix.base { writer.set("general.file_type", .uint32(recipe.llamaFileType)) }
        writer.set("slmbench.quantized_from", .string(URL(fileURLWithPath: source.path).lastPathComponent))
        writer.set("slmbench.quantized_to", .string(mix.uniformType?.name ?? mix.description))
        for (key, value) in metadata { writer.set(key, value) }
        var weighted: [String] = [], unweighted: [String] = []
        if let importance {
            if let file = importance.file { writer.set("quantize.imatrix.file", .string(file)) }
            if let dataset = importance.matrix.datasets.first { writer.set("quantize.imatrix.dataset", .string(dataset)) }
            writer.set("quantize.imatrix.entries_count", .int32(Int32(clamping: importance.matrix.entries.count)))
            writer.set("quantize.imatrix.chunks_count", .int32(Int32(clamping: importance.matrix.chunkCount)))
        }
        for tensor in source.tensors {
            let target = assignment.types[tensor.name] ?? .f32
            let edit = edits[tensor.name]
            if let edit {
                guard !assignment.kept.contains(tensor.name), edit.columnScale.map({ $0.count == tensor.rowLength }) ?? true,
                      edit.rowScale.map({ $0.count == tensor.rowCount }) ?? true else { throw .badEdit(tensor.name) }
            }
            if assignment.kept.contains(tensor.name) {
                writer.tensors.append(GGUFTensorSpec(name: tensor.name, shape: tensor.shape, type: tensor.type) { out in
                    out.copyMemory(from: source.data(for: tensor))
                })
                continue
            }
            guard Quantization.canDequantize(tensor.type) else { throw .cannotRead(tensor: tensor.name, type: tensor.type) }
            guard Quantization.canQuantize(to: target) else { throw .cannotQuantize(target) }
            let bytes = tensor.type.rowBytes(tensor.rowLength)! // the reader checked rows are whole blocks
            var weights: ImportanceRows?
            if let importance, Quantization.usesImportance(target), target != .f32 {
                weights = try ImportanceRows(importance.matrix, tensor: tensor)
                if weights == nil { unweighted.append(tensor.name) } else { weighted.append(tensor.name) }
            }
            writer.tensors.append(GGUFTensorSpec(name: tensor.name, shape: tensor.shape, type: target) { [weights] out in
                let row: @Sendable (Int, UnsafeMutableBufferPointer<Float>) throws -> Void = { row, buffer in
                    let source = UnsafeRawBufferPointer(rebasing: source.data(for: tensor)[(row * bytes)..<((row + 1) * bytes)])
                    try Quantization.dequantize(source, type: tensor.type, into: buffer)
                    if let columns = edit?.columnScale { for j in 0..<buffer.count { buffer[j] *= columns[j] } }
                    if let rows = edit?.rowScale { let f = rows[row]; for j in 0..<buffer.count { buffer[j] *= f } }
                }
                let range = try tensorRange(rows: tensor.rowCount, rowLength: tensor.rowLength, for: target, row)
                try convertRows(rows: tensor.rowCount, rowLength: tensor.rowLength, to: target, range: range, into: out, importance: weights, row)
            })
        }
        progress("writing \(writer.tensors.count) tensors to \(output)…")
        do { try writer.write(to: output) } catch { throw .gguf(error) }
        return ImportanceQuantized(assignment: assignment, weighted: weighted, unweighted: unweighted)
    }

    /// For a per-tensor lab type, the (minimum, maximum) over every row `row` produces (a first
    /// pass over the tensor); nil for every other type.
    static func tensorRange(rows: Int, rowLength: Int, for type: TensorType,
                            _ row: (Int, UnsafeMutableBufferPointer<Float>) throws -> Void) throws -> (lo: Float, hi: Float)? {
        guard let lab = LabType(id: type.id), lab.isTensorWise else { return nil }
        var lo = Float.infinity, hi = -Float.infinity
        var floats = [Float](repeating: 0, count: rowLength)
        for r in 0..<rows {
            try floats.withUnsafeMutableBufferPointer { buffer in
                try row(r, buffer)
                for value in buffer { lo = min(lo, value); hi = max(hi, value) }
            }
        }
        return rows > 0 ? (lo, hi) : nil
    }

    /// Fills `out` with `rows` rows of `type`, each produced as floats by `row(index, buffer)`.
    /// Rows are split into chunks across the CPUs; every row's bytes depend only on its index
    /// (and, for per-tensor lab types, the tensor's `range`), so the result does not depend on the split.
    static func convertRows(rows: Int, rowLength: Int, to type: TensorType, range tensorRange: (lo: Float, hi: Float)? = nil,
                            into out: UnsafeMutableRawBufferPointer, importance: ImportanceRows? = nil,
                            _ row: @Sendable (Int, UnsafeMutableBufferPointer<Float>) throws -> Void) throws {
        let rowBytes = type.rowBytes(rowLength)!
        let chunks = min(rows, max(1, ProcessInfo.processInfo.activeProcessorCount * 4))
        let failure = FailureBox()
        let base = UnsafeSendableRaw(out)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let range = (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks)
            var floats = [Float](repeating: 0, count: rowLength)
            for r in range {
                do {
                    try floats.withUnsafeMutableBufferPointer { buffer in
                        try row(r, buffer)
                        let target = UnsafeMutableRawBufferPointer(rebasing: base.buffer[(r * rowBytes)..<((r + 1) * rowBytes)])
                        if let tensorRange, let lab = LabType(id: type.id), lab.isTensorWise {
                            try Quantization.quantizeRow(UnsafeBufferPointer(buffer), tensorWise: lab, range: tensorRange, into: target)
                        } else if let importance {
                            try importance.row(r) { try Quantization.quantize(UnsafeBufferPointer(buffer), to: type, into: target, importance: $0) }
                        } else {
                            try Quantization.quantize(UnsafeBufferPointer(buffer), to: type, into: target)
                        }
                    }
                } catch {
                    failure.set(error)
                    return
                }
            }
        }
        if let error = failure.error { throw error }
    }
}

/// One tensor's importance weights: per expert, one value per input column.
struct ImportanceRows: Sendable {
    let means: [Float]
    let columns: Int
    let rowsPerExpert: Int

    /// The entry for `tensor`, or nil when the matrix has none. An entry whose channels or
    /// experts do not fit the tensor is an error naming it.
    init?(_ matrix: ImportanceMatrix, tensor: GGUFTensorInfo) throws(ModelQuantizer.Failure) {
        guard let entry = matrix.entries[tensor.name] else { return nil }
        guard entry.channels == tensor.rowLength else {
            throw .importance("\(tensor.name): the importance matrix has \(entry.channels) channels, the tensor \(tensor.rowLength) columns: made for another model?")
        }
        let experts = entry.counts.count
        guard experts >= 1, tensor.rowCount % experts == 0 else {
            throw .importance("\(tensor.name): the importance matrix has \(experts) experts, which do not divide the tensor's \(tensor.rowCount) rows")
        }
        let means = entry.means
        guard means.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw .importance("\(tensor.name): the importance matrix holds a negative or non-finite value")
        }
        self.means = means
        columns = entry.channels
        rowsPerExpert = tensor.rowCount / experts
    }

    /// Calls `body` with row `r`'s weights (its expert's).
    func row<T>(_ r: Int, _ body: (UnsafeBufferPointer<Float>) throws -> T) rethrows -> T {
        let expert = r / rowsPerExpert
        return try means.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[(expert * columns)..<((expert + 1) * columns)])) }
    }
}

/// A raw buffer handed to worker threads that write disjoint row ranges of it.
struct UnsafeSendableRaw: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
}

/// The first error raised by any worker.
final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    func set(_ error: Error) { lock.lock(); if stored == nil { stored = error }; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
}
