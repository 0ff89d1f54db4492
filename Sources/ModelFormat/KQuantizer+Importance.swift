/// Importance-weighted scale searches for the K formats and the 32-element legacy formats.
///
/// With an importance matrix, each element's squared error counts with weight
/// w_j = imatrix_j · √(σ² + x_j²), the rule llama.cpp's quantizers use, where σ² is a mean square
/// of the values around it: twice the super-block's for Q3_K, Q4_K and Q5_K, the super-block's for
/// Q2_K, the row's for Q4_0, Q4_1, Q5_0 and Q5_1; Q6_K weighs by imatrix_j alone. Every search
/// below minimises Σ w (x - x̂)² instead of Σ (x - x̂)², and where two encodings of a block are
/// tried the one with the smaller weighted error as decoded is kept. Without an importance matrix
/// none of this runs: the unweighted functions are unchanged, byte for byte.
extension KQuantizer {
    /// The weights of `x[range]` given the importance `imp[range]` and σ²; √(σ² + x²) · imp.
    @inline(__always) static func importanceWeights(_ x: UnsafeBufferPointer<Float>, _ imp: UnsafeBufferPointer<Float>,
                                                    range: Range<Int>, sigma2: Float, into w: inout [Float]) {
        for (k, i) in range.enumerated() { w[k] = imp[i] * (sigma2 + x[i] * x[i]).squareRoot() }
    }

    /// Σx² / count over `range`.
    @inline(__always) static func meanSquare(_ x: UnsafeBufferPointer<Float>, _ range: Range<Int>) -> Float {
        var s: Float = 0
        for i in range { s += x[i] * x[i] }
        return range.isEmpty ? 0 : s / Float(range.count)
    }

    /// Relative offsets of the candidate inverse scales a weighted symmetric search tries: slmbench's
    /// grid (±1.5 in 33 steps) and ggml's `make_qx_quants` grid (±0.9 in steps of 0.1).
    static let weightedOffsets: [Float] = (-steps...steps).map { spread * Float($0) / Float(steps) } + (-9...9).map { 0.1 * Float($0) }

    /// Weighted `fitSymmetric`: x ≈ s·q, q in [qmin, qmax], minimising Σ w (x - s·q)². Each
    /// candidate's error is Σwx² - (Σwxq)²/Σwq², so the search maximises (Σwxq)²/Σwq².
    static func fitSymmetric(_ x: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>, qmin: Int, qmax: Int) -> Float {
        var amax: Float = 0, extreme: Float = 0
        for v in x where abs(v) > amax { amax = abs(v); extreme = v }
        guard amax > 1e-15 else { return 0 }
        let levels = Float(-qmin), lo = Float(qmin), hi = Float(qmax)
        var bestScale: Float = extreme / -levels, bestGain: Float = -1
        for offset in weightedOffsets {
            let iscale = -(levels + offset) / extreme
            var sumXQ: Float = 0, sumQQ: Float = 0
            for (i, v) in x.enumerated() {
                let q = Swift.min(Swift.max(fastRound(v * iscale), lo), hi)
                sumXQ += w[i] * v * q; sumQQ += w[i] * q * q
            }
            guard sumQQ > 0 else { continue }
            let gain = sumXQ * sumXQ / sumQQ
            if gain > bestGain { bestGain = gain; bestScale = sumXQ / sumQQ }
        }
        return bestScale
    }

    /// Weighted `fitAffine`: x ≈ a·q - m, q in [0, nmax], a ≥ 0, m ≥ 0, minimising Σ w (x - x̂)².
    static func fitAffine(_ x: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>, nmax: Int) -> (scale: Float, min: Float) {
        var lo = x[0], hi = x[0], sumW: Float = 0, sumX: Float = 0, sumXX: Float = 0
        for (i, v) in x.enumerated() {
            lo = Swift.min(lo, v); hi = Swift.max(hi, v)
            sumW += w[i]; sumX += w[i] * v; sumXX += w[i] * v * v
        }
        lo = Swift.min(lo, 0)
        guard hi - lo > 1e-15, sumW > 0 else { return (0, -lo) }
        let top = Float(nmax)
        var best: (Float, Float) = ((hi - lo) / top, -lo), bestError = Float.infinity
        for k in -steps...steps {
            let iscale = (top + spread * Float(k) / Float(steps)) / (hi - lo)
            var sumQ: Float = 0, sumQQ: Float = 0, sumXQ: Float = 0
            for (i, v) in x.enumerated() {
                let q = Swift.min(Swift.max(fastRound((v - lo) * iscale), 0), top)
                sumQ += w[i] * q; sumQQ += w[i] * q * q; sumXQ += w[i] * v * q
            }
            let det = sumW * sumQQ - sumQ * sumQ
            guard det > 0 else { continue }
            var a = (sumW * sumXQ - sumQ * sumX) / det
            var b = (sumX - a * sumQ) / sumW
            if b > 0 { b = 0; a = sumQQ > 0 ? sumXQ / sumQQ : 0 }
            guard a > 0 else { continue }
            let error = a * a * sumQQ + 2 * a * b * sumQ + sumW * b * b - 2 * a * sumXQ - 2 * b * sumX + sumXX
            if error < bestError { bestError = error; best = (a, -b) }
        }
        return best
    }

    /// Weighted squared error of an affine fit as decoded: codes nearest for (scale, min).
    static func affineError(_ x: UnsafeBufferPointer<Float>, weights w: UnsafeBufferPointer<Float>, scale: Float, min: Float, nmax: Int) -> Float {
        var error: Float = 0
        for (i, v) in x.enumerated() {
            let e = scale * Float(code(v, scale, min, nmax)) - min - v
            error += w[i] * e * e
        }
        return error
    }

    /// The better (by weighted error) of slmbench's weighted affine fit and ggml's
    /// `make_qkx3_quants` search (rmin -0.9, rdelta 0.05, 36 steps) for one sub-block.
    static func bestAffine(_ x: UnsafeBufferPointer<Float>, weights w: [Float], nmax: Int) -> (scale: Float, min: Float) {
        w.withUnsafeBufferPointer { wb in
            let ours = fitAffine(x, weights: wb, nmax: nmax)
            let theirs = weightedAffine(x, weights: w, nmax: nmax, rmin: -0.9, rdelta: 0.05, steps: 36)
            return affineError(x, weights: wb, scale: theirs.scale, min: theirs.min, nmax: nmax)
                < affineError(x, weights: wb, scale: ours.scale, min: ours.min, nmax: nmax) ? theirs : ours
        }
    }

    /// ggml's `make_qp_quants` (the facts of its search): non-negative `values` ≈ d·L, L in
    /// [0, nmax], weighted by `weights`; ±0.4 around nmax/max, then up to five passes that move
    /// single levels while the weighted fit improves. Returns d and the levels.
    static func fitPositiveLevels(_ values: [Float], weights: [Float], nmax: Int) -> (scale: Float, levels: [Int]) {
        let n = values.count, top = Float(nmax)
        let largest = values.max() ?? 0
        guard largest >= 1e-15 else { return (0, [Int](repeating: 0, count: n)) }
        func level(_ v: Float, _ iscale: Float) -> Float { Swift.min(top, fastRound(iscale * v)) }
        var iscale = top / largest
        var bestError: Float = 0
        for i in 0..<n { let e = values[i] - level(values[i], iscale) / iscale; bestError += weights[i] * e * e }
        for k in -4...4 where k != 0 {
            let candidate = (0.1 * Float(k) + top) / largest
            var error: Float = 0
            for i in 0..<n { let e = values[i] - level(values[i], candidate) / candidate; error += weights[i] * e * e }
            if error < bestError { bestError = error; iscale = candidate }
        }
        var levels = values.map { level($0, iscale) }
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<n { sumLX += weights[i] * values[i] * levels[i]; sumL2 += weights[i] * levels[i] * levels[i] }
        for _ in 0..<5 {
            var changed = false
            for i in 0..<n {
                let w = weights[i]
                var slx = sumLX - w * values[i] * levels[i], sl2 = sumL2 - w * levels[i] * levels[i]
                guard slx > 0, sl2 > 0 else { continue }
                let candidate = Swift.min(top, fastRound(values[i] * sl2 / slx))
                guard candidate != levels[i] else { continue }
                slx += w * values[i] * candidate; sl2 += w * candidate * candidate
                if slx * slx * sumL2 > sumLX * sumLX * sl2 { levels[i] = candidate; sumLX = slx; sumL2 = sl2; changed = true }
            }
            if !changed { break }
        }
        return (sumL2 > 0 ? sumLX / sumL2 : 0, levels.map { Int($0) })
    }
}
