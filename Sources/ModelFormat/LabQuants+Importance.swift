/// The lab types with an importance matrix: per group, the scale (and, for the asymmetric types,
/// the offset) that minimise Σ imp_j · (x_j − x̂_j)², x̂ decoded from the stored f16 parameters.
///
/// The weight is the column's importance alone (no √(σ² + x²) factor, as Q6_K's search): for a
/// linear layer the expected output error of a weight error Δw_j is Σ E[x_j²]·Δw_j² when the
/// inputs are uncorrelated, and E[x_j²] is what the importance matrix holds. Per-group and
/// per-row types search; per-tensor types share one range over the whole tensor and quantize
/// as without a matrix.
///
/// Every candidate is scored as decoded (parameters rounded to f16, each code the nearest for
/// them, as the unweighted quantizer picks codes), and round to nearest's own parameters are the
/// first candidate, so the weighted error is never above round to nearest's. The unweighted
/// `quantize` is untouched.
extension LabQuants {
    static func quantize(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, _ lab: LabType,
                         importance imp: UnsafeBufferPointer<Float>) {
        precondition(!lab.isTensorWise, "per-tensor lab types have no weighted search")
        let g = lab.isRowWise ? x.count : lab.group, blockBytes = lab.groupBytes(g)
        let header = lab.asymmetric ? 4 : 2
        var codes = [Int](repeating: 0, count: g)
        for b in 0..<x.count / g {
            let v = UnsafeBufferPointer(rebasing: x[(b * g)..<(b * g + g)])
            let w = UnsafeBufferPointer(rebasing: imp[(b * g)..<(b * g + g)])
            let base = b * blockBytes
            if lab.asymmetric {
                let (d, m) = weightedAffine(v, w, maxCode: (1 << lab.bits) - 1)
                Quantization.storeHalf(d, out, base)
                Quantization.storeHalf(m, out, base + 2)
                affineCodes(v, d: d, m: m, maxCode: (1 << lab.bits) - 1, into: &codes)
            } else {
                let zero = (1 << (lab.bits - 1)) - 1
                let d = weightedSymmetric(v, w, zero: zero)
                Quantization.storeHalf(d, out, base)
                symmetricCodes(v, d: d, zero: zero, into: &codes)
            }
            pack(codes, bits: lab.bits, into: out, at: base + header)
        }
    }

    /// Codes nearest to `x` for value = code · d + m, as the unweighted quantizer computes them.
    @inline(__always) static func affineCodes(_ x: UnsafeBufferPointer<Float>, d: Float, m: Float, maxCode: Int, into codes: inout [Int]) {
        let id: Float = d != 0 ? 1 / d : 0
        for j in 0..<x.count { codes[j] = max(0, min(maxCode, Quantization.truncate(((x[j] - m) * id).rounded()))) }
    }

    /// Codes nearest to `x` for value = (code − zero) · d.
    @inline(__always) static func symmetricCodes(_ x: UnsafeBufferPointer<Float>, d: Float, zero: Int, into codes: inout [Int]) {
        let id: Float = d != 0 ? 1 / d : 0
        for j in 0..<x.count { codes[j] = max(0, min(2 * zero, Quantization.truncate((x[j] * id).rounded()) + zero)) }
    }

    /// Σ w (x − x̂)² for value = code · d + m, codes nearest.
    static func affineError(_ x: UnsafeBufferPointer<Float>, _ w: UnsafeBufferPointer<Float>, d: Float, m: Float, maxCode: Int) -> Float {
        let id: Float = d != 0 ? 1 / d : 0
        var error: Float = 0
        for j in 0..<x.count {
            let code = Float(max(0, min(maxCode, Quantization.truncate(((x[j] - m) * id).rounded()))))
            let e = x[j] - (code * d + m)
            error += w[j] * e * e
        }
        return error
    }

    /// (d, m) as f16 values: round to nearest's (range of the group), then for each inverse scale
    /// on KQuantizer's grid (±1.5 levels around the range in 33 steps) the codes it gives and the
    /// weighted least-squares (d, m) for those codes; the smallest weighted error as decoded wins,
    /// ties to the earlier candidate.
    static func weightedAffine(_ x: UnsafeBufferPointer<Float>, _ w: UnsafeBufferPointer<Float>, maxCode: Int) -> (Float, Float) {
        var lo = x[0], hi = x[0], sumW: Float = 0, sumX: Float = 0
        for j in 0..<x.count {
            lo = min(lo, x[j]); hi = max(hi, x[j])
            sumW += w[j]; sumX += w[j] * x[j]
        }
        var best = (Float(Float16((hi - lo) / Float(maxCode))), Float(Float16(lo)))
        guard hi > lo, sumW > 0, sumW.isFinite else { return best }
        var bestError = affineError(x, w, d: best.0, m: best.1, maxCode: maxCode)
        func consider(_ d: Float, _ m: Float) {
            let d16 = Float(Float16(d)), m16 = Float(Float16(m))
            guard d16 > 0, d16.isFinite, m16.isFinite else { return }
            let error = affineError(x, w, d: d16, m: m16, maxCode: maxCode)
            if error < bestError { bestError = error; best = (d16, m16) }
        }
        /// The weighted least-squares fit x ≈ d·q + m for codes from `code(x_j)`.
        func fit(_ code: (Float) -> Float) -> (Float, Float)? {
            var sumQ: Float = 0, sumQQ: Float = 0, sumXQ: Float = 0
            for j in 0..<x.count {
                let q = code(x[j])
                sumQ += w[j] * q; sumQQ += w[j] * q * q; sumXQ += w[j] * x[j] * q
            }
            let det = sumW * sumQQ - sumQ * sumQ
            guard det > 0 else { return nil }
            let d = (sumW * sumXQ - sumQ * sumX) / det
            return d > 0 ? (d, (sumX - d * sumQ) / sumW) : nil
        }
        let top = Float(maxCode)
        for k in -KQuantizer.steps...KQuantizer.steps {
            let iscale = (top + KQuantizer.spread * Float(k) / Float(KQuantizer.steps)) / (hi - lo)
            if let (d, m) = fit({ min(max(KQuantizer.fastRound(($0 - lo) * iscale), 0), top) }) { consider(d, m) }
        }
        // One more least-squares step on the winner's own codes.
        let (d0, m0) = best
        if let (d, m) = fit({ min(max((($0 - m0) / d0).rounded(), 0), top) }) { consider(d, m) }
        return best
    }

    /// d as an f16 value: round to nearest's (largest |x| / zero), then for each inverse scale on
    /// KQuantizer's symmetric grid the codes it gives and the weighted least-squares scale for
    /// them; the smallest weighted error as decoded wins, ties to the earlier candidate.
    static func weightedSymmetric(_ x: UnsafeBufferPointer<Float>, _ w: UnsafeBufferPointer<Float>, zero: Int) -> Float {
        var amax: Float = 0
        for v in x { amax = max(amax, abs(v)) }
        var best = Float(Float16(amax / Float(zero)))
        guard amax > 0 else { return best }
        func error(_ d: Float) -> Float {
            let id: Float = d != 0 ? 1 / d : 0
            var e: Float = 0
            for j in 0..<x.count {
                let q = Float(max(-zero, min(zero, Quantization.truncate((x[j] * id).rounded()))))
                let r = x[j] - q * d
                e += w[j] * r * r
            }
            return e
        }
        var bestError = error(best)
        let levels = Float(zero)
        for offset in KQuantizer.weightedOffsets {
            let iscale = (levels + offset) / amax
            var sumXQ: Float = 0, sumQQ: Float = 0
            for j in 0..<x.count {
                let q = min(max(KQuantizer.fastRound(x[j] * iscale), -levels), levels)
                sumXQ += w[j] * x[j] * q; sumQQ += w[j] * q * q
            }
            guard sumQQ > 0, sumXQ > 0 else { continue }
            let d = Float(Float16(sumXQ / sumQQ))
            guard d > 0, d.isFinite else { continue }
            let e = error(d)
            if e < bestError { bestError = e; best = d }
        }
        return best
    }
}
