import CKernels
import ModelFormat

/// Which kernel bodies the engine runs: the portable scalar ones or an ISA's (x86-64: AVX2 with
/// FMA and F16C, + AVX-512 F/BW/VL/VNNI's vpdpbusd for the 8-bit tiles, with results equal to
/// AVX2's; AArch64: base NEON, + the dotprod extension's sdot, + i8mm's smmla). The C side asks
/// the OS what the CPU has (ck_level_supported); the name is what reports record.
public enum KernelLevel: String, Sendable, CaseIterable, Codable {
    case scalar, avx2, avx512, neon, dotprod, i8mm

    public var code: Int32 {
        switch self {
        case .scalar: Int32(CK_LEVEL_SCALAR)
        case .avx2: Int32(CK_LEVEL_AVX2)
        case .avx512: Int32(CK_LEVEL_AVX512)
        case .neon: Int32(CK_LEVEL_NEON)
        case .dotprod: Int32(CK_LEVEL_DOTPROD)
        case .i8mm: Int32(CK_LEVEL_I8MM)
        }
    }

    /// The best level this CPU supports.
    public static var best: KernelLevel { allCases.first { $0.code == ck_level_best() } ?? .scalar }

    public var isSupported: Bool { ck_level_supported(code) != 0 }

    /// The levels this CPU runs, scalar first.
    public static var supported: [KernelLevel] { allCases.filter(\.isSupported) }
}

/// The activation format a weight type's kernel reads: f32 rows, 8-bit blocks of 32 (q8_1 with
/// the block sums the types with a minimum need), or q8_K super-blocks of 256 (an f32 scale and
/// the sum of each 16) for the K-quants.
public enum ActivationFormat: Int32, Sendable, CaseIterable {
    case f32 = 0, q8_0 = 1, q8_1 = 2, q8_K = 3

    /// Elements each scale of the format covers (the span its 8-bit rounding is relative to).
    public var blockElements: Int {
        switch self {
        case .f32: 1
        case .q8_0, .q8_1: 32
        case .q8_K: 256
        }
    }

    func rowBytes(_ n: Int) -> Int { Int(ck_act_row_bytes(rawValue, Int32(n))) }
}

/// A weight matrix: `rows` rows of `columns` elements in `type`'s blocks, where the file maps
/// them or, after `copyIntoMemory()` or `pack()`, in memory of the engine's own.
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: TensorType
    public let rows: Int
    public let columns: Int
    public let rowBytes: Int
    private(set) var base: UnsafeRawPointer
    /// The direct kernel's activation format, or nil when rows are dequantized to f32 first
    /// (BF16, and lab types of 8 bits or with groups not a multiple of 32). F32/F16 read f32
    /// rows, the 32-element types q8_0 or q8_1 blocks, the K-quants q8_K super-blocks, the lab
    /// types q8_0 (symmetric) or q8_1 (asymmetric).
    public let directFormat: ActivationFormat?
    /// Set for lab types, whose rows the C dequantizer unpacks.
    let lab: LabType?
    /// Q4_0 (and IQ4_NL on x86; `ModelWeights.sumsByBlock`): each row is summed block by block into one float
    /// (llama.cpp's order for the matrices it repacks) rather than in eight lanes added at the end. For a lab type
    /// of Q4_0 form (`hasQ4_0Form`) it says the matrix may be packed (`pack()`); unpacked, it runs the lab kernel.
    public var sumsByBlock = false
    /// The rows copied into groups of eight (`pack()`), which the block-order kernel reads
    /// eight rows at a time; nil to read the rows where the file maps them.
    public private(set) var packed: PackedRows?
    /// 6-bit lab rows rearranged for the x86 kernel (`splitLab()`); nil to read the file's layout.
    public private(set) var split: PackedRows?
    /// The rows copied out of the file into memory of the engine's own (`copyIntoMemory()`).
    private(set) var copied: PackedRows?

    public init(name: String, type: TensorType, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer) throws(EngineError) {
        guard let fileRowBytes = type.rowBytes(columns), fileRowBytes * rows == bytes.count, var base = bytes.baseAddress else {
            throw .unsupportedType(tensor: name, type: type.name)
        }
        // Lab types with 8-bit group parameters are widened at load into the plain lab layout
        // (f16 scale and minimum per group, the same codes; exact, see `LabScaledType`), whose
        // fused kernel then runs them: memory holds the widened rows (4.56 → 5 bits a weight at
        // lab4g32q), the file keeps the small ones.
        var type = type, rowBytes = fileRowBytes
        if let scaled = LabScaledType(id: type.id) {
            let plain = TensorType(id: scaled.widened.id)
            guard let wide = plain.rowBytes(columns) else { throw .unsupportedType(tensor: name, type: type.name) }
            let storage = PackedRows(bytes: wide * rows)
            for r in 0..<rows {
                let source = UnsafeRawBufferPointer(start: base + r * fileRowBytes, count: fileRowBytes)
                let target = UnsafeMutableRawBufferPointer(start: storage.pointer + r * wide, count: wide)
                do { try Quantization.widen(source, type: scaled, elements: columns, into: target) } catch {
                    throw .unsupportedType(tensor: name, type: type.name)
                }
            }
            copied = storage
            base = UnsafeRawPointer(storage.pointer)
            type = plain
            rowBytes = wide
        }
        var act: Int32 = 0
        let lab = LabType(id: type.id)
        if ck_weight_supported(Int32(type.id), &act) != 0 {
            directFormat = ActivationFormat(rawValue: act)
        } else if let lab, ck_lab_supported(Int32(lab.bits), Int32(lab.isRowWise ? 0 : lab.group), lab.asymmetric ? 1 : 0, Int32(columns), &act) != 0 {
            directFormat = ActivationFormat(rawValue: act)
        } else if Quantization.canDequantize(type) {
            directFormat = nil
        } else {
            throw .unsupportedType(tensor: name, type: type.name)
        }
        self.lab = lab
        self.name = name
        self.type = type
        self.rows = rows
        self.columns = columns
        self.rowBytes = rowBytes
        self.base = base
    }

    /// The activation format this matrix multiplies with.
    public var activationFormat: ActivationFormat { directFormat ?? .f32 }

    func row(_ r: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + r * rowBytes, count: rowBytes) }

    /// Row `r` as floats (the scalar reference's view of the weights).
    public func dequantizedRow(_ r: Int, into out: UnsafeMutableBufferPointer<Float>) {
        try! Quantization.dequantize(row(r), type: type, into: out) // shape checked at init
    }

    /// Row `r` as floats through the fastest dequantizer there is: C for lab types, the
    /// reference otherwise. Equal to `dequantizedRow` bit for bit (tested).
    public func fastDequantizedRow(_ r: Int, into out: UnsafeMutableBufferPointer<Float>) {
        guard let lab else { return dequantizedRow(r, into: out) }
        ck_dequant_lab((base + r * rowBytes).assumingMemoryBound(to: UInt8.self), out.baseAddress, Int32(columns), Int32(lab.bits),
                       Int32(lab.isRowWise ? 0 : lab.group), lab.asymmetric ? 1 : 0)
    }

    public var byteCount: Int { rows * rowBytes }

    /// Bytes the kernels read: the packed copy's when there is one (a lab type of Q4_0 form with
    /// groups above 32 takes more as Q4_0: 18 bytes per 32 weights), else the rows'.
    public var residentBytes: Int { packed == nil ? byteCount : ck_q4_0_packed_bytes(Int32(rows), Int32(columns)) }

    /// Copies the rows, as they are, into memory of the engine's own (huge pages where the
    /// system grants them: each pass streams the matrix, and the TLB costs less); true when it did.
    @discardableResult
    public mutating func copyIntoMemory(arena: WeightArena? = nil) -> Bool {
        guard packed == nil, copied == nil, byteCount > 0 else { return false }
        let storage = PackedRows(bytes: byteCount, arena: arena)
        storage.pointer.copyMemory(from: base, byteCount: byteCount)
        copied = storage
        base = UnsafeRawPointer(storage.pointer)
        return true
    }

    /// Q4_0, or a lab type whose values Q4_0 holds exactly: symmetric 4-bit codes in groups of a
    /// multiple of 32 or one per row (value d·(c − 7) = −d·((15 − c) − 8); `ck_lab_pack_q4_0`).
    /// Such a matrix packs into the packed Q4_0 layout and runs on its kernel.
    public var hasQ4_0Form: Bool {
        if type == .q4_0 { return true }
        guard let lab, directFormat != nil, lab.bits == 4, !lab.asymmetric else { return false }
        return lab.isRowWise || lab.group % 32 == 0
    }

    /// Copies a 6-bit lab matrix into the split layout (`ck_lab_split`: the same bytes per chunk,
    /// low nibbles and top bits apart), which the x86 kernel unpacks with shifts instead of byte
    /// gathers and multiplies; only where the best level is x86 (on Arm the NEON bodies read the
    /// file's layout). True when it did.
    @discardableResult
    public mutating func splitLab(arena: WeightArena? = nil) -> Bool {
        guard let lab, directFormat != nil, lab.bits == 6, split == nil, packed == nil, copied == nil, byteCount > 0,
              [KernelLevel.avx2, .avx512].contains(KernelLevel.best) else { return false }
        let storage = PackedRows(bytes: byteCount, arena: arena)
        guard ck_lab_split(Int32(lab.bits), Int32(lab.isRowWise ? 0 : lab.group), lab.asymmetric ? 1 : 0, base, rowBytes, Int32(rows),
                           Int32(columns), storage.pointer) != 0 else { return false }
        split = storage
        return true
    }

    /// Copies a block-order matrix of Q4_0 form (`hasQ4_0Form`), or IQ4_NL, into packed groups of
    /// eight rows; true when it did.
    @discardableResult
    public mutating func pack(arena: WeightArena? = nil) -> Bool {
        guard sumsByBlock, hasQ4_0Form || type == .iq4_NL, rows % 8 == 0, columns % 32 == 0, packed == nil else { return false }
        let storage = PackedRows(bytes: ck_q4_0_packed_bytes(Int32(rows), Int32(columns)), arena: arena)
        if let lab {
            guard ck_lab_pack_q4_0(Int32(lab.bits), Int32(lab.isRowWise ? 0 : lab.group), 0, base, rowBytes, Int32(rows), Int32(columns),
                                   storage.pointer) != 0 else { return false }
        } else {
            ck_q4_0_pack(base, rowBytes, Int32(rows), Int32(columns), storage.pointer)
        }
        packed = storage
        return true
    }
}

/// Memory the engine owns for a repacked weight matrix: on Linux, transparent huge pages where
/// the system grants them (ck_weights_alloc), since each pass streams the whole matrix.
/// With an arena, a matrix of up to a quarter of its chunk takes its bytes from the arena's
/// chunks instead, so that the many matrices of a small model under 2 MiB (SmolLM2-135M's are all
/// 0.2–1.8 MB) sit in huge pages too.
public final class PackedRows: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    /// The arena the bytes came from (kept alive by them), or nil when they are this object's own.
    private let arena: WeightArena?

    init(bytes: Int, arena: WeightArena? = nil) {
        if let arena, let p = arena.take(bytes) {
            pointer = p
            self.arena = arena
            return
        }
        guard let p = ck_weights_alloc(max(bytes, 1)) else { fatalError("out of memory: \(bytes) bytes for a repacked weight matrix") }
        pointer = p
        self.arena = nil
    }

    deinit { if arena == nil { ck_weights_free(pointer) } }
}

/// Chunks of weight memory (32 MiB each, huge pages where granted: `ck_weights_alloc`) handed out
/// in 64-byte-aligned pieces to the matrices one model loads, and freed when the last of them
/// goes. One loader at a time (not thread-safe).
public final class WeightArena: @unchecked Sendable {
    static let chunkBytes = 32 << 20
    private var chunks: [UnsafeMutableRawPointer] = []
    private var next: UnsafeMutableRawPointer?
    private var left = 0

    public init() {}

    /// A piece of `bytes`, or nil for a matrix big enough to be given memory of its own.
    func take(_ bytes: Int) -> UnsafeMutableRawPointer? {
        let size = (max(bytes, 1) + 63) & ~63
        guard size <= Self.chunkBytes / 4 else { return nil }
        if size > left {
            guard let chunk = ck_weights_alloc(Self.chunkBytes) else { fatalError("out of memory: a \(Self.chunkBytes)-byte weight chunk") }
            chunks.append(chunk)
            next = chunk
            left = Self.chunkBytes
        }
        guard let p = next else { return nil }
        next = p + size
        left -= size
        return p
    }

    deinit { for chunk in chunks { ck_weights_free(chunk) } }
}

/// A batch of activation rows converted once to every format the next matrices read.
public final class Activations: @unchecked Sendable {
    public let capacityRows: Int
    public let maxColumns: Int
    private(set) var columns = 0
    private var buffers: [ActivationFormat: UnsafeMutableRawPointer] = [:]
    private(set) var rowsReady = 0
    private var source: UnsafePointer<Float>?

    init(capacityRows: Int, maxColumns: Int) {
        self.capacityRows = capacityRows
        self.maxColumns = maxColumns
        for format in [ActivationFormat.q8_0, .q8_1, .q8_K] {
            buffers[format] = .allocate(byteCount: max(1, capacityRows * format.rowBytes(maxColumns)), alignment: 64)
        }
    }

    deinit { for buffer in buffers.values { buffer.deallocate() } }

    public var byteCount: Int { buffers.keys.reduce(0) { $0 + capacityRows * $1.rowBytes(maxColumns) } }

    /// Converts `rows` rows of `x` (`columns` floats each, packed) to the formats listed.
    func prepare(_ x: UnsafePointer<Float>, rows: Int, columns: Int, formats: Set<ActivationFormat>, pool: ThreadPool, level: KernelLevel) {
        precondition(rows <= capacityRows && columns <= maxColumns)
        source = x
        rowsReady = rows
        self.columns = columns
        let needed = formats.subtracting([.f32]).map { ($0, buffers[$0]!, $0.rowBytes(columns)) }
        guard !needed.isEmpty else { return }
        let work = { (range: Range<Int>) in
            for (format, buffer, stride) in needed {
                for t in range { ck_quantize_act(level.code, format.rawValue, x + t * columns, buffer + t * stride, Int32(columns)) }
            }
        }
        if rows * columns < 8192 || pool.size == 1 { work(0..<rows) } else { pool.forEachRange(rows) { range, _ in work(range) } }
    }

    func rows(_ format: ActivationFormat) -> (UnsafeRawPointer, Int) {
        if format == .f32 { return (UnsafeRawPointer(source!), columns * 4) }
        return (UnsafeRawPointer(buffers[format]!), format.rowBytes(columns))
    }
}

/// Matrix products over the pool: each member takes a contiguous block of weight rows.
public struct MatMul {
    let pool: ThreadPool
    let level: KernelLevel
    /// Per-member scratch for rows of types without a direct kernel.
    let scratch: UnsafeMutablePointer<Float>
    let scratchStride: Int

    /// out[t * outStride + r] = W[r] · x[t] for every row of W and t in 0..<rows.
    func callAsFunction(_ w: WeightMatrix, _ x: Activations, out: UnsafeMutablePointer<Float>, outStride: Int) {
        run([(w, out, outStride)], x)
    }

    /// Several matrices reading the same activations, in one wake of the pool.
    func run(_ jobs: [(WeightMatrix, UnsafeMutablePointer<Float>, Int)], _ x: Activations) {
        let tokens = x.rowsReady
        let total = jobs.reduce(0) { $0 + $1.0.rows }
        let scratch = self.scratch, scratchStride = self.scratchStride, level = self.level
        pool.run { member, members in
            // Split on multiples of 8 rows, so packed matrices (groups of eight) split whole.
            var lo = total * member / members / 8 * 8
            let hi = member + 1 == members ? total : total * (member + 1) / members / 8 * 8
            var first = 0
            for (w, out, stride) in jobs {
                defer { first += w.rows }
                guard lo < first + w.rows, lo < hi else { continue }
                let r0 = lo - first, r1 = min(hi - first, w.rows)
                Self.rows(w, r0..<r1, x, tokens, out, stride, scratch + member * scratchStride, level)
                lo = first + r1
            }
        }
    }

    static func rows(_ w: WeightMatrix, _ range: Range<Int>, _ x: Activations, _ tokens: Int,
                     _ out: UnsafeMutablePointer<Float>, _ stride: Int, _ scratch: UnsafeMutablePointer<Float>, _ level: KernelLevel) {
        let (xs, xStride) = x.rows(w.activationFormat)
        if let packed = w.packed, range.lowerBound % 8 == 0, range.upperBound % 8 == 0 {
            ck_matmul_packed(level.code, w.type == .iq4_NL ? Int32(CK_IQ4_NL) : Int32(CK_Q4_0), packed.pointer, Int32(range.lowerBound), Int32(range.upperBound), xs, xStride, Int32(tokens),
                                  out + range.lowerBound, stride, Int32(w.columns))
            return
        }
        if let split = w.split, let lab = w.lab {
            ck_matmul_lab_split(level.code, Int32(lab.bits), Int32(lab.isRowWise ? 0 : lab.group), lab.asymmetric ? 1 : 0, split.pointer,
                                w.rowBytes, Int32(range.lowerBound), Int32(range.upperBound), xs, xStride, Int32(tokens), out + range.lowerBound,
                                stride, Int32(w.columns))
            return
        }
        if w.directFormat != nil, let lab = w.lab {
            ck_matmul_lab(level.code, Int32(lab.bits), Int32(lab.isRowWise ? 0 : lab.group), lab.asymmetric ? 1 : 0, w.base, w.rowBytes,
                          Int32(range.lowerBound), Int32(range.upperBound), xs, xStride, Int32(tokens), out + range.lowerBound, stride, Int32(w.columns))
            return
        }
        if w.directFormat != nil {
            ck_matmul(level.code, Int32(w.type.id), w.sumsByBlock ? 1 : 0, w.base, w.rowBytes, Int32(range.lowerBound), Int32(range.upperBound),
                      xs, xStride, Int32(tokens), out + range.lowerBound, stride, Int32(w.columns))
            return
        }
        let floats = xs.assumingMemoryBound(to: Float.self), xFloats = xStride / 4
        let row = UnsafeMutableBufferPointer(start: scratch, count: w.columns)
        for r in range {
            w.fastDequantizedRow(r, into: row)
            for t in 0..<tokens { out[t * stride + r] = ck_dot_f32(level.code, scratch, floats + t * xFloats, Int32(w.columns)) }
        }
    }
}

/// The scalar reference: dequantized weights times f32 activations, summed in double.
public enum ReferenceKernels {
    public static func dot(_ w: WeightMatrix, row: Int, _ x: [Float]) -> Double {
        var floats = [Float](repeating: 0, count: w.columns)
        floats.withUnsafeMutableBufferPointer { w.dequantizedRow(row, into: $0) }
        var sum = 0.0
        for i in 0..<w.columns { sum += Double(floats[i]) * Double(x[i]) }
        return sum
    }
}
