/// The quantization grid a block format fixes for a group of weights, and how to write codes
/// chosen on that grid back into the block: what GPTQ needs to quantize column by column after
/// the group's parameters are decided.
///
/// A grid maps code c (0...maxCode) to scale · (c - bias) + offset. The group's parameters come
/// from the type's own round-to-nearest quantizer run on the group's current (error-updated)
/// weights; GPTQ then picks each code itself and `pack` writes the codes into the block, leaving
/// the parameters the quantizer stored.
struct GPTQGrid {
    var scale: Float
    var offset: Float
    var bias: Int
    var maxCode: Int

    @inline(__always) func code(_ w: Float) -> Int {
        guard scale != 0 else { return bias }
        return max(0, min(maxCode, Quantization.truncate(((w - offset) * (1 / scale)).rounded()) + bias))
    }

    @inline(__always) func value(_ code: Int) -> Float { scale * Float(code - bias) + offset }
}

/// The block formats GPTQ can fill: the lab types, the 32-element legacy types and Q2_K.
struct GPTQFormat {
    let type: TensorType
    /// Columns whose grid is chosen at once (a block or group; the whole row for row-wise lab types).
    let groupElements: Int
    let groupBytes: Int
    /// Columns that share one grid inside a group (Q2_K's 16-element sub-blocks).
    let gridElements: Int

    static func supports(_ type: TensorType) -> Bool {
        LabType(id: type.id) != nil || [TensorType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K].contains(type)
    }

    init?(_ type: TensorType, rowLength: Int) {
        guard Self.supports(type), let rowBytes = type.rowBytes(rowLength) else { return nil }
        self.type = type
        if let lab = LabType(id: type.id), lab.isRowWise {
            groupElements = rowLength; groupBytes = rowBytes; gridElements = rowLength
        } else if let layout = type.layout {
            groupElements = layout.blockElements; groupBytes = layout.blockBytes
            gridElements = type == .q2_K ? 16 : layout.blockElements
        } else { return nil }
    }

    /// The grids (one per `gridElements` columns) of a group whose bytes `block` holds.
    func grids(_ block: UnsafeRawBufferPointer) -> [GPTQGrid] {
        if let lab = LabType(id: type.id) {
            let d = Quantization.half(block, 0)
            if lab.asymmetric {
                return [GPTQGrid(scale: d, offset: Quantization.half(block, 2), bias: 0, maxCode: (1 << lab.bits) - 1)]
            }
            let zero = (1 << (lab.bits - 1)) - 1
            return [GPTQGrid(scale: d, offset: 0, bias: zero, maxCode: 2 * zero)]
        }
        switch type {
        case .q4_0: return [GPTQGrid(scale: Quantization.half(block, 0), offset: 0, bias: 8, maxCode: 15)]
        case .q5_0: return [GPTQGrid(scale: Quantization.half(block, 0), offset: 0, bias: 16, maxCode: 31)]
        case .q4_1: return [GPTQGrid(scale: Quantization.half(block, 0), offset: Quantization.half(block, 2), bias: 0, maxCode: 15)]
        case .q5_1: return [GPTQGrid(scale: Quantization.half(block, 0), offset: Quantization.half(block, 2), bias: 0, maxCode: 31)]
        case .q8_0: return [GPTQGrid(scale: Quantization.half(block, 0), offset: 0, bias: 128, maxCode: 255)]
        case .q2_K:
            let d = Quantization.half(block, 80), dmin = Quantization.half(block, 82)
            return (0..<16).map { k in
                let sc = block[k]
                return GPTQGrid(scale: d * Float(sc & 0xF), offset: -dmin * Float(sc >> 4), bias: 0, maxCode: 3)
            }
        default: return []
        }
    }

    /// Writes `codes` (one per column of the group) into the group's bytes, keeping its parameters.
    func pack(_ codes: [Int], into block: UnsafeMutableRawBufferPointer) {
        if let lab = LabType(id: type.id) {
            LabQuants.pack(codes, bits: lab.bits, into: block, at: lab.asymmetric ? 4 : 2)
            return
        }
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1:
            let five = type == .q5_0 || type == .q5_1
            let header = type == .q4_0 ? 2 : type == .q4_1 ? 4 : type == .q5_0 ? 2 : 4
            let qs = header + (five ? 4 : 0)
            var qh: UInt32 = 0
            for j in 0..<16 {
                block[qs + j] = UInt8(codes[j] & 0xF) | UInt8(codes[j + 16] & 0xF) << 4
                qh |= UInt32((codes[j] >> 4) & 1) << j
                qh |= UInt32((codes[j + 16] >> 4) & 1) << (j + 16)
            }
            if five { block.storeBytes(of: qh.littleEndian, toByteOffset: header, as: UInt32.self) }
        case .q8_0:
            for j in 0..<32 { block[2 + j] = UInt8(bitPattern: Int8(codes[j] - 128)) }
        case .q2_K:
            // Byte j of each 128-element half holds elements j, j+32, j+64, j+96 at bits 0, 2, 4, 6.
            for half in 0..<2 {
                for j in 0..<32 {
                    var byte = 0
                    for s in 0..<4 { byte |= (codes[half * 128 + s * 32 + j] & 3) << (2 * s) }
                    block[16 + half * 32 + j] = UInt8(byte)
                }
            }
        default: break
        }
    }
}
