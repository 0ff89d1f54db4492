/// IQ4_NL ("non-linear" 4-bit), as ggml defines it: blocks of 32 weights, each an f16 scale `d`
/// and 16 bytes of 4-bit indices into a fixed 16-entry codebook of int8 levels. Element j of a
/// block (j < 16) is `d × codebook[qs[j] & 0xF]`, element j + 16 is `d × codebook[qs[j] >> 4]`.
enum IQ4NL {
    static let block = 32
    static let blockBytes = 18

    /// The codebook (ggml's `kvalues_iq4nl`): non-uniform levels, denser near zero.
    static let codebook: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]
    static let levels: [Float] = codebook.map { Float($0) }

    static func dequantize(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<out.count / block {
            let base = b * blockBytes
            let d = Quantization.half(bytes, base)
            for j in 0..<16 {
                let q = bytes[base + 2 + j]
                out[b * block + j] = d * Float(codebook[Int(q & 0xF)])
                out[b * block + j + 16] = d * Float(codebook[Int(q >> 4)])
            }
        }
    }

    /// The index of the level nearest `v` (a tie goes to the upper level, as ggml's
    /// `best_index_int8` decides, so equal inputs give equal bytes).
    @inline(__always) static func nearest(_ v: Float) -> Int {
        if !(v > -127) { return 0 }
        if v >= 113 { return 15 }
        var lo = 0, hi = 15
        while hi - lo > 1 {
            let mid = (lo + hi) >> 1
            if v < levels[mid] { hi = mid } else { lo = mid }
        }
        return v - levels[lo] < levels[hi] - v ? lo : hi
    }

    /// Candidate inverse scales per block: the block's extreme element is mapped to `target`
    /// for targets from 0.7× to 1.1× of each end of the codebook (both signs), in `steps` steps.
    static let steps = 24

    /// Quantizes `x` (whole blocks) into `out`. Per block the scale is searched for the smallest
    /// squared error (what RMSE measures): each candidate's codes are the nearest levels, its
    /// scale their least-squares fit; the winner is rounded to f16 and its codes recomputed at
    /// that scale. ggml's own choice (its search weighs each error by x², ntry = 7) is computed
    /// too and kept when its decoded error is smaller, so no block comes out worse than
    /// llama-quantize's.
    static func quantize(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer) {
        var codes = [Int](repeating: 0, count: block), best = [Int](repeating: 0, count: block)
        for b in 0..<x.count / block {
            let v = UnsafeBufferPointer(rebasing: x[(b * block)..<(b * block + block)])
            var amax: Float = 0, extreme: Float = 0
            for value in v where abs(value) > amax { amax = abs(value); extreme = value }
            let base = b * blockBytes
            guard amax >= 1e-15 else {
                // ggml: scale 0, every code the level nearest zero.
                Quantization.storeHalf(0, out, base)
                for j in 0..<16 { out[base + 2 + j] = UInt8(nearest(0) | nearest(0) << 4) }
                continue
            }
            // Our search: unweighted least squares over a grid of candidate scales.
            var bestScale: Float = 0, bestGain: Float = -1
            for end in [levels[0], levels[15]] {
                for k in 0...steps {
                    let target = end * (0.7 + 0.4 * Float(k) / Float(steps))
                    let iscale = target / extreme
                    var sumXQ: Float = 0, sumQQ: Float = 0
                    for value in v {
                        let q = levels[nearest(value * iscale)]
                        sumXQ += value * q; sumQQ += q * q
                    }
                    guard sumQQ > 0 else { continue }
                    let gain = sumXQ * sumXQ / sumQQ
                    if gain > bestGain { bestGain = gain; bestScale = sumXQ / sumQQ }
                }
            }
            var d = Float(Float16(bestScale))
            var error = decodedError(v, scale: d, codes: &best)
            // Refit the scale to the codes it produced, once, and keep it if it decodes better.
            refine(v, &d, &error, &best, &codes)
            // ggml's own choice, so that the result is never worse than llama-quantize's.
            let theirs = Float(Float16(ggmlScale(v, extreme: extreme)))
            let theirError = decodedError(v, scale: theirs, codes: &codes)
            if theirError < error { d = theirs; error = theirError; swap(&best, &codes) }
            Quantization.storeHalf(d, out, base)
            for j in 0..<16 { out[base + 2 + j] = UInt8(best[j] | best[j + 16] << 4) }
        }
    }

    /// The codes nearest each element at scale `d` (as stored, f16), and their squared error.
    static func decodedError(_ v: UnsafeBufferPointer<Float>, scale d: Float, codes: inout [Int]) -> Double {
        let id: Float = d != 0 ? 1 / d : 0
        var error: Double = 0
        for (j, value) in v.enumerated() {
            codes[j] = nearest(value * id)
            let e = Double(value) - Double(d) * Double(levels[codes[j]])
            error += e * e
        }
        return error
    }

    static func refine(_ v: UnsafeBufferPointer<Float>, _ d: inout Float, _ error: inout Double, _ best: inout [Int], _ scratch: inout [Int]) {
        var sumXQ: Double = 0, sumQQ: Double = 0
        for (j, value) in v.enumerated() {
            let q = Double(levels[best[j]])
            sumXQ += Double(value) * q; sumQQ += q * q
        }
        guard sumQQ > 0 else { return }
        let refit = Float(Float16(Float(sumXQ / sumQQ)))
        let refitError = decodedError(v, scale: refit, codes: &scratch)
        if refitError < error { d = refit; error = refitError; swap(&best, &scratch) }
    }

    /// The scale ggml's `quantize_row_iq4_nl_impl` picks for one block without an importance
    /// matrix: weights x², a first fit with the extreme at +127, then the extreme mapped to
    /// -127 + t for t in -7…7, keeping the largest weighted Σxq²/Σq².
    static func ggmlScale(_ v: UnsafeBufferPointer<Float>, extreme: Float) -> Float {
        func fit(_ iscale: Float) -> (sumXQ: Float, sumQQ: Float) {
            var sumXQ: Float = 0, sumQQ: Float = 0
            for value in v {
                let q = levels[nearest(iscale * value)], w = value * value
                sumXQ += w * q * value; sumQQ += w * q * q
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
