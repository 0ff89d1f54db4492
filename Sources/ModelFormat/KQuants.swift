/// The 256-element "K" super-block formats (Q2_K … Q6_K): layouts and dequantization as
/// llama.cpp defines them (ggml-common.h, ggml-quants.c).
enum KQuants {
    static let block = 256

    static func canQuantize(_ type: TensorType) -> Bool {
        [TensorType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K].contains(type)
    }

    static func quantize(_ x: UnsafeBufferPointer<Float>, type: TensorType, _ out: UnsafeMutableRawBufferPointer) throws(Quantization.Failure) {
        switch type {
        case .q2_K: KQuantizer.q2_K(x, out)
        case .q3_K: KQuantizer.q3_K(x, out)
        case .q4_K: KQuantizer.q4_K(x, out, bits: 4)
        case .q5_K: KQuantizer.q4_K(x, out, bits: 5)
        case .q6_K: KQuantizer.q6_K(x, out)
        default: throw .unsupported(type, operation: "quantizing")
        }
    }

    /// Q4_K/Q5_K scales: 8 pairs of 6-bit (scale, min) packed into 12 bytes.
    @inline(__always) static func scaleMin(_ j: Int, _ bytes: UnsafeRawBufferPointer, _ at: Int) -> (Float, Float) {
        if j < 4 {
            return (Float(bytes[at + j] & 63), Float(bytes[at + j + 4] & 63))
        }
        let scale = (bytes[at + j + 4] & 0xF) | ((bytes[at + j - 4] >> 6) << 4)
        let min = (bytes[at + j + 4] >> 4) | ((bytes[at + j] >> 6) << 4)
        return (Float(scale), Float(min))
    }

    /// Q2_K block (84 bytes): scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
    static func dequantizeQ2_K(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<out.count / block {
            let base = b * 84
            let d = Quantization.half(bytes, base + 80), dmin = Quantization.half(bytes, base + 82)
            var y = b * block, scale = 0
            for half in 0..<2 {
                let q = base + 16 + half * 32
                for shift in stride(from: 0, to: 8, by: 2) {
                    for part in 0..<2 {
                        let sc = bytes[base + scale]; scale += 1
                        let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                        for l in 0..<16 { out[y] = dl * Float((bytes[q + part * 16 + l] >> UInt8(shift)) & 3) - ml; y += 1 }
                    }
                }
            }
        }
    }

    /// Q3_K block (110 bytes): hmask[32], qs[64], scales[12] (16 six-bit scales), d.
    static func dequantizeQ3_K(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<out.count / block {
            let base = b * 110
            let hm = base, sc = base + 96
            let d = Quantization.half(bytes, base + 108)
            var scales = [Int](repeating: 0, count: 16)
            for j in 0..<16 {
                let low = j < 8 ? Int(bytes[sc + j] & 0xF) : Int(bytes[sc + j - 8] >> 4)
                let high = Int((bytes[sc + 8 + j % 4] >> UInt8(2 * (j / 4))) & 3)
                scales[j] = (low | high << 4) - 32
            }
            var y = b * block, s = 0, mask: UInt8 = 1
            for half in 0..<2 {
                let q = base + 32 + half * 32
                for shift in stride(from: 0, to: 8, by: 2) {
                    for part in 0..<2 {
                        let dl = d * Float(scales[s]); s += 1
                        for l in 0..<16 {
                            let low = Int((bytes[q + part * 16 + l] >> UInt8(shift)) & 3)
                            let high = bytes[hm + part * 16 + l] & mask != 0 ? 0 : 4
                            out[y] = dl * Float(low - high); y += 1
                        }
                    }
                    mask <<= 1
                }
            }
        }
    }

    /// Q4_K block (144 bytes): d, dmin, scales[12], qs[128].
    static func dequantizeQ4_K(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<out.count / block {
            let base = b * 144
            let d = Quantization.half(bytes, base), dmin = Quantization.half(bytes, base + 2)
            var y = b * block
            for chunk in 0..<4 {
                let (s1, m1) = scaleMin(2 * chunk, bytes, base + 4)
                let (s2, m2) = scaleMin(2 * chunk + 1, bytes, base + 4)
                let q = base + 16 + chunk * 32
                for l in 0..<32 { out[y + l] = d * s1 * Float(bytes[q + l] & 0xF) - dmin * m1 }
                for l in 0..<32 { out[y + 32 + l] = d * s2 * Float(bytes[q + l] >> 4) - dmin * m2 }
                y += 64
            }
        }
    }

    /// Q5_K block (176 bytes): d, dmin, scales[12], qh[32], qs[128].
    static func dequantizeQ5_K(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<out.count / block {
            let base = b * 176
            let d = Quantization.half(bytes, base), dmin = Quantization.half(bytes, base + 2)
            let qh = base + 16
            var y = b * block
            for chunk in 0..<4 {
                let (s1, m1) = scaleMin(2 * chunk, bytes, base + 4)
                let (s2, m2) = scaleMin(2 * chunk + 1, bytes, base + 4)
                let q = base + 48 + chunk * 32
                let u1 = UInt8(1) << UInt8(2 * chunk), u2 = UInt8(2) << UInt8(2 * chunk)
                for l in 0..<32 {
                    let code = Int(bytes[q + l] & 0xF) + (bytes[qh + l] & u1 != 0 ? 16 : 0)
                    out[y + l] = d * s1 * Float(code) - dmin * m1
                }
                for l in 0..<32 {
                    let code = Int(bytes[q + l] >> 4) + (bytes[qh + l] & u2 != 0 ? 16 : 0)
                    out[y + 32 + l] = d * s2 * Float(code) - dmin * m2
                }
                y += 64
            }
        }
    }

    /// Q6_K block (210 bytes): ql[128], qh[64], scales[16] (int8), d.
    static func dequantizeQ6_K(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<out.count / block {
            let base = b * 210
            let d = Quantization.half(bytes, base + 208)
            for half in 0..<2 {
                let ql = base + half * 64, qh = base + 128 + half * 32, sc = base + 192 + half * 8
                let y = b * block + half * 128
                for l in 0..<32 {
                    let s = l / 16
                    let q1 = Int((bytes[ql + l] & 0xF) | ((bytes[qh + l] >> 0) & 3) << 4) - 32
                    let q2 = Int((bytes[ql + l + 32] & 0xF) | ((bytes[qh + l] >> 2) & 3) << 4) - 32
                    let q3 = Int((bytes[ql + l] >> 4) | ((bytes[qh + l] >> 4) & 3) << 4) - 32
                    let q4 = Int((bytes[ql + l + 32] >> 4) | ((bytes[qh + l] >> 6) & 3) << 4) - 32
                    out[y + l] = d * Float(Int8(bitPattern: bytes[sc + s])) * Float(q1)
                    out[y + l + 32] = d * Float(Int8(bitPattern: bytes[sc + s + 2])) * Float(q2)
                    out[y + l + 64] = d * Float(Int8(bitPattern: bytes[sc + s + 4])) * Float(q3)
                    out[y + l + 96] = d * Float(Int8(bitPattern: bytes[sc + s + 6])) * Float(q4)
                }
            }
        }
    }
}
