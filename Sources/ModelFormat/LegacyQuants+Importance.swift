/// Q4_0, Q5_0, Q4_1 and Q5_1 with importance weights w_j = imatrix_j · √(σ² + x_j²), σ² the row's
/// mean square (llama.cpp's rule for these types). Q8_0 has no weighted form: its one scale per
/// block leaves nothing to search, and llama.cpp ignores the matrix for it too.
extension LegacyQuants {
    /// Q4_0 and Q5_0: per block the weighted symmetric search (`KQuantizer.fitSymmetric`), its
    /// scale rounded to f16 and every code the nearest at that scale.
    static func quantizeSymmetric(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, bits: Int,
                                  importance imp: UnsafeBufferPointer<Float>) {
        let blockBytes = bits == 4 ? 18 : 22
        let half = 1 << (bits - 1)
        var w = [Float](repeating: 0, count: block)
        let sigma2 = KQuantizer.meanSquare(x, 0..<x.count)
        for b in 0..<x.count / block {
            let first = b * block, base = b * blockBytes
            KQuantizer.importanceWeights(x, imp, range: first..<(first + block), sigma2: sigma2, into: &w)
            let scale = w.withUnsafeBufferPointer {
                KQuantizer.fitSymmetric(UnsafeBufferPointer(rebasing: x[first..<(first + block)]), weights: $0, qmin: -half, qmax: half - 1)
            }
            let d = Float(Float16(scale))
            Quantization.storeHalf(d, out, base)
            let qs = base + (bits == 4 ? 2 : 6)
            var qh: UInt32 = 0
            func level(_ v: Float) -> Int { d == 0 ? half : max(0, min(2 * half - 1, Quantization.truncate((v / d).rounded()) + half)) }
            for j in 0..<block / 2 {
                let q0 = level(x[first + j]), q1 = level(x[first + j + 16])
                out[qs + j] = UInt8(q0 & 0xF) | UInt8(q1 & 0xF) << 4
                qh |= UInt32((q0 >> 4) & 1) << j
                qh |= UInt32((q1 >> 4) & 1) << (j + 16)
            }
            if bits == 5 { out.storeBytes(of: qh.littleEndian, toByteOffset: base + 2, as: UInt32.self) }
        }
    }

    /// Q4_1 and Q5_1: per block the better of the two weighted affine searches
    /// (`KQuantizer.bestAffine`), scale and minimum rounded to f16, codes nearest for them.
    static func quantizeAffine(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, bits: Int,
                               importance imp: UnsafeBufferPointer<Float>) {
        let blockBytes = bits == 4 ? 20 : 24
        let nmax = (1 << bits) - 1
        var w = [Float](repeating: 0, count: block)
        let sigma2 = KQuantizer.meanSquare(x, 0..<x.count)
        for b in 0..<x.count / block {
            let first = b * block, base = b * blockBytes
            KQuantizer.importanceWeights(x, imp, range: first..<(first + block), sigma2: sigma2, into: &w)
            let fit = KQuantizer.bestAffine(UnsafeBufferPointer(rebasing: x[first..<(first + block)]), weights: w, nmax: nmax)
            let d = Float(Float16(fit.scale)), m = Float(Float16(-fit.min))
            Quantization.storeHalf(d, out, base)
            Quantization.storeHalf(m, out, base + 2)
            let qs = base + (bits == 4 ? 4 : 8)
            var qh: UInt32 = 0
            func level(_ v: Float) -> Int { d == 0 ? 0 : max(0, min(nmax, Quantization.truncate(((v - m) / d).rounded()))) }
            for j in 0..<block / 2 {
                let q0 = level(x[first + j]), q1 = level(x[first + j + 16])
                out[qs + j] = UInt8(q0 & 0xF) | UInt8(q1 & 0xF) << 4
                qh |= UInt32((q0 >> 4) & 1) << j
                qh |= UInt32((q1 >> 4) & 1) << (j + 16)
            }
            if bits == 5 { out.storeBytes(of: qh.littleEndian, toByteOffset: base + 4, as: UInt32.self) }
        }
    }
}
