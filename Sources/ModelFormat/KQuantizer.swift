/// slmbench's own quantizers for the K formats.
///
/// Each sub-block's scale (and, for the affine types, its minimum) is chosen by trying a grid
/// of candidate scales around range ÷ levels, refitting every candidate by least squares, and
/// keeping the one with the smallest squared error (unweighted: the criterion RMSE measures).
/// The sub-block parameters are then quantized against the fp16 super-block scales, and the
/// codes are recomputed with the parameters as they will be decoded.
enum KQuantizer {
    static let block = KQuants.block
    /// Candidate scales tried per sub-block: levels + k/steps·spread for k in -steps…steps.
    static let steps = 16
    static let spread: Float = 1.5

    /// Round to nearest (ties to even) for |v| < 2^22 with two additions: plain SSE2/NEON
    /// arithmetic that vectorises, where `rounded()` is a library call on baseline x86-64.
    @inline(__always) static func fastRound(_ v: Float) -> Float {
        (v + 12_582_912) - 12_582_912
    }

    /// Best symmetric fit x ≈ s·q, q integer in [qmin, qmax]. Returns s (may be negative).
    /// Each candidate's error comes from its least-squares sums: Σx² - (Σxq)²/Σq².
    static func fitSymmetric(_ x: UnsafeBufferPointer<Float>, qmin: Int, qmax: Int) -> Float {
        var amax: Float = 0, extreme: Float = 0
        for v in x where abs(v) > amax { amax = abs(v); extreme = v }
        guard amax > 1e-15 else { return 0 }
        // The extreme element maps to qmin (the longer side of the range), as ggml's layouts do.
        let levels = Float(-qmin), lo = Float(qmin), hi = Float(qmax)
        var bestScale: Float = extreme / -levels, bestGain: Float = -1
        for k in -steps...steps {
            let iscale = -(levels + spread * Float(k) / Float(steps)) / extreme
            var sumXQ: Float = 0, sumQQ: Float = 0
            for v in x {
                let q = Swift.min(Swift.max(fastRound(v * iscale), lo), hi)
                sumXQ += v * q; sumQQ += q * q
            }
            // Minimising Σ(x - s·q)² over s leaves Σx² - (Σxq)²/Σq²: maximise the gain.
            guard sumQQ > 0 else { continue }
            let gain = sumXQ * sumXQ / sumQQ
            if gain > bestGain { bestGain = gain; bestScale = sumXQ / sumQQ }
        }
        return bestScale
    }

    /// Best affine fit x ≈ a·q - m with q in [0, nmax], a ≥ 0, m ≥ 0 (the K formats store a
    /// non-negative minimum that is subtracted). Returns (a, m).
    static func fitAffine(_ x: UnsafeBufferPointer<Float>, nmax: Int) -> (scale: Float, min: Float) {
        var lo = x[0], hi = x[0], sumX: Float = 0, sumXX: Float = 0
        for v in x { lo = Swift.min(lo, v); hi = Swift.max(hi, v); sumX += v; sumXX += v * v }
        lo = Swift.min(lo, 0)
        guard hi - lo > 1e-15 else { return (0, -lo) }
        let n = Float(x.count), top = Float(nmax)
        var best: (Float, Float) = ((hi - lo) / top, -lo), bestError = Float.infinity
        for k in -steps...steps {
            let iscale = (top + spread * Float(k) / Float(steps)) / (hi - lo)
            var sumQ: Float = 0, sumQQ: Float = 0, sumXQ: Float = 0
            for v in x {
                let q = Swift.min(Swift.max(fastRound((v - lo) * iscale), 0), top)
                sumQ += q; sumQQ += q * q; sumXQ += v * q
            }
            // Least squares for x ≈ a·q + b; a minimum above zero is clipped to zero.
            let det = n * sumQQ - sumQ * sumQ
            guard det > 0 else { continue }
            var a = (n * sumXQ - sumQ * sumX) / det
            var b = (sumX - a * sumQ) / n
            if b > 0 { b = 0; a = sumQQ > 0 ? sumXQ / sumQQ : 0 }
            guard a > 0 else { continue }
            // Σ(a·q + b - x)² from the sums.
            let error = a * a * sumQQ + 2 * a * b * sumQ + n * b * b - 2 * a * sumXQ - 2 * b * sumX + sumXX
            if error < bestError { bestError = error; best = (a, -b) }
        }
        return best
    }

    @inline(__always) static func code(_ v: Float, _ scale: Float, _ min: Float, _ nmax: Int) -> Int {
        scale == 0 ? 0 : max(0, Swift.min(nmax, Int(((v + min) / scale).rounded())))
    }

    /// The symmetric K formats' common step: fits the 16 sub-block scales of block `first`,
    /// quantizes them against a fp16 super-block scale d (the largest maps to -scaleLevels),
    /// and derives each element's code as q - qmin. Returns d, or nil for an all-zero block.
    static func symmetricBlock(_ x: UnsafeBufferPointer<Float>, first: Int, qmin: Int, qmax: Int, scaleLevels: Int,
                               scales: inout [Float], subScales: inout [Int], codes: inout [Int]) -> Float? {
        var maxScale: Float = 0
        for s in 0..<16 {
            scales[s] = fitSymmetric(UnsafeBufferPointer(rebasing: x[(first + 16 * s)..<(first + 16 * s + 16)]), qmin: qmin, qmax: qmax)
            if abs(scales[s]) > abs(maxScale) { maxScale = scales[s] }
        }
        guard maxScale != 0 else { return nil }
        let d = Float(Float16(maxScale / Float(-scaleLevels)))
        for s in 0..<16 {
            let q = max(-scaleLevels, min(scaleLevels - 1, Int((scales[s] / d).rounded())))
            subScales[s] = q
            let dl = d * Float(q)
            for i in 0..<16 {
                let v = x[first + 16 * s + i]
                codes[16 * s + i] = (dl == 0 ? 0 : max(qmin, min(qmax, Int((v / dl).rounded())))) - qmin
            }
        }
        return d
    }

    /// Each block of a symmetric K format, in order: zeroes its `blockBytes`, fits it
    /// (`symmetricBlock`), stores d at `dOffset`, and hands the block's base offset, sub-block
    /// scales and codes to `pack`. An all-zero block stays all zeros. Scratch is reused across
    /// blocks (no allocation per block).
    static func symmetricBlocks(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, blockBytes: Int, dOffset: Int,
                                qmin: Int, qmax: Int, scaleLevels: Int, pack: (_ base: Int, _ subScales: [Int], _ codes: [Int]) -> Void) {
        var scales = [Float](repeating: 0, count: 16), subScales = [Int](repeating: 0, count: 16)
        var codes = [Int](repeating: -qmin, count: block)
        for b in 0..<x.count / block {
            let base = b * blockBytes
            for i in 0..<blockBytes { out[base + i] = 0 }
            guard let d = symmetricBlock(x, first: b * block, qmin: qmin, qmax: qmax, scaleLevels: scaleLevels,
                                         scales: &scales, subScales: &subScales, codes: &codes) else { continue }
            Quantization.storeHalf(d, out, base + dOffset)
            pack(base, subScales, codes)
        }
    }

    /// Q6_K: 16 sub-blocks of 16, int8 scales, codes in [-32, 31].
    static func q6_K(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer) {
        symmetricBlocks(x, out, blockBytes: 210, dOffset: 208, qmin: -32, qmax: 31, scaleLevels: 128) { base, subScales, codes in
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
    }

    /// Q3_K: 16 sub-blocks of 16, 6-bit signed scales, codes in [-4, 3].
    static func q3_K(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer) {
        symmetricBlocks(x, out, blockBytes: 110, dOffset: 108, qmin: -4, qmax: 3, scaleLevels: 32) { base, subScales, codes in
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
    }

    /// Q2_K: 16 sub-blocks of 16, 4-bit scale and minimum, codes in [0, 3].
    static func q2_K(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer) {
        var fits = [(scale: Float, min: Float)](repeating: (0, 0), count: 16)
        for b in 0..<x.count / block {
            let base = b * 84, first = b * block
            var maxScale: Float = 0, maxMin: Float = 0
            for s in 0..<16 {
                fits[s] = fitAffine(UnsafeBufferPointer(rebasing: x[(first + 16 * s)..<(first + 16 * s + 16)]), nmax: 3)
                maxScale = max(maxScale, fits[s].scale); maxMin = max(maxMin, fits[s].min)
            }
            for i in 0..<84 { out[base + i] = 0 }
            let d = Float(Float16(maxScale / 15)), dmin = Float(Float16(maxMin / 15))
            Quantization.storeHalf(d, out, base + 80)
            Quantization.storeHalf(dmin, out, base + 82)
            for s in 0..<16 {
                let sc = d > 0 ? min(15, Int((fits[s].scale / d).rounded())) : 0
                let m = dmin > 0 ? min(15, Int((fits[s].min / dmin).rounded())) : 0
                out[base + s] = UInt8(sc) | UInt8(m) << 4
                let dl = d * Float(sc), ml = dmin * Float(m)
                for i in 0..<16 {
                    let e = 16 * s + i
                    let l = code(x[first + e], dl, ml, 3)
                    out[base + 16 + (e / 128) * 32 + e % 32] |= UInt8(l) << UInt8(2 * ((e / 32) % 4))
                }
            }
        }
    }

    /// Q4_K (bits 4) and Q5_K (bits 5): 8 sub-blocks of 32, 6-bit scales and minimums.
    /// Each super-block is encoded twice, from slmbench's unweighted fits and from the fits
    /// ggml's reference quantizer makes (`weightedAffine`, its weights av|x| + |x|), and the
    /// encoding that decodes with the smaller squared error is kept: never worse than
    /// llama-quantize's block, usually better.
    static func q4_K(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, bits: Int) {
        let blockBytes = bits == 4 ? 144 : 176
        let nmax = (1 << bits) - 1
        var fits = [(scale: Float, min: Float)](repeating: (0, 0), count: 8)
        var ours = [UInt8](repeating: 0, count: blockBytes), theirs = ours
        var weights = [Float](repeating: 0, count: 32)
        for b in 0..<x.count / block {
            let first = b * block
            for s in 0..<8 {
                fits[s] = fitAffine(UnsafeBufferPointer(rebasing: x[(first + 32 * s)..<(first + 32 * s + 32)]), nmax: nmax)
            }
            let ourError = encodeQ4K(x, first: first, fits: fits, bits: bits, ggmlScales: false, into: &ours)
            for s in 0..<8 {
                let sub = UnsafeBufferPointer(rebasing: x[(first + 32 * s)..<(first + 32 * s + 32)])
                var sumXX: Float = 0
                for v in sub { sumXX += v * v }
                let average = (sumXX / 32).squareRoot()
                for (l, v) in sub.enumerated() { weights[l] = average + abs(v) }
                fits[s] = weightedAffine(sub, weights: weights, nmax: nmax, rmin: bits == 4 ? -1 : -0.5, rdelta: 0.1, steps: bits == 4 ? 20 : 15)
            }
            let theirError = encodeQ4K(x, first: first, fits: fits, bits: bits, ggmlScales: true, into: &theirs)
            let best = theirError < ourError ? theirs : ours
            for i in 0..<blockBytes { out[b * blockBytes + i] = best[i] }
        }
    }

    /// Writes one Q4_K/Q5_K super-block from per-sub-block (scale, min) fits and returns its
    /// squared error as decoded. `ggmlScales` quantizes the sub-block parameters as ggml does
    /// (×63/max before rounding), else against the f16 super-block scales themselves.
    static func encodeQ4K(_ x: UnsafeBufferPointer<Float>, first: Int, fits: [(scale: Float, min: Float)], bits: Int,
                          ggmlScales: Bool, into out: inout [UInt8]) -> Double {
        let nmax = (1 << bits) - 1
        var maxScale: Float = 0, maxMin: Float = 0
        for f in fits { maxScale = max(maxScale, f.scale); maxMin = max(maxMin, f.min) }
        for i in out.indices { out[i] = 0 }
        let d = Float(Float16(maxScale / 63)), dmin = Float(Float16(maxMin / 63))
        out.withUnsafeMutableBytes { raw in
            Quantization.storeHalf(d, raw, 0)
            Quantization.storeHalf(dmin, raw, 2)
        }
        let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0, inverseMin: Float = maxMin > 0 ? 63 / maxMin : 0
        let scales = 4, qh = 16, qs = bits == 4 ? 16 : 48
        var error: Double = 0
        for s in 0..<8 {
            let sc: Int, m: Int
            if ggmlScales {
                sc = max(0, min(63, Int(fastRound(inverseScale * fits[s].scale))))
                m = max(0, min(63, Int(fastRound(inverseMin * fits[s].min))))
            } else {
                sc = d > 0 ? max(0, min(63, Int((fits[s].scale / d).rounded()))) : 0
                m = dmin > 0 ? max(0, min(63, Int((fits[s].min / dmin).rounded()))) : 0
            }
            if s < 4 {
                out[scales + s] = UInt8(sc); out[scales + s + 4] = UInt8(m)
            } else {
                out[scales + s + 4] = UInt8(sc & 0xF) | UInt8(m & 0xF) << 4
                out[scales + s - 4] |= UInt8(sc >> 4) << 6
                out[scales + s] |= UInt8(m >> 4) << 6
            }
            let dl = d * Float(sc), ml = dmin * Float(m)
            let chunk = s / 2, high = s % 2 == 1
            for l in 0..<32 {
                let v = x[first + 32 * s + l]
                let q = code(v, dl, ml, nmax)
                out[qs + chunk * 32 + l] |= high ? UInt8(q & 0xF) << 4 : UInt8(q & 0xF)
                if bits == 5 && q >= 16 { out[qh + l] |= UInt8(1) << UInt8(s) }
                let e = Double(dl * Float(q) - ml) - Double(v)
                error += e * e
            }
        }
        return error
    }

    /// ggml's `make_qkx2_quants` (the facts of its search): x ≈ a·q + b with q in [0, nmax],
    /// b ≤ 0, minimising the weighted squared error over iscale = (nmax + rmin + k·rdelta) ÷
    /// range, k = 0…steps, each candidate refitted by weighted least squares. Returns (a, -b).
    static func weightedAffine(_ x: UnsafeBufferPointer<Float>, weights: [Float], nmax: Int, rmin: Float, rdelta: Float,
                               steps: Int) -> (scale: Float, min: Float) {
        var lo = x[0], hi = x[0], sumW = weights[0], sumX = weights[0] * x[0]
        for i in 1..<x.count {
            lo = Swift.min(lo, x[i]); hi = Swift.max(hi, x[i])
            sumW += weights[i]; sumX += weights[i] * x[i]
        }
        if lo > 0 { lo = 0 }
        guard hi != lo else { return (0, -lo) }
        let top = Float(nmax)
        var iscale = top / (hi - lo)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<x.count {
            let q = Swift.min(Swift.max(fastRound(iscale * (x[i] - lo)), 0), top)
            let diff = scale * q + lo - x[i]
            bestError += weights[i] * diff * diff
        }
        var levels = [Float](repeating: 0, count: x.count)
        for k in 0...steps {
            iscale = (rmin + rdelta * Float(k) + top) / (hi - lo)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<x.count {
                let q = Swift.min(Swift.max(fastRound(iscale * (x[i] - lo)), 0), top)
                levels[i] = q
                sumL += weights[i] * q; sumL2 += weights[i] * q * q; sumXL += weights[i] * q * x[i]
            }
            let det = sumW * sumL2 - sumL * sumL
            guard det > 0 else { continue }
            var thisScale = (sumW * sumXL - sumX * sumL) / det
            var thisMin = (sumL2 * sumX - sumL * sumXL) / det
            if thisMin > 0 { thisMin = 0; thisScale = sumXL / sumL2 }
            var error: Float = 0
            for i in 0..<x.count {
                let diff = thisScale * levels[i] + thisMin - x[i]
                error += weights[i] * diff * diff
            }
            // As ggml does, a better candidate's offset also becomes the origin of the next
            // candidates' levels and range.
            if error < bestError { bestError = error; scale = thisScale; lo = thisMin }
        }
        return (scale, -lo)
    }
}
