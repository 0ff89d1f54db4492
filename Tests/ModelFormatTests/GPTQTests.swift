@testable import ModelFormat
import Testing

/// GPTQ's parts on small matrices with known Hessians: the inverse factor, the block layouts it
/// writes codes into, and the property the method exists for (less output error than
/// round-to-nearest under the Hessian it was given).
@Suite("GPTQ")
struct GPTQTests {
    /// SplitMix64, for reproducible data without a dependency.
    struct SplitMix64 {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    }

    /// Activations whose channels are correlated (a random mixing of independent sources), so
    /// that H has the off-diagonal mass error compensation uses.
    static func hessian(columns: Int, tokens: Int, seed: UInt64) -> Hessian {
        var rng = SplitMix64(seed: seed)
        let sources = max(4, columns / 4)
        let mixing = (0..<(sources * columns)).map { _ in Float(rng.nextUnit() * 2 - 1) }
        var x = [Float](repeating: 0, count: tokens * columns)
        for t in 0..<tokens {
            let s = (0..<sources).map { _ in Float(rng.nextUnit() * 2 - 1) }
            for c in 0..<columns {
                var v: Float = 0
                for k in 0..<sources { v += s[k] * mixing[k * columns + c] }
                x[t * columns + c] = v + 0.05 * Float(rng.nextUnit() - 0.5)
            }
        }
        var h = Hessian(columns: columns)
        x.withUnsafeBufferPointer { h.add($0.baseAddress!, rows: tokens) }
        return h
    }

    static func weights(rows: Int, columns: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<(rows * columns)).map { _ in Float(rng.nextUnit() * 2 - 1) * (rng.nextUnit() < 0.02 ? 4 : 1) }
    }

    static func dequantize(_ bytes: [UInt8], type: TensorType, rows: Int, columns: Int) throws -> [Float] {
        let rowBytes = try #require(type.rowBytes(columns))
        var out = [Float](repeating: 0, count: rows * columns)
        try bytes.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer { o in
                for r in 0..<rows {
                    try Quantization.dequantize(UnsafeRawBufferPointer(rebasing: raw[(r * rowBytes)..<((r + 1) * rowBytes)]), type: type,
                                                into: UnsafeMutableBufferPointer(rebasing: o[(r * columns)..<((r + 1) * columns)]))
                }
            }
        }
        return out
    }

    static func rtn(_ w: [Float], type: TensorType, rows: Int, columns: Int) throws -> [UInt8] {
        let rowBytes = try #require(type.rowBytes(columns))
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        try w.withUnsafeBufferPointer { wb in
            try out.withUnsafeMutableBytes { ob in
                for r in 0..<rows {
                    try Quantization.quantize(UnsafeBufferPointer(rebasing: wb[(r * columns)..<((r + 1) * columns)]), to: type,
                                              into: UnsafeMutableRawBufferPointer(rebasing: ob[(r * rowBytes)..<((r + 1) * rowBytes)]))
                }
            }
        }
        return out
    }

    /// Σ over rows of eᵀHe, e = w − q: the change of the layer's output on the calibration set.
    static func outputError(_ w: [Float], _ q: [Float], _ h: Hessian, rows: Int) -> Double {
        let n = h.columns, m = h.symmetric()
        var total = 0.0
        for r in 0..<rows {
            let e = (0..<n).map { Double(w[r * n + $0] - q[r * n + $0]) }
            for i in 0..<n { var s = 0.0; for j in 0..<n { s += m[i * n + j] * e[j] }; total += e[i] * s }
        }
        return total
    }

    @Test func inverseFactorIsTheUpperCholeskyOfTheInverse() throws {
        let n = 40
        let h = Self.hessian(columns: n, tokens: 200, seed: 7)
        let (u, dead, used) = try GPTQ.inverseFactor(h, tensor: "t", dampening: 0.01)
        #expect(dead.allSatisfy { !$0 } && used == 0.01)
        for i in 0..<n { for j in 0..<i { #expect(u[i * n + j] == 0, "U is upper triangular") } }
        // (UᵀU)(H + λI) = I.
        let worst = Self.inverseDeviation(u, h, order: Array(0..<n))
        #expect(worst < 1e-3, "largest deviation from I: \(worst)")
    }

    /// The largest deviation from I of (UᵀU) · P(H + λI)Pᵀ, λ = 0.01 × mean diag(H) and P the
    /// permutation `order` (U factors the permuted inverse: (UᵀU)_{ik} is (H + λI)⁻¹ at
    /// (order[i], order[k])).
    static func inverseDeviation(_ u: [Float], _ h: Hessian, order: [Int]) -> Double {
        let n = h.columns
        var m = h.symmetric()
        let mean = (0..<n).map { m[$0 * n + $0] }.reduce(0, +) / Double(n)
        for i in 0..<n { m[i * n + i] += 0.01 * mean }
        var worst = 0.0
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for k in 0..<n {
                    var inv = 0.0
                    for l in 0...min(i, k) { inv += Double(u[l * n + i]) * Double(u[l * n + k]) }
                    s += inv * m[order[k] * n + order[j]]
                }
                worst = max(worst, abs(s - (i == j ? 1 : 0)))
            }
        }
        return worst
    }

    static let types = ["lab3g64a", "lab3g32s", "lab4g128a", "lab4grows", "lab2g32a", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k"]

    @Test(arguments: types)
    func lowersTheOutputErrorBelowRoundToNearest(_ name: String) throws {
        let type = try #require(TensorType(name: name))
        let rows = 12, columns = 256
        let h = Self.hessian(columns: columns, tokens: 600, seed: 11)
        let w = Self.weights(rows: rows, columns: columns, seed: 3)
        let rtn = try Self.dequantize(try Self.rtn(w, type: type, rows: rows, columns: columns), type: type, rows: rows, columns: columns)
        let (bytes, _) = try GPTQ.quantize(w, rows: rows, columns: columns, hessian: h, type: type, tensor: "t")
        let gptq = try Self.dequantize(bytes, type: type, rows: rows, columns: columns)
        let eRTN = Self.outputError(w, rtn, h, rows: rows), eGPTQ = Self.outputError(w, gptq, h, rows: rows)
        #expect(gptq.allSatisfy { $0.isFinite })
        #expect(eGPTQ < eRTN, "\(name): H-weighted error GPTQ \(eGPTQ) vs round-to-nearest \(eRTN)")
    }

    /// With H = I there is nothing to compensate (U is diagonal): GPTQ writes round-to-nearest's bytes.
    @Test(arguments: ["lab3g64a", "lab4g32s", "lab2grows", "lab5g128a"])
    func identityHessianGivesRoundToNearest(_ name: String) throws {
        let type = try #require(TensorType(name: name))
        let rows = 6, columns = 384
        var identity = [Double](repeating: 0, count: columns * columns)
        for i in 0..<columns { identity[i * columns + i] = 1 }
        let w = Self.weights(rows: rows, columns: columns, seed: 5)
        let hessian = Hessian(columns: columns, matrix: identity, tokens: 1)
        let (bytes, _) = try GPTQ.quantize(w, rows: rows, columns: columns, hessian: hessian, type: type, tensor: "t",
                                           options: GPTQ.Options(clipSearch: false))
        let rtn = try Self.rtn(w, type: type, rows: rows, columns: columns)
        #expect(bytes == rtn)
        // The range search only ever keeps a range whose squared error is at most the full range's
        // (p = 1 is round to nearest's own), so with H = I it cannot lose to round to nearest.
        let (clipped, _) = try GPTQ.quantize(w, rows: rows, columns: columns, hessian: hessian, type: type, tensor: "t")
        let a = try Self.dequantize(clipped, type: type, rows: rows, columns: columns)
        let r = try Self.dequantize(rtn, type: type, rows: rows, columns: columns)
        var eClip = 0.0, eRTN = 0.0
        for i in 0..<w.count { eClip += Double((w[i] - a[i]) * (w[i] - a[i])); eRTN += Double((w[i] - r[i]) * (w[i] - r[i])) }
        #expect(eClip <= eRTN, "\(name): squared error with the range search \(eClip), round to nearest \(eRTN)")
        #expect(clipped != rtn, "\(name): the search narrowed no group's range on Gaussian weights")
    }

    /// Codes written by `pack` read back, through the ordinary dequantizer, as the grid's values.
    @Test(arguments: types)
    func packedCodesDequantizeToTheirGridValues(_ name: String) throws {
        let type = try #require(TensorType(name: name))
        let columns = 256
        let format = try #require(GPTQFormat(type, rowLength: columns))
        let w = Self.weights(rows: 1, columns: columns, seed: 9)
        var bytes = try Self.rtn(w, type: type, rows: 1, columns: columns)
        var rng = SplitMix64(seed: 4)
        var expected = [Float](repeating: 0, count: columns)
        bytes.withUnsafeMutableBytes { raw in
            for g in 0..<(columns / format.groupElements) {
                let block = UnsafeMutableRawBufferPointer(rebasing: raw[(g * format.groupBytes)..<((g + 1) * format.groupBytes)])
                let grids = format.grids(UnsafeRawBufferPointer(block))
                var codes = [Int](repeating: 0, count: format.groupElements)
                for j in 0..<format.groupElements {
                    let grid = grids[j / format.gridElements]
                    codes[j] = Int(rng.next() % UInt64(grid.maxCode + 1))
                    expected[g * format.groupElements + j] = grid.value(codes[j])
                }
                format.pack(codes, into: block)
            }
        }
        let decoded = try Self.dequantize(bytes, type: type, rows: 1, columns: columns)
        #expect(decoded == expected)
    }

    @Test func anIndefiniteHessianRaisesTheDampeningAndABrokenOneIsAClearError() throws {
        // Diagonal 1, neighbours 2: eigenvalues down to about −3, so only λ ≥ 3·mean(diag) works.
        let n = 32
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { m[i * n + i] = 1; if i + 1 < n { m[i * n + i + 1] = 2; m[(i + 1) * n + i] = 2 } }
        let (_, _, used) = try GPTQ.inverseFactor(Hessian(columns: n, matrix: m, tokens: 1), tensor: "blk.0.attn_q.weight", dampening: 0.01)
        #expect(used == 10, "raised tenfold until the factorization succeeded")
        var broken = m
        broken[5] = .nan; broken[5 * n] = .nan
        #expect(throws: GPTQ.Failure.notPositiveDefinite(tensor: "blk.0.attn_q.weight", dampening: 100)) {
            try GPTQ.inverseFactor(Hessian(columns: n, matrix: broken, tokens: 1), tensor: "blk.0.attn_q.weight", dampening: 0.01)
        }
        #expect(throws: GPTQ.Failure.self) {
            try GPTQ.quantize([Float](repeating: 0, count: 64), rows: 1, columns: 64, hessian: Hessian(columns: 32), type: .q4_0, tensor: "t")
        }
        #expect(throws: GPTQ.Failure.self) {
            try GPTQ.quantize([Float](repeating: 0, count: 32), rows: 1, columns: 32, hessian: Hessian(columns: 32), type: .iq4_NL, tensor: "t")
        }
    }

    /// A channel that never fired (H_ii = 0) gets weight zero and does not stop the factorization.
    @Test func deadChannelsAreZeroedNotFatal() throws {
        let columns = 64
        var h = Self.hessian(columns: columns, tokens: 300, seed: 2).symmetric()
        for k in 0..<columns { h[3 * columns + k] = 0; h[k * columns + 3] = 0 }
        let w = Self.weights(rows: 4, columns: columns, seed: 8)
        let (bytes, _) = try GPTQ.quantize(w, rows: 4, columns: columns, hessian: Hessian(columns: columns, matrix: h, tokens: 300),
                                           type: TensorType(name: "lab4g32s")!, tensor: "t")
        let q = try Self.dequantize(bytes, type: TensorType(name: "lab4g32s")!, rows: 4, columns: columns)
        for r in 0..<4 { #expect(q[r * columns + 3] == 0, "symmetric grids hold zero exactly") }
    }

    /// Correlated activations whose channels differ in scale (a few up to 8×), as a real layer's
    /// input does: the case act-order and the diag(H)-weighted range search are for.
    static func unevenHessian(columns: Int, tokens: Int, seed: UInt64) -> Hessian {
        let base = hessian(columns: columns, tokens: tokens, seed: seed).symmetric()
        var rng = SplitMix64(seed: seed ^ 0xA5)
        let scale = (0..<columns).map { _ in rng.nextUnit() < 0.1 ? 8.0 : 0.5 + rng.nextUnit() }
        var m = base
        for i in 0..<columns { for j in 0..<columns { m[i * columns + j] = base[i * columns + j] * scale[i] * scale[j] } }
        return Hessian(columns: columns, matrix: m, tokens: tokens)
    }

    /// Each refinement changes the bytes, and the layer's output error eᵀHe over the rows is no
    /// worse than plain GPTQ's (2% slack: neither is an exact optimum) on correlated, uneven channels.
    @Test(arguments: [("lab4g64s", "act-order"), ("lab4g64s", "weighted-clip"), ("lab4g64s", "both"),
                      ("lab3g32a", "act-order"), ("lab3g32a", "weighted-clip"), ("q4_0", "act-order")])
    func refinementsChangeTheBytesAndKeepTheLayerError(_ name: String, _ refinement: String) throws {
        let type = try #require(TensorType(name: name))
        let rows = 16, columns = 256
        let h = Self.unevenHessian(columns: columns, tokens: 800, seed: 21)
        let w = Self.weights(rows: rows, columns: columns, seed: 13)
        var options = GPTQ.Options(weightedClip: false)
        options.actOrder = refinement != "weighted-clip"
        options.weightedClip = refinement != "act-order"
        let (plain, _) = try GPTQ.quantize(w, rows: rows, columns: columns, hessian: h, type: type, tensor: "t",
                                           options: GPTQ.Options(weightedClip: false))
        let (refined, _) = try GPTQ.quantize(w, rows: rows, columns: columns, hessian: h, type: type, tensor: "t", options: options)
        #expect(refined != plain, "\(name) \(refinement): the same bytes as plain GPTQ")
        let ePlain = Self.outputError(w, try Self.dequantize(plain, type: type, rows: rows, columns: columns), h, rows: rows)
        let eRefined = Self.outputError(w, try Self.dequantize(refined, type: type, rows: rows, columns: columns), h, rows: rows)
        #expect(eRefined <= ePlain * 1.02, "\(name) \(refinement): eᵀHe \(eRefined) against plain GPTQ's \(ePlain)")
    }

    /// The dampening fraction is what the factor is built with, and a larger one changes the codes.
    @Test func dampeningIsUsedAndChangesTheCodes() throws {
        let type = try #require(TensorType(name: "lab4g64s"))
        let rows = 8, columns = 128
        let h = Self.unevenHessian(columns: columns, tokens: 400, seed: 5)
        let w = Self.weights(rows: rows, columns: columns, seed: 6)
        let (a, usedA) = try GPTQ.quantize(w, rows: rows, columns: columns, hessian: h, type: type, tensor: "t", options: GPTQ.Options(dampening: 0.01))
        let (b, usedB) = try GPTQ.quantize(w, rows: rows, columns: columns, hessian: h, type: type, tensor: "t", options: GPTQ.Options(dampening: 0.1))
        #expect(usedA == 0.01 && usedB == 0.1)
        #expect(a != b)
    }

    /// Act-order permutes H; the factor of the permuted H is the inverse's Cholesky factor in that order.
    @Test func actOrderFactorsThePermutedHessian() throws {
        let n = 24
        let h = Self.unevenHessian(columns: n, tokens: 120, seed: 9)
        let order = Array((0..<n).reversed())
        let (u, _, _) = try GPTQ.inverseFactor(h, tensor: "t", dampening: 0.01, order: order)
        // (UᵀU)_{ik} is (H + λI)⁻¹ at (order[i], order[k]): check (UᵀU) · P(H + λI)Pᵀ = I.
        let worst = Self.inverseDeviation(u, h, order: order)
        #expect(worst < 1e-3, "largest deviation from I: \(worst)")
    }
}
