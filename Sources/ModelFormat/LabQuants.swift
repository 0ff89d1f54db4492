/// slmbench's lab types: uniform b-bit codes in groups, symmetric or asymmetric.
///
/// Groups are 32, 64 or 128 elements, or the whole row.
/// Symmetric: d = (largest |x|) / (2^(b-1) - 1), code = round(x/d) + 2^(b-1) - 1 clamped to
/// [0, 2^b - 2], value = (code - (2^(b-1) - 1)) · d; zero is exact.
/// Asymmetric: d = (max - min) / (2^b - 1), code = round((x - min)/d), value = code · d + min.
/// Per-tensor types take max/min (`range`) over the whole tensor instead of the group.
enum LabQuants {
    /// `range`: the tensor's (minimum, maximum), for per-tensor types; nil takes them from `x`
    /// (a one-row tensor).
    static func quantize(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, _ lab: LabType,
                         range: (lo: Float, hi: Float)? = nil) {
        // Row-wise types quantize their whole input (one row) as one group.
        let g = lab.isRowWise ? x.count : lab.group, blockBytes = lab.groupBytes(g)
        let header = lab.asymmetric ? 4 : 2
        let maxCode = (1 << lab.bits) - 1
        var codes = [Int](repeating: 0, count: g)
        for b in 0..<x.count / g {
            let v = UnsafeBufferPointer(rebasing: x[(b * g)..<(b * g + g)])
            let base = b * blockBytes
            if lab.asymmetric {
                var lo = v[0], hi = v[0]
                for value in v { lo = min(lo, value); hi = max(hi, value) }
                if let range { (lo, hi) = range }
                // The stored parameters are f16; quantize against them so decode matches.
                let d = Float(Float16((hi - lo) / Float(maxCode)))
                let m = Float(Float16(lo))
                Quantization.storeHalf(d, out, base)
                Quantization.storeHalf(m, out, base + 2)
                let id: Float = d != 0 ? 1 / d : 0
                for j in 0..<g { codes[j] = max(0, min(maxCode, Quantization.truncate(((v[j] - m) * id).rounded()))) }
            } else {
                let zero = (1 << (lab.bits - 1)) - 1
                var amax: Float = 0
                for value in v { amax = max(amax, abs(value)) }
                if let range { amax = max(abs(range.lo), abs(range.hi)) }
                let d = Float(Float16(amax / Float(zero)))
                Quantization.storeHalf(d, out, base)
                let id: Float = d != 0 ? 1 / d : 0
                for j in 0..<g { codes[j] = max(0, min(2 * zero, Quantization.truncate((v[j] * id).rounded()) + zero)) }
            }
            pack(codes, bits: lab.bits, into: out, at: base + header)
        }
    }

    static func dequantize(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>, _ lab: LabType) {
        let g = lab.isRowWise ? out.count : lab.group, blockBytes = lab.groupBytes(g)
        let header = lab.asymmetric ? 4 : 2
        let zero = (1 << (lab.bits - 1)) - 1
        for b in 0..<out.count / g {
            let base = b * blockBytes
            let d = Quantization.half(bytes, base)
            let m = lab.asymmetric ? Quantization.half(bytes, base + 2) : 0
            for j in 0..<g {
                let code = unpack(j, bits: lab.bits, from: bytes, at: base + header)
                out[b * g + j] = lab.asymmetric ? Float(code) * d + m : Float(code - zero) * d
            }
        }
    }

    /// Little-endian bit packing: code j occupies bits [j·b, (j+1)·b) of the byte stream.
    static func pack(_ codes: [Int], bits: Int, into out: UnsafeMutableRawBufferPointer, at start: Int) {
        let bytes = (codes.count * bits + 7) / 8
        for i in 0..<bytes { out[start + i] = 0 }
        for (j, code) in codes.enumerated() {
            let bit = j * bits
            let word = UInt16(code) << UInt16(bit % 8)
            out[start + bit / 8] |= UInt8(truncatingIfNeeded: word)
            if bit % 8 + bits > 8 { out[start + bit / 8 + 1] |= UInt8(truncatingIfNeeded: word >> 8) }
        }
    }

    @inline(__always) static func unpack(_ j: Int, bits: Int, from bytes: UnsafeRawBufferPointer, at start: Int) -> Int {
        let bit = j * bits
        var word = UInt16(bytes[start + bit / 8])
        if bit % 8 + bits > 8 { word |= UInt16(bytes[start + bit / 8 + 1]) << 8 }
        return Int((word >> UInt16(bit % 8)) & UInt16((1 << bits) - 1))
    }
}
