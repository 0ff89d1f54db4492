import Foundation

/// GPTQ (Frantar et al. 2022, "Accurate Post-Training Quantization for Generative Pre-trained
/// Transformers"): quantize a weight matrix one input column at a time, and spread each column's
/// rounding error over the columns not yet quantized so that the layer's output on the
/// calibration activations (the Hessian H = 2·XᵀX) changes least.
///
/// - H gets λ = `dampening` × mean(diag H) added to its diagonal; an input channel that never
///   fired (H_ii = 0) gets H_ii = 1 and its weights set to zero, as the paper does.
/// - The error propagation uses U, the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU): column i's error
///   e = (w_i − q_i) / U_ii moves column j > i by −e·U_ij.
/// - Columns go in blocks of `blockSize` (the paper's lazy batch updates): inside a block errors
///   move the block's own columns at once, the rest of the row gets the block's errors in one pass.
///   Rows are independent, so they are processed in tiles across the CPUs.
/// - A group's grid (its scale and minimum, or Q2_K's sub-block scales and super-block d/dmin) is
///   chosen by the type's own round-to-nearest quantizer from the group's weights as updated when
///   its first column is reached; the codes are then chosen column by column on that grid.
public enum GPTQ {
    public struct Options: Sendable, Hashable {
        /// λ as a fraction of the mean diagonal of H (the paper's percdamp, 0.01).
        public var dampening: Double
        /// Columns per lazy batch update.
        public var blockSize: Int

        /// For lab types: choose each group's range by a search over shrunken ranges (GPTQ's
        /// "mse" grid) instead of the group's minimum and maximum.
        public var clipSearch: Bool
        /// The clip search's squared error weighted per column by H's diagonal (the column's
        /// share of the layer's output error) instead of plain. On by default: on SmolLM2-135M's
        /// tied head at 4.25 b/w it took the mean KLD from 0.070 to 0.049 (README, "The 4.5 bar").
        public var weightedClip: Bool
        /// Columns in order of descending H diagonal (GPTQ's act-order), with static groups: every
        /// group's grid is chosen from the original weights before the pass, so a group's columns
        /// need not be quantized together.
        public var actOrder: Bool

        public init(dampening: Double = 0.01, blockSize: Int = 128, clipSearch: Bool = true,
                    weightedClip: Bool = true, actOrder: Bool = false) {
            self.dampening = dampening; self.blockSize = blockSize; self.clipSearch = clipSearch
            self.weightedClip = weightedClip; self.actOrder = actOrder
        }
    }

    /// Whether GPTQ can fill `type` (the lab types, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K).
    public static func canFill(_ type: TensorType) -> Bool { GPTQFormat.supports(type) }

    public enum Failure: Error, Sendable, CustomStringConvertible, Equatable {
        /// H + λI was not positive definite even after raising λ.
        case notPositiveDefinite(tensor: String, dampening: Double)
        case unsupported(tensor: String, type: TensorType)
        case shape(tensor: String, columns: Int, hessian: Int)

        public var description: String {
            switch self {
            case let .notPositiveDefinite(tensor, dampening):
                return "\(tensor): the calibration Hessian is not positive definite even with dampening \(dampening) × its mean diagonal (non-finite activations, or too little calibration text?)"
            case let .unsupported(tensor, type):
                return "\(tensor): GPTQ cannot fill \(type.name); it covers the lab types, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K"
            case let .shape(tensor, columns, hessian):
                return "\(tensor): rows of \(columns) inputs, but the calibration Hessian is \(hessian) × \(hessian)"
            }
        }
    }

    /// The factor U of (H + λI)⁻¹ = UᵀU (row-major, upper), which columns were dead, and the
    /// dampening fraction used. When the Cholesky factorization fails, λ is raised tenfold (from
    /// 0.001 when it was 0) up to four times before giving up.
    /// `order`: the columns' processing order (H permuted to it; `dead` is in that order too).
    public static func inverseFactor(_ hessian: Hessian, tensor: String, dampening: Double, order: [Int]? = nil) throws(Failure) -> (u: [Float], dead: [Bool], dampening: Double) {
        let n = hessian.columns
        var h = hessian.symmetric()
        if let order {
            let full = h
            for i in 0..<n { for j in 0..<n { h[i * n + j] = full[order[i] * n + order[j]] } }
        }
        var dead = [Bool](repeating: false, count: n)
        var meanDiagonal = 0.0
        for i in 0..<n {
            if h[i * n + i] == 0 { dead[i] = true; h[i * n + i] = 1 }
            meanDiagonal += h[i * n + i]
        }
        meanDiagonal /= Double(max(1, n))
        var fraction = dampening
        for _ in 0..<5 {
            // A = J(H + λI)J with J the reversal: its lower factor L gives H = VVᵀ with V = JLJ
            // upper, so H⁻¹ = (V⁻¹)ᵀV⁻¹ and U = V⁻¹ = J L⁻¹ J.
            var a = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n { a[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)] } }
            let lambda = fraction * meanDiagonal
            for i in 0..<n { a[i * n + i] += lambda }
            if meanDiagonal.isFinite, cholesky(&a, n) {
                let m = lowerInverse(a, n)
                var u = [Float](repeating: 0, count: n * n)
                for i in 0..<n { for j in i..<n { u[i * n + j] = Float(m[(n - 1 - i) * n + (n - 1 - j)]) } }
                return (u, dead, fraction)
            }
            fraction = fraction == 0 ? 0.001 : fraction * 10
        }
        throw .notPositiveDefinite(tensor: tensor, dampening: fraction / 10)
    }

    /// In-place lower Cholesky factor of the symmetric row-major `a` (only its lower triangle is
    /// read); false when a pivot is not positive and finite.
    static func cholesky(_ a: inout [Double], _ n: Int) -> Bool {
        var ok = true
        a.withUnsafeMutableBufferPointer { buffer in
            let p = SendableMutablePointer(buffer.baseAddress!)
            for j in 0..<n {
                let rj = p.pointer + j * n
                var s = rj[j]
                for k in 0..<j { s -= rj[k] * rj[k] }
                guard s > 0, s.isFinite else { ok = false; return }
                let d = s.squareRoot()
                rj[j] = d
                let below = n - j - 1
                let column: @Sendable (Int) -> Void = { i in
                    let ri = p.pointer + i * n, rj = p.pointer + j * n
                    var t = ri[j]
                    for k in 0..<j { t -= ri[k] * rj[k] }
                    ri[j] = t / d
                }
                if below * j < 65_536 {
                    for i in (j + 1)..<max(j + 1, n) { column(i) }
                } else {
                    let chunks = min(below, ProcessInfo.processInfo.activeProcessorCount * 4)
                    DispatchQueue.concurrentPerform(iterations: chunks) { c in
                        for i in (j + 1 + below * c / chunks)..<(j + 1 + below * (c + 1) / chunks) { column(i) }
                    }
                }
            }
        }
        return ok
    }

    /// L⁻¹ of the lower-triangular row-major `l`, column by column (forward substitution).
    static func lowerInverse(_ l: [Double], _ n: Int) -> [Double] {
        var m = [Double](repeating: 0, count: n * n)
        l.withUnsafeBufferPointer { lb in
            m.withUnsafeMutableBufferPointer { mb in
                let lp = SendableConstPointer(lb.baseAddress!), mp = SendableMutablePointer(mb.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: n) { c in
                    var x = [Double](repeating: 0, count: n)
                    x[c] = 1 / lp.pointer[c * n + c]
                    for i in (c + 1)..<max(c + 1, n) {
                        let row = lp.pointer + i * n
                        var s = 0.0
                        for k in c..<i { s += row[k] * x[k] }
                        x[i] = -s / row[i]
                    }
                    for i in c..<n { mp.pointer[i * n + c] = x[i] }
                }
            }
        }
        return m
    }

    /// Quantizes `weights` (rows × columns, row-major; each row one output, each column one input
    /// channel of `hessian`) to `type` with GPTQ; returns the tensor's bytes (rows × the type's
    /// row bytes) and the dampening used.
    public static func quantize(_ weights: [Float], rows: Int, columns: Int, hessian: Hessian, type: TensorType,
                                tensor: String, options: Options = Options()) throws(Failure) -> (bytes: [UInt8], dampening: Double) {
        guard hessian.columns == columns else { throw .shape(tensor: tensor, columns: columns, hessian: hessian.columns) }
        guard let format = GPTQFormat(type, rowLength: columns), let rowBytes = type.rowBytes(columns) else {
            throw .unsupported(tensor: tensor, type: type)
        }
        let diagonal = (0..<columns).map { hessian.sums[$0 * columns + $0] }
        // Act-order: descending H diagonal, ties by column (a stable, reproducible order).
        let order = options.actOrder ? (0..<columns).sorted { diagonal[$0] != diagonal[$1] ? diagonal[$0] > diagonal[$1] : $0 < $1 } : nil
        let (u, dead, used) = try inverseFactor(hessian, tensor: tensor, dampening: options.dampening, order: order)
        let column = order ?? Array(0..<columns)   // processing position → original column
        let clipWeights: [Float]? = options.weightedClip ? diagonal.map { Float($0) } : nil
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        let block = max(1, options.blockSize)
        let tile = 8
        let tiles = (rows + tile - 1) / tile
        let gridsPerGroup = format.groupElements / format.gridElements
        u.withUnsafeBufferPointer { ub in
            weights.withUnsafeBufferPointer { wb in
                out.withUnsafeMutableBytes { ob in
                    let up = SendableConstPointer(ub.baseAddress!), wp = SendableConstPointer(wb.baseAddress!)
                    let target = UnsafeSendableRaw(ob)
                    DispatchQueue.concurrentPerform(iterations: tiles) { t in
                        let r0 = t * tile, r1 = min(rows, r0 + tile), count = r1 - r0
                        // Sets group g's parameters in row r's bytes from `values` (the group's weights in
                        // original column order) and returns its grids: the type's own round-to-nearest,
                        // then, for a lab type, the range narrowed where that lowers the group's error.
                        func chooseGrid(_ r: Int, _ g: Int, _ values: UnsafeBufferPointer<Float>) -> [GPTQGrid] {
                            let start = (r0 + r) * rowBytes + g * format.groupBytes
                            let bytes = UnsafeMutableRawBufferPointer(rebasing: target.buffer[start..<(start + format.groupBytes)])
                            try? Quantization.quantize(values, to: type, into: bytes)
                            if let lab = LabType(id: type.id), options.clipSearch {
                                clipLabGroup(values, lab, bytes, weights: clipWeights.map { Array($0[(g * format.groupElements)..<((g + 1) * format.groupElements)]) })
                            }
                            return format.grids(UnsafeRawBufferPointer(bytes))
                        }
                        var w = [Float](repeating: 0, count: count * columns)
                        for r in 0..<count {
                            for i in 0..<columns { w[r * columns + i] = dead[i] ? 0 : wp.pointer[(r0 + r) * columns + column[i]] }
                        }
                        var codes = [Int](repeating: 0, count: count * columns)
                        // Per row, every grid of the row by original column / gridElements (static groups
                        // under act-order), or the current group's grids (in order).
                        var grids = [[GPTQGrid]](repeating: [], count: count)
                        if order != nil {
                            var original = [Float](repeating: 0, count: columns)
                            for r in 0..<count {
                                for i in 0..<columns { original[column[i]] = w[r * columns + i] }
                                original.withUnsafeBufferPointer { o in
                                    for g in 0..<(columns / format.groupElements) {
                                        grids[r] += chooseGrid(r, g, UnsafeBufferPointer(rebasing: o[(g * format.groupElements)..<((g + 1) * format.groupElements)]))
                                    }
                                }
                            }
                        }
                        var errors = [Float](repeating: 0, count: count * block)
                        w.withUnsafeMutableBufferPointer { w in
                            var b0 = 0
                            while b0 < columns {
                                let b1 = min(columns, b0 + block)
                                for i in b0..<b1 {
                                    if order == nil, i % format.groupElements == 0 {
                                        for r in 0..<count {
                                            grids[r] = chooseGrid(r, i / format.groupElements,
                                                                  UnsafeBufferPointer(rebasing: w[(r * columns + i)..<(r * columns + i + format.groupElements)]))
                                        }
                                    }
                                    let urow = up.pointer + i * columns
                                    let d = urow[i]
                                    let c = column[i]
                                    let sub = order == nil ? (c % format.groupElements) / format.gridElements
                                                           : (c / format.groupElements) * gridsPerGroup + (c % format.groupElements) / format.gridElements
                                    for r in 0..<count {
                                        let row = w.baseAddress! + r * columns
                                        let grid = grids[r][sub]
                                        let code = grid.code(row[i])
                                        codes[r * columns + c] = code
                                        let e = (row[i] - grid.value(code)) / d
                                        errors[r * block + (i - b0)] = e
                                        if e != 0 { for j in (i + 1)..<max(i + 1, b1) { row[j] -= e * urow[j] } }
                                    }
                                }
                                if b1 < columns {
                                    for k in b0..<b1 {
                                        let urow = up.pointer + k * columns
                                        for r in 0..<count {
                                            let e = errors[r * block + (k - b0)]
                                            if e == 0 { continue }
                                            let row = w.baseAddress! + r * columns
                                            for j in b1..<columns { row[j] -= e * urow[j] }
                                        }
                                    }
                                }
                                b0 = b1
                            }
                        }
                        for r in 0..<count {
                            for g in 0..<(columns / format.groupElements) {
                                let start = (r0 + r) * rowBytes + g * format.groupBytes
                                let bytes = UnsafeMutableRawBufferPointer(rebasing: target.buffer[start..<(start + format.groupBytes)])
                                let first = r * columns + g * format.groupElements
                                format.pack(Array(codes[first..<(first + format.groupElements)]), into: bytes)
                            }
                        }
                    }
                }
            }
        }
        return (out, used)
    }

    /// A lab group's range chosen by the squared error of its round-to-nearest codes over the
    /// range shrunk by p = 1, 0.98, …, 0.5 (GPTQ's grid search: both ends scaled by p for the
    /// asymmetric types, the largest magnitude for the symmetric ones), the parameters stored as
    /// f16 as the lab quantizer stores them. Only the header changes; codes come from GPTQ after.
    /// `weights`: each element's weight in the squared error (H's diagonal), or none.
    static func clipLabGroup(_ x: UnsafeBufferPointer<Float>, _ lab: LabType, _ bytes: UnsafeMutableRawBufferPointer, weights: [Float]? = nil) {
        guard let lo0 = x.min(), let hi0 = x.max() else { return }
        let maxCode = Float((1 << lab.bits) - 1), zero = Float((1 << (lab.bits - 1)) - 1)
        var best = Float.infinity, bestD: Float = 0, bestM: Float = 0
        for step in 0...25 {
            let p = 1 - Float(step) * 0.02
            let d: Float, m: Float
            if lab.asymmetric {
                d = Float(Float16((hi0 - lo0) * p / maxCode)); m = Float(Float16(lo0 * p))
            } else {
                d = Float(Float16(max(abs(lo0), abs(hi0)) * p / zero)); m = 0
            }
            guard d > 0, d.isFinite else { continue }
            var error: Float = 0
            for (k, v) in x.enumerated() {
                let q: Float
                if lab.asymmetric { q = min(maxCode, max(0, ((v - m) / d).rounded())) * d + m }
                else { q = (min(2 * zero, max(0, (v / d).rounded() + zero)) - zero) * d }
                error += (v - q) * (v - q) * (weights?[k] ?? 1)
            }
            if error < best { best = error; bestD = d; bestM = m }
        }
        guard best.isFinite else { return }
        Quantization.storeHalf(bestD, bytes, 0)
        if lab.asymmetric { Quantization.storeHalf(bestM, bytes, 2) }
    }
}
