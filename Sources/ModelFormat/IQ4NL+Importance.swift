/// IQ4_NL with importance weights w_j = imatrix_j · √(σ² + x_j²), σ² twice the block's mean
/// square (llama.cpp's rule for it). The same two searches as without weights — slmbench's grid of
/// candidate scales and ggml's (now weighted by w instead of x²) — both minimising Σ w (x - x̂)²,
/// the winner chosen by that error as decoded at its f16 scale.
extension IQ4NL {
    static func quantize(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, importance imp: UnsafeBufferPointer<Float>) {
        var codes = [Int](repeating: 0, count: block), best = [Int](repeating: 0, count: block)
        var w = [Float](repeating: 0, count: block)
        for b in 0..<x.count / block {
            let first = b * block, base = b * blockBytes
            let v = UnsafeBufferPointer(rebasing: x[first..<(first + block)])
            var amax: Float = 0, extreme: Float = 0
            for value in v where abs(value) > amax { amax = abs(value); extreme = value }
            guard amax >= 1e-15 else {
                Quantization.storeHalf(0, out, base)
                for j in 0..<16 { out[base + 2 + j] = UInt8(nearest(0) | nearest(0) << 4) }
                continue
            }
            KQuantizer.importanceWeights(x, imp, range: first..<(first + block), sigma2: 2 * KQuantizer.meanSquare(x, first..<(first + block)), into: &w)
            var bestScale: Float = 0, bestGain: Float = -1
            for end in [levels[0], levels[15]] {
                for k in 0...steps {
                    let iscale = end * (0.7 + 0.4 * Float(k) / Float(steps)) / extreme
                    var sumXQ: Float = 0, sumQQ: Float = 0
                    for (j, value) in v.enumerated() {
                        let q = levels[nearest(value * iscale)]
                        sumXQ += w[j] * value * q; sumQQ += w[j] * q * q
                    }
                    guard sumQQ > 0 else { continue }
                    let gain = sumXQ * sumXQ / sumQQ
                    if gain > bestGain { bestGain = gain; bestScale = sumXQ / sumQQ }
                }
            }
            var d = Float(Float16(bestScale))
            var error = weightedError(v, w, scale: d, codes: &best)
            // Refit the scale to its codes once (weighted least squares), kept if it decodes better.
            var sumXQ: Double = 0, sumQQ: Double = 0
            for (j, value) in v.enumerated() {
                let q = Double(levels[best[j]])
                sumXQ += Double(w[j]) * Double(value) * q; sumQQ += Double(w[j]) * q * q
            }
            if sumQQ > 0 {
                let refit = Float(Float16(Float(sumXQ / sumQQ)))
                let refitError = weightedError(v, w, scale: refit, codes: &codes)
                if refitError < error { d = refit; error = refitError; swap(&best, &codes) }
            }
            let theirs = Float(Float16(ggmlScale(v, extreme: extreme, weights: w)))
            let theirError = weightedError(v, w, scale: theirs, codes: &codes)
            if theirError < error { d = theirs; swap(&best, &codes) }
            Quantization.storeHalf(d, out, base)
            for j in 0..<16 { out[base + 2 + j] = UInt8(best[j] | best[j + 16] << 4) }
        }
    }

    /// The nearest codes at scale `d` and their weighted squared error.
    static func weightedError(_ v: UnsafeBufferPointer<Float>, _ w: [Float], scale d: Float, codes: inout [Int]) -> Double {
        let id: Float = d != 0 ? 1 / d : 0
        var error: Double = 0
        for (j, value) in v.enumerated() {
            codes[j] = nearest(value * id)
            let e = Double(value) - Double(d) * Double(levels[codes[j]])
            error += Double(w[j]) * e * e
        }
        return error
    }

    /// ggml's `quantize_row_iq4_nl_impl` scale choice (ntry = 7) with explicit weights.
    static func ggmlScale(_ v: UnsafeBufferPointer<Float>, extreme: Float, weights w: [Float]) -> Float {
        func fit(_ iscale: Float) -> (sumXQ: Float, sumQQ: Float) {
            var sumXQ: Float = 0, sumQQ: Float = 0
            for (j, value) in v.enumerated() {
                let q = levels[nearest(iscale * value)]
                sumXQ += w[j] * q * value; sumQQ += w[j] * q * q
            }
            return (sumXQ, sumQQ)
        }
        let first = fit(1 / (-extreme / levels[0]))
        var d: Float = first.sumQQ > 0 ? first.sumXQ / first.sumQQ : 0
        var best = d * first.sumXQ
        for t in -7...7 {
            let (sumXQ, sumQQ) = fit((Float(t) + levels[0]) / extreme)
            if sumQQ > 0 && sumXQ * sumXQ > best * sumQQ { d = sumXQ / sumQQ; best = d * sumXQ }
        }
        return d
    }
}
