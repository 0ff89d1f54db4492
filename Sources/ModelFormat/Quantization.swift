/// Reference quantize and dequantize for every tensor type slmbench produces or reads.
///
/// The block layouts are llama.cpp's (ggml-common.h) so both backends load the same files;
/// quantization of the types llama.cpp computes with its "reference" routines (F16, BF16,
/// Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) follows their arithmetic step by step, so the bytes are
/// identical. These are scalar references: clear first, then fast enough for model files.
public enum Quantization {
    /// Why a quantization or dequantization request cannot be done.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case unsupported(TensorType, operation: String)
        case lengthMismatch(type: TensorType, elements: Int, bytes: Int)

        public var description: String {
            switch self {
            case let .unsupported(type, operation):
                return "\(operation) to/from \(type.name) is not supported; slmbench quantizes to \(TensorType.quantizableNames.joined(separator: ", "))"
            case let .lengthMismatch(type, elements, bytes):
                return "\(elements) elements do not fit \(bytes) bytes of \(type.name) (rows must be whole blocks of \(type.layout?.blockElements ?? 0))"
            }
        }
    }

    /// True when `quantize` can produce this type.
    public static func canQuantize(to type: TensorType) -> Bool {
        [TensorType.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_NL].contains(type)
            || KQuants.canQuantize(type) || type.isLab
    }

    /// True when `dequantize` can read this type.
    public static func canDequantize(_ type: TensorType) -> Bool {
        [TensorType.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL].contains(type)
            || type.isLab
    }

    /// Quantizes `x` (a whole number of blocks) into `out` (exactly the type's bytes for it).
    public static func quantize(_ x: UnsafeBufferPointer<Float>, to type: TensorType,
                                into out: UnsafeMutableRawBufferPointer) throws(Failure) {
        guard canQuantize(to: type) else { throw .unsupported(type, operation: "quantizing") }
        guard let bytes = type.rowBytes(x.count), bytes == out.count else {
            throw .lengthMismatch(type: type, elements: x.count, bytes: out.count)
        }
        switch type {
        case .f32: out.copyMemory(from: UnsafeRawBufferPointer(x))
        case .f16: for i in 0..<x.count { out.storeBytes(of: Float16(x[i]).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16: for i in 0..<x.count { out.storeBytes(of: bf16(x[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .q8_0: LegacyQuants.quantizeQ8_0(x, out)
        case .q4_0: LegacyQuants.quantizeSymmetric(x, out, bits: 4)
        case .q5_0: LegacyQuants.quantizeSymmetric(x, out, bits: 5)
        case .q4_1: LegacyQuants.quantizeAffine(x, out, bits: 4)
        case .q5_1: LegacyQuants.quantizeAffine(x, out, bits: 5)
        case .iq4_NL: IQ4NL.quantize(x, out)
        default:
            if let lab = LabType(id: type.id) { LabQuants.quantize(x, out, lab) }
            else if let scaled = LabScaledType(id: type.id) { LabScaledQuants.quantize(x, out, scaled) }
            else { try KQuants.quantize(x, type: type, out) }
        }
    }

    /// Quantizes one row of a per-tensor lab type with the tensor's (minimum, maximum), so every
    /// row stores the same parameters.
    public static func quantizeRow(_ x: UnsafeBufferPointer<Float>, tensorWise lab: LabType, range: (lo: Float, hi: Float),
                                   into out: UnsafeMutableRawBufferPointer) throws(Failure) {
        let type = TensorType(id: lab.id)
        guard let bytes = type.rowBytes(x.count), bytes == out.count else {
            throw .lengthMismatch(type: type, elements: x.count, bytes: out.count)
        }
        LabQuants.quantize(x, out, lab, range: range)
    }

    /// Dequantizes `bytes` of `type` into `out` (the matching number of elements).
    public static func dequantize(_ bytes: UnsafeRawBufferPointer, type: TensorType,
                                  into out: UnsafeMutableBufferPointer<Float>) throws(Failure) {
        guard canDequantize(type) else { throw .unsupported(type, operation: "dequantizing") }
        guard let expected = type.rowBytes(out.count), expected == bytes.count else {
            throw .lengthMismatch(type: type, elements: out.count, bytes: bytes.count)
        }
        switch type {
        case .f32: UnsafeMutableRawBufferPointer(out).copyMemory(from: bytes)
        case .f16: for i in 0..<out.count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
        case .bf16: for i in 0..<out.count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
        case .q8_0: LegacyQuants.dequantizeQ8_0(bytes, out)
        case .q4_0: LegacyQuants.dequantizeSymmetric(bytes, out, bits: 4)
        case .q5_0: LegacyQuants.dequantizeSymmetric(bytes, out, bits: 5)
        case .q4_1: LegacyQuants.dequantizeAffine(bytes, out, bits: 4)
        case .q5_1: LegacyQuants.dequantizeAffine(bytes, out, bits: 5)
        case .q2_K: KQuants.dequantizeQ2_K(bytes, out)
        case .q3_K: KQuants.dequantizeQ3_K(bytes, out)
        case .q4_K: KQuants.dequantizeQ4_K(bytes, out)
        case .q5_K: KQuants.dequantizeQ5_K(bytes, out)
        case .q6_K: KQuants.dequantizeQ6_K(bytes, out)
        case .iq4_NL: IQ4NL.dequantize(bytes, out)
        default:
            if let scaled = LabScaledType(id: type.id) { return LabScaledQuants.dequantize(bytes, out, scaled) }
            guard let lab = LabType(id: type.id) else { throw .unsupported(type, operation: "dequantizing") }
            LabQuants.dequantize(bytes, out, lab)
        }
    }

    /// Convenience for arrays.
    public static func quantize(_ x: [Float], to type: TensorType) throws(Failure) -> [UInt8] {
        guard let count = type.rowBytes(x.count) else { throw .lengthMismatch(type: type, elements: x.count, bytes: 0) }
        var out = [UInt8](repeating: 0, count: count)
        var failure: Failure?
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { dst in
                do throws(Failure) { try quantize(src, to: type, into: dst) } catch { failure = error }
            }
        }
        if let failure { throw failure }
        return out
    }

    public static func dequantize(_ bytes: [UInt8], type: TensorType, count: Int) throws(Failure) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var failure: Failure?
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer { dst in
                do throws(Failure) { try dequantize(src, type: type, into: dst) } catch { failure = error }
            }
        }
        if let failure { throw failure }
        return out
    }

    /// fp32 → bf16 with round-to-nearest-even and quiet NaNs (Google Brain float conversion).
    @inline(__always) static func bf16(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        if u & 0x7fff_ffff > 0x7f80_0000 { return UInt16(truncatingIfNeeded: u >> 16) | 64 }
        return UInt16(truncatingIfNeeded: (u &+ (0x7fff &+ ((u >> 16) & 1))) >> 16)
    }

    @inline(__always) static func half(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    @inline(__always) static func storeHalf(_ x: Float, _ out: UnsafeMutableRawBufferPointer, _ offset: Int) {
        out.storeBytes(of: Float16(x).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// C's float → integer conversion (truncation toward zero), without trapping on values a
    /// hostile or broken input could produce.
    @inline(__always) static func truncate(_ f: Float) -> Int {
        guard f.isFinite else { return 0 }
        return Int(max(-1e9, min(1e9, f)))
    }
}

/// The 32-element block formats: Q8_0, Q4_0/Q5_0 (symmetric), Q4_1/Q5_1 (scale and minimum).
enum LegacyQuants {
    static let block = 32

    static func quantizeQ8_0(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer) {
        for b in 0..<x.count / block {
            let v = x[(b * block)..<(b * block + block)]
            var amax: Float = 0
            for value in v { amax = max(amax, abs(value)) }
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            let base = b * 34
            Quantization.storeHalf(d, out, base)
            for (j, value) in v.enumerated() {
                out[base + 2 + j] = UInt8(bitPattern: Int8(clamping: Quantization.truncate((value * id).rounded())))
            }
        }
    }

    static func dequantizeQ8_0(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<out.count / block {
            let base = b * 34
            let d = Quantization.half(bytes, base)
            for j in 0..<block { out[b * block + j] = Float(Int8(bitPattern: bytes[base + 2 + j])) * d }
        }
    }

    /// Q4_0 and Q5_0: d = (value of largest magnitude) / -2^(bits-1); codes biased by 2^(bits-1).
    /// Element j of a block goes to the low nibble of byte j, element j+16 to the high nibble;
    /// Q5_0's fifth bits are a little-endian u32 (bit j for element j).
    static func quantizeSymmetric(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, bits: Int) {
        let blockBytes = bits == 4 ? 18 : 22
        let half = Float(1 << (bits - 1))
        let maxCode = (1 << bits) - 1
        for b in 0..<x.count / block {
            let first = b * block
            var amax: Float = 0, maxValue: Float = 0
            for j in 0..<block where amax < abs(x[first + j]) {
                amax = abs(x[first + j]); maxValue = x[first + j]
            }
            let d = maxValue / -half
            let id: Float = d != 0 ? 1 / d : 0
            let base = b * blockBytes
            Quantization.storeHalf(d, out, base)
            let qs = base + (bits == 4 ? 2 : 6)
            var qh: UInt32 = 0
            let offset = half + 0.5 // one addition of 8.5 (16.5), as llama.cpp does
            for j in 0..<block / 2 {
                let q0 = min(maxCode, Int(Int8(clamping: Quantization.truncate(x[first + j] * id + offset))))
                let q1 = min(maxCode, Int(Int8(clamping: Quantization.truncate(x[first + j + 16] * id + offset))))
                out[qs + j] = UInt8(q0 & 0xF) | UInt8(q1 & 0xF) << 4
                qh |= UInt32((q0 >> 4) & 1) << j
                qh |= UInt32((q1 >> 4) & 1) << (j + 16)
            }
            if bits == 5 { out.storeBytes(of: qh.littleEndian, toByteOffset: base + 2, as: UInt32.self) }
        }
    }

    static func dequantizeSymmetric(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>, bits: Int) {
        let blockBytes = bits == 4 ? 18 : 22
        let bias = 1 << (bits - 1)
        for b in 0..<out.count / block {
            let base = b * blockBytes
            let d = Quantization.half(bytes, base)
            let qh = bits == 5 ? UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 2, as: UInt32.self)) : 0
            let qs = base + (bits == 4 ? 2 : 6)
            for j in 0..<block / 2 {
                let lo = Int(bytes[qs + j] & 0xF) | Int((qh >> UInt32(j)) & 1) << 4
                let hi = Int(bytes[qs + j] >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                out[b * block + j] = Float(lo - bias) * d
                out[b * block + j + 16] = Float(hi - bias) * d
            }
        }
    }

    /// Q4_1 and Q5_1: d = (max - min) / (2^bits - 1), m = min, code = (x - min) / d rounded.
    static func quantizeAffine(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, bits: Int) {
        let blockBytes = bits == 4 ? 20 : 24
        let maxCode = (1 << bits) - 1
        for b in 0..<x.count / block {
            let first = b * block
            var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
            for j in 0..<block { lo = min(lo, x[first + j]); hi = max(hi, x[first + j]) }
            let d = (hi - lo) / Float(maxCode)
            let id: Float = d != 0 ? 1 / d : 0
            let base = b * blockBytes
            Quantization.storeHalf(d, out, base)
            Quantization.storeHalf(lo, out, base + 2)
            let qs = base + (bits == 4 ? 4 : 8)
            var qh: UInt32 = 0
            for j in 0..<block / 2 {
                var q0 = Quantization.truncate((x[first + j] - lo) * id + 0.5)
                var q1 = Quantization.truncate((x[first + j + 16] - lo) * id + 0.5)
                // llama.cpp clamps Q4_1 to 15; Q5_1's codes cannot exceed 31 for finite input.
                if bits == 4 { q0 = min(15, Int(Int8(clamping: q0))); q1 = min(15, Int(Int8(clamping: q1))) }
                else { q0 = Int(UInt8(truncatingIfNeeded: q0)); q1 = Int(UInt8(truncatingIfNeeded: q1)) }
                out[qs + j] = UInt8(q0 & 0xF) | UInt8(q1 & 0xF) << 4
                qh |= UInt32((q0 >> 4) & 1) << j
                qh |= UInt32((q1 >> 4) & 1) << (j + 16)
            }
            if bits == 5 { out.storeBytes(of: qh.littleEndian, toByteOffset: base + 4, as: UInt32.self) }
        }
    }

    static func dequantizeAffine(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>, bits: Int) {
        let blockBytes = bits == 4 ? 20 : 24
        for b in 0..<out.count / block {
            let base = b * blockBytes
            let d = Quantization.half(bytes, base)
            let m = Quantization.half(bytes, base + 2)
            let qh = bits == 5 ? UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 4, as: UInt32.self)) : 0
            let qs = base + (bits == 4 ? 4 : 8)
            for j in 0..<block / 2 {
                let lo = Int(bytes[qs + j] & 0xF) | Int((qh >> UInt32(j)) & 1) << 4
                let hi = Int(bytes[qs + j] >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                out[b * block + j] = Float(lo) * d + m
                out[b * block + j + 16] = Float(hi) * d + m
            }
        }
    }
}
