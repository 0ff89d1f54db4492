/// The K formats' block encoders with importance weights (see `KQuantizer+Importance.swift` for
/// the weighting rule). Each tries slmbench's and ggml's ways of quantizing the sub-block
/// parameters against the super-block scales and keeps the one whose decoded block has the smaller
/// weighted squared error.
extension KQuantizer {
    /// Q3_K (σ² = 2 × the super-block's mean square) and Q6_K (weights = imatrix alone), weighted.
    static func symmetricBlocks(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer,
                                importance imp: UnsafeBufferPointer<Float>, sigmaFactor: Float?, blockBytes: Int, dOffset: Int,
                                qmin: Int, qmax: Int, scaleLevels: Int, pack: (_ base: Int, _ subScales: [Int], _ codes: [Int]) -> Void) {
        var w = [Float](repeating: 0, count: block), scales = [Float](repeating: 0, count: 16), sw = [Float](repeating: 0, count: 16)
        var subScales = [Int](repeating: 0, count: 16), codes = [Int](repeating: -qmin, count: block)
        var bestSub = subScales, bestCodes = codes
        for b in 0..<x.count / block {
            let first = b * block, base = b * blockBytes
            for i in 0..<blockBytes { out[base + i] = 0 }
            if let factor = sigmaFactor {
                importanceWeights(x, imp, range: first..<(first + block), sigma2: factor * meanSquare(x, first..<(first + block)), into: &w)
            } else {
                for i in 0..<block { w[i] = imp[first + i] }
            }
            var maxScale: Float = 0
            w.withUnsafeBufferPointer { wb in
                for s in 0..<16 {
                    let sub = UnsafeBufferPointer(rebasing: x[(first + 16 * s)..<(first + 16 * s + 16)])
                    scales[s] = fitSymmetric(sub, weights: UnsafeBufferPointer(rebasing: wb[(16 * s)..<(16 * s + 16)]), qmin: qmin, qmax: qmax)
                    sw[s] = wb[(16 * s)..<(16 * s + 16)].reduce(0, +)
                    if abs(scales[s]) > abs(maxScale) { maxScale = scales[s] }
                }
            }
            guard maxScale != 0 else { continue }
            // slmbench's: the largest sub-block scale maps to -scaleLevels; ggml's Q3_K way: a
            // weighted fit of the sub-block scales themselves (weights: each sub-block's Σw).
            let fitted = scales.withUnsafeBufferPointer { s in
                sw.withUnsafeBufferPointer { fitSymmetric(s, weights: $0, qmin: -scaleLevels, qmax: scaleLevels - 1) }
            }
            var bestD: Float = 0, bestError = Float.infinity
            for candidate in [maxScale / Float(-scaleLevels), fitted] {
                let d = Float(Float16(candidate))
                guard d != 0, d.isFinite else { continue }
                var error: Float = 0
                for s in 0..<16 {
                    let q = max(-scaleLevels, min(scaleLevels - 1, Int((scales[s] / d).rounded())))
                    subScales[s] = q
                    let dl = d * Float(q)
                    for i in 0..<16 {
                        let v = x[first + 16 * s + i]
                        let c = dl == 0 ? 0 : max(qmin, min(qmax, Int((v / dl).rounded())))
                        codes[16 * s + i] = c - qmin
                        let e = dl * Float(c) - v
                        error += w[16 * s + i] * e * e
                    }
                }
                if error < bestError { bestError = error; bestD = d; swap(&bestSub, &subScales); swap(&bestCodes, &codes) }
            }
            guard bestD != 0 else { continue }
            Quantization.storeHalf(bestD, out, base + dOffset)
            pack(base, bestSub, bestCodes)
        }
    }

    static func q6_K(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, importance: UnsafeBufferPointer<Float>) {
        symmetricBlocks(x, out, importance: importance, sigmaFactor: nil, blockBytes: 210, dOffset: 208, qmin: -32, qmax: 31,
                        scaleLevels: 128) { base, subScales, codes in packQ6K(out, base, subScales, codes) }
    }

    static func q3_K(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, importance: UnsafeBufferPointer<Float>) {
        symmetricBlocks(x, out, importance: importance, sigmaFactor: 2, blockBytes: 110, dOffset: 108, qmin: -4, qmax: 3,
                        scaleLevels: 32) { base, subScales, codes in packQ3K(out, base, subScales, codes) }
    }

    static func packQ6K(_ out: UnsafeMutableRawBufferPointer, _ base: Int, _ subScales: [Int], _ codes: [Int]) {
        for s in 0..<16 { out[base + 192 + s] = UInt8(bitPattern: Int8(subScales[s])) }
        for half in 0..<2 {
            let ql = base + half * 64, qh = base + 128 + half * 32, c = half * 128
            for l in 0..<32 {
                let q1 = codes[c + l], q2 = codes[c + l + 32], q3 = codes[c + l + 64], q4 = codes[c + l + 96]
                out[ql + l] = UInt8(q1 & 0xF) | UInt8(q3 & 0xF) << 4
                out[ql + l + 32] = UInt8(q2 & 0xF) | UInt8(q4 & 0xF) << 4
                out[qh + l] = UInt8(q1 >> 4) | UInt8(q2 >> 4) << 2 | UInt8(q3 >> 4) << 4 | UInt8(q4 >> 4) << 6
            }
        }
    }

    static func packQ3K(_ out: UnsafeMutableRawBufferPointer, _ base: Int, _ subScales: [Int], _ codes: [Int]) {
        let sc = base + 96
        for s in 0..<16 {
            let stored = subScales[s] + 32
            if s < 8 { out[sc + s] |= UInt8(stored & 0xF) } else { out[sc + s - 8] |= UInt8(stored & 0xF) << 4 }
            out[sc + 8 + s % 4] |= UInt8((stored >> 4) & 3) << UInt8(2 * (s / 4))
        }
        for i in 0..<block {
            let l = codes[i]
            out[base + 32 + (i / 128) * 32 + i % 32] |= UInt8(l & 3) << UInt8(2 * ((i / 32) % 4))
            if l >= 4 { out[base + i % 32] |= UInt8(1) << UInt8(i / 32) }
        }
    }

    /// Sub-block parameters quantized against super-block scales: each candidate way gives
    /// (d, dmin, integer scales, integer minimums).
    typealias AffineLevels = (d: Float, dmin: Float, scales: [Int], mins: [Int])

    /// The candidate quantizations of affine sub-block fits with 2^bits - 1 levels each: slmbench's
    /// (round against the f16 super-block scales), ggml's without an imatrix (×levels/max before
    /// rounding) and ggml's with one (`make_qp_quants`, weighted by each sub-block's Σw).
    static func affineLevelCandidates(_ fits: [(scale: Float, min: Float)], sw: [Float], levels: Int) -> [AffineLevels] {
        var maxScale: Float = 0, maxMin: Float = 0
        for f in fits { maxScale = max(maxScale, f.scale); maxMin = max(maxMin, f.min) }
        let top = Float(levels)
        let d = Float(Float16(maxScale / top)), dmin = Float(Float16(maxMin / top))
        let own: AffineLevels = (d, dmin, fits.map { d > 0 ? max(0, min(levels, Int(($0.scale / d).rounded()))) : 0 },
                   fits.map { dmin > 0 ? max(0, min(levels, Int(($0.min / dmin).rounded()))) : 0 })
        let inverseScale: Float = maxScale > 0 ? top / maxScale : 0, inverseMin: Float = maxMin > 0 ? top / maxMin : 0
        let ggml: AffineLevels = (d, dmin, fits.map { max(0, min(levels, Int(fastRound(inverseScale * $0.scale)))) },
                    fits.map { max(0, min(levels, Int(fastRound(inverseMin * $0.min)))) })
        let qpScales = fitPositiveLevels(fits.map(\.scale), weights: sw, nmax: levels)
        let qpMins = fitPositiveLevels(fits.map(\.min), weights: sw, nmax: levels)
        let qp: AffineLevels = (Float(Float16(qpScales.scale)), Float(Float16(qpMins.scale)), qpScales.levels, qpMins.levels)
        return [own, ggml, qp]
    }

    /// Q4_K and Q5_K with importance (σ² = 2 × the super-block's mean square).
    static func q4_K(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, bits: Int, importance imp: UnsafeBufferPointer<Float>) {
        let blockBytes = bits == 4 ? 144 : 176, nmax = (1 << bits) - 1
        var w = [Float](repeating: 0, count: block), sub = [Float](repeating: 0, count: 32)
        var fits = [(scale: Float, min: Float)](repeating: (0, 0), count: 8), sw = [Float](repeating: 0, count: 8)
        var candidate = [UInt8](repeating: 0, count: blockBytes), best = candidate
        for b in 0..<x.count / block {
            let first = b * block
            importanceWeights(x, imp, range: first..<(first + block), sigma2: 2 * meanSquare(x, first..<(first + block)), into: &w)
            for s in 0..<8 {
                for l in 0..<32 { sub[l] = w[32 * s + l] }
                sw[s] = sub.reduce(0, +)
                fits[s] = bestAffine(UnsafeBufferPointer(rebasing: x[(first + 32 * s)..<(first + 32 * s + 32)]), weights: sub, nmax: nmax)
            }
            var bestError = Float.infinity
            for levels in affineLevelCandidates(fits, sw: sw, levels: 63) {
                let error = w.withUnsafeBufferPointer { encodeQ4K(x, first: first, levels: levels, bits: bits, weights: $0, into: &candidate) }
                if error < bestError { bestError = error; swap(&best, &candidate) }
            }
            for i in 0..<blockBytes { out[b * blockBytes + i] = best[i] }
        }
    }

    /// Writes one Q4_K/Q5_K super-block from quantized sub-block parameters; returns its weighted
    /// squared error as decoded.
    static func encodeQ4K(_ x: UnsafeBufferPointer<Float>, first: Int, levels: AffineLevels, bits: Int,
                          weights w: UnsafeBufferPointer<Float>, into out: inout [UInt8]) -> Float {
        let nmax = (1 << bits) - 1
        for i in out.indices { out[i] = 0 }
        out.withUnsafeMutableBytes { raw in
            Quantization.storeHalf(levels.d, raw, 0)
            Quantization.storeHalf(levels.dmin, raw, 2)
        }
        let scales = 4, qh = 16, qs = bits == 4 ? 16 : 48
        var error: Float = 0
        for s in 0..<8 {
            let sc = levels.scales[s], m = levels.mins[s]
            if s < 4 {
                out[scales + s] = UInt8(sc); out[scales + s + 4] = UInt8(m)
            } else {
                out[scales + s + 4] = UInt8(sc & 0xF) | UInt8(m & 0xF) << 4
                out[scales + s - 4] |= UInt8(sc >> 4) << 6
                out[scales + s] |= UInt8(m >> 4) << 6
            }
            let dl = levels.d * Float(sc), ml = levels.dmin * Float(m)
            let chunk = s / 2, high = s % 2 == 1
            for l in 0..<32 {
                let v = x[first + 32 * s + l]
                let q = code(v, dl, ml, nmax)
                out[qs + chunk * 32 + l] |= high ? UInt8(q & 0xF) << 4 : UInt8(q & 0xF)
                if bits == 5 && q >= 16 { out[qh + l] |= UInt8(1) << UInt8(s) }
                let e = dl * Float(q) - ml - v
                error += w[32 * s + l] * e * e
            }
        }
        return error
    }

    /// Q2_K with importance (σ² = the super-block's mean square): 16 sub-blocks of 16, 4-bit
    /// scales and minimums.
    static func q2_K(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, importance imp: UnsafeBufferPointer<Float>) {
        var w = [Float](repeating: 0, count: block), sub = [Float](repeating: 0, count: 16)
        var fits = [(scale: Float, min: Float)](repeating: (0, 0), count: 16), sw = [Float](repeating: 0, count: 16)
        for b in 0..<x.count / block {
            let base = b * 84, first = b * block
            importanceWeights(x, imp, range: first..<(first + block), sigma2: meanSquare(x, first..<(first + block)), into: &w)
            for s in 0..<16 {
                for l in 0..<16 { sub[l] = w[16 * s + l] }
                sw[s] = sub.reduce(0, +)
                fits[s] = bestAffine(UnsafeBufferPointer(rebasing: x[(first + 16 * s)..<(first + 16 * s + 16)]), weights: sub, nmax: 3)
            }
            var chosen: AffineLevels?, bestError = Float.infinity
            for levels in affineLevelCandidates(fits, sw: sw, levels: 15) {
                var error: Float = 0
                for s in 0..<16 {
                    let dl = levels.d * Float(levels.scales[s]), ml = levels.dmin * Float(levels.mins[s])
                    for i in 0..<16 {
                        let v = x[first + 16 * s + i], e = dl * Float(code(v, dl, ml, 3)) - ml - v
                        error += w[16 * s + i] * e * e
                    }
                }
                if error < bestError { bestError = error; chosen = levels }
            }
            for i in 0..<84 { out[base + i] = 0 }
            guard let levels = chosen else { continue }
            Quantization.storeHalf(levels.d, out, base + 80)
            Quantization.storeHalf(levels.dmin, out, base + 82)
            for s in 0..<16 {
                out[base + s] = UInt8(levels.scales[s]) | UInt8(levels.mins[s]) << 4
                let dl = levels.d * Float(levels.scales[s]), ml = levels.dmin * Float(levels.mins[s])
                for i in 0..<16 {
                    let e = 16 * s + i
                    out[base + 16 + (e / 128) * 32 + e % 32] |= UInt8(code(x[first + e], dl, ml, 3)) << UInt8(2 * ((e / 32) % 4))
                }
            }
        }
    }
}
