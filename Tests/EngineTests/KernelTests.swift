import CKernels
@testable import Engine
import Foundation
import ModelFormat
import Testing

/// Every kernel against the scalar reference (dequantized weights × f32 activations, summed in
/// double), on odd shapes, at every kernel level this CPU runs.
@Suite("kernels", .serialized)
struct KernelTests {
    static let types: [TensorType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_NL, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
                                      TensorType(name: "lab3g64a")!, TensorType(name: "lab4g32s")!, TensorType(name: "lab6grows")!]

    /// Deterministic values in [-1, 1) with some large outliers.
    static func values(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { i in
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let u = Float(s >> 40) / Float(1 << 24) * 2 - 1
            return i % 37 == 0 ? u * 4 : u
        }
    }

    struct Case {
        let weights: WeightMatrix
        let storage: [UInt8]
        let x: [Float]
        let rows: Int, columns: Int, tokens: Int
    }

    static func makeCase(_ type: TensorType, rows: Int, columns: Int, tokens: Int) throws -> Case {
        let w = values(rows * columns, seed: UInt64(type.id) + 11)
        var bytes: [UInt8] = []
        if type == .iq4_NL {
            // No IQ4_NL quantizer here: random indices (every codebook level) under f16 scales
            // of a realistic size.
            let noise = values(rows * columns, seed: 7)
            for b in 0..<(rows * columns / 32) {
                let d = Float16(0.002 + 0.01 * abs(noise[32 * b]))
                bytes += [UInt8(d.bitPattern & 0xFF), UInt8(d.bitPattern >> 8)]
                bytes += (0..<16).map { UInt8(truncatingIfNeeded: Int((noise[32 * b + 1 + $0] + 1) * 128)) }
            }
        } else {
            for r in 0..<rows { bytes += try Quantization.quantize(Array(w[(r * columns)..<((r + 1) * columns)]), to: type) }
        }
        let matrix = try bytes.withUnsafeBytes { raw in
            try WeightMatrix(name: "w", type: type, rows: rows, columns: columns, bytes: raw)
        }
        return Case(weights: matrix, storage: bytes, x: values(tokens * columns, seed: 99), rows: rows, columns: columns, tokens: tokens)
    }

    /// The product of a case's weights and activations through `MatMul`, as the engine runs it
    /// (two pool members): out[t * rows + r].
    static func multiply(_ c: Case, level: KernelLevel) throws -> [Float] {
        let pool = try ThreadPool(threads: 2)
        let acts = Activations(capacityRows: c.tokens, maxColumns: c.columns)
        var out = [Float](repeating: .nan, count: c.tokens * c.rows)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * c.columns)
        defer { scratch.deallocate() }
        c.x.withUnsafeBufferPointer { x in
            acts.prepare(x.baseAddress!, rows: c.tokens, columns: c.columns, formats: [c.weights.activationFormat], pool: pool, level: level)
            out.withUnsafeMutableBufferPointer { o in
                MatMul(pool: pool, level: level, scratch: scratch, scratchStride: c.columns)(c.weights, acts, out: o.baseAddress!, outStride: c.rows)
            }
        }
        return out
    }

    /// A bound on |kernel − reference| for one dot product: the activation's 8-bit rounding
    /// (half a step of each block's scale, times the weights it meets) plus float summation.
    static func bound(_ c: Case, row: Int, token: Int) -> Double {
        var w = [Float](repeating: 0, count: c.columns)
        w.withUnsafeMutableBufferPointer { c.weights.dequantizedRow(row, into: $0) }
        let x = Array(c.x[(token * c.columns)..<((token + 1) * c.columns)])
        var sumAbs = 0.0, rounding = 0.0
        let quantized = c.weights.activationFormat != .f32
        let span = c.weights.activationFormat.blockElements == 1 ? 32 : c.weights.activationFormat.blockElements
        for b in 0..<(c.columns / span) {
            let block = (span * b)..<(span * b + span)
            let amax = block.map { Double(abs(x[$0])) }.max() ?? 0
            let weight = block.reduce(0.0) { $0 + Double(abs(w[$1])) }
            if quantized { rounding += weight * amax / 127 * 0.5 * 1.001 }
            sumAbs += block.reduce(0.0) { $0 + Double(abs(w[$1] * x[$1])) }
        }
        // q8 block scales are stored as f16: a relative 2^-11 on each block's sum.
        let scaleRounding = quantized ? sumAbs * 1.0e-3 : 0
        return rounding + scaleRounding + sumAbs * 1e-5 + 1e-6
    }

    @Test(arguments: types)
    func matmulMatchesReference(type: TensorType) throws {
        for level in KernelLevel.allCases where level.isSupported {
            for (rows, columns, tokens) in [(7, 64, 1), (5, 256, 9), (3, 512, 4), (1, 768, 6)] {
                guard type.rowBytes(columns) != nil else { continue }
                let c = try Self.makeCase(type, rows: rows, columns: columns, tokens: tokens)
                let out = try Self.multiply(c, level: level)
                for t in 0..<tokens {
                    for r in 0..<rows {
                        let reference = ReferenceKernels.dot(c.weights, row: r, Array(c.x[(t * columns)..<((t + 1) * columns)]))
                        let error = abs(Double(out[t * rows + r]) - reference)
                        #expect(error <= Self.bound(c, row: r, token: t),
                                "\(type.name) \(level) \(rows)×\(columns)×\(tokens) row \(r) token \(t): \(out[t * rows + r]) vs \(reference)")
                    }
                }
            }
        }
    }

    /// Q4_0 summed block by block (llama.cpp's order for the matrices it repacks) equals that
    /// order written out here, bit for bit: one float per row, acc = fma(Σ w·x, d_w·d_x, acc);
    /// so do the packed kernels, at every level (the scalar level's rows do not take block order).
    @Test(.enabled(if: KernelLevel.supported.count > 1, "this CPU runs no SIMD level"))
    func q4_0BlockOrderIsOneFusedStepPerBlock() throws {
        for level in KernelLevel.supported where level != .scalar {
            for (rows, columns, tokens) in [(16, 256, 6), (11, 96, 5), (24, 64, 9)] {
                var c = try Self.makeCase(.q4_0, rows: rows, columns: columns, tokens: tokens)
                var weights = c.weights
                weights.sumsByBlock = true
                c = Case(weights: weights, storage: c.storage, x: c.x, rows: rows, columns: columns, tokens: tokens)
                // The rows where they are, and (rows a multiple of 8) packed in groups of eight, read
                // by this level's and the scalar packed kernels: all in the same order.
                var outputs = [("rows \(level)", try Self.multiply(c, level: level))]
                if weights.pack() {
                    #expect(weights.packed != nil)
                    let packed = Case(weights: weights, storage: c.storage, x: c.x, rows: rows, columns: columns, tokens: tokens)
                    outputs += [("packed \(level)", try Self.multiply(packed, level: level)), ("packed scalar", try Self.multiply(packed, level: .scalar))]
                } else {
                    #expect(rows % 8 != 0)
                }
                func half(_ bytes: ArraySlice<UInt8>) -> Float { Float(Float16(bitPattern: UInt16(bytes[bytes.startIndex]) | UInt16(bytes[bytes.startIndex + 1]) << 8)) }
                let blocks = columns / 32, rowBytes = blocks * 18
                for t in 0..<tokens {
                    var xq = [UInt8](repeating: 0, count: blocks * 34)
                    ck_quantize_act(level.code, ActivationFormat.q8_0.rawValue, Array(c.x[(t * columns)..<((t + 1) * columns)]), &xq, Int32(columns))
                    for r in 0..<rows {
                        var acc: Float = 0
                        for b in 0..<blocks {
                            let w = c.storage[(r * rowBytes + b * 18)..<(r * rowBytes + b * 18 + 18)], xb = xq[(b * 34)..<(b * 34 + 34)]
                            var sum = 0
                            for i in 0..<16 {
                                let byte = Int(w[w.startIndex + 2 + i])
                                sum += ((byte & 15) - 8) * Int(Int8(bitPattern: xb[xb.startIndex + 2 + i]))
                                sum += ((byte >> 4) - 8) * Int(Int8(bitPattern: xb[xb.startIndex + 18 + i]))
                            }
                            acc = acc.addingProduct(Float(sum), half(w) * half(xb))
                        }
                        for (name, out) in outputs {
                            #expect(out[t * rows + r].bitPattern == acc.bitPattern, "\(name) \(rows)×\(columns) row \(r) token \(t): \(out[t * rows + r]) vs \(acc)")
                        }
                    }
                }
            }
        }
    }

    /// A symmetric 4-bit lab matrix with groups of a multiple of 32 (or one per row) packs as Q4_0
    /// and runs on the packed Q4_0 kernel at every level: within the same bound of the reference
    /// as the lab kernel. Asymmetric and other widths do not pack.
    @Test func fourBitSymmetricLabPacksAsQ4_0() throws {
        for name in ["lab4g32s", "lab4g128s", "lab4grows", "lab4g32a", "lab3g32s"] {
            let type = try #require(TensorType(name: name))
            var c = try Self.makeCase(type, rows: 16, columns: 256, tokens: 5)
            var weights = c.weights
            weights.sumsByBlock = weights.hasQ4_0Form
            #expect(weights.pack() == ["lab4g32s", "lab4g128s", "lab4grows"].contains(name), "\(name)")
            guard weights.packed != nil else { continue }
            #expect(weights.residentBytes == 16 * 256 / 32 * 18)
            c = Case(weights: weights, storage: c.storage, x: c.x, rows: 16, columns: 256, tokens: 5)
            for level in KernelLevel.supported {
                let out = try Self.multiply(c, level: level)
                for t in 0..<5 {
                    for r in 0..<16 {
                        let reference = ReferenceKernels.dot(c.weights, row: r, Array(c.x[(t * 256)..<((t + 1) * 256)]))
                        #expect(abs(Double(out[t * 16 + r]) - reference) <= Self.bound(c, row: r, token: t),
                                "\(name) packed \(level) row \(r) token \(t): \(out[t * 16 + r]) vs \(reference)")
                    }
                }
            }
        }
    }

    /// 6-bit lab matrices split for the x86 kernel (`splitLab`, only where the best level is x86)
    /// give products within the reference's bound at every level, decode and prefill.
    @Test func sixBitLabSplitsOnX86() throws {
        let x86 = [KernelLevel.avx2, .avx512].contains(KernelLevel.best)
        for name in ["lab6g32s", "lab6g64a", "lab6grows", "lab4g32s"] {
            let type = try #require(TensorType(name: name))
            for tokens in [1, 6] {
                var c = try Self.makeCase(type, rows: 9, columns: 256, tokens: tokens)
                var weights = c.weights
                #expect(weights.splitLab() == (x86 && name.hasPrefix("lab6")), "\(name)")
                guard weights.split != nil else { continue }
                c = Case(weights: weights, storage: c.storage, x: c.x, rows: 9, columns: 256, tokens: tokens)
                for level in KernelLevel.supported {
                    let out = try Self.multiply(c, level: level)
                    for t in 0..<tokens {
                        for r in 0..<9 {
                            let reference = ReferenceKernels.dot(c.weights, row: r, Array(c.x[(t * 256)..<((t + 1) * 256)]))
                            #expect(abs(Double(out[t * 9 + r]) - reference) <= Self.bound(c, row: r, token: t),
                                    "\(name) split \(level) row \(r) token \(t): \(out[t * 9 + r]) vs \(reference)")
                        }
                    }
                }
            }
        }
    }

    /// Q8_0 at AVX2 sums in llama.cpp's order whatever tile the kernel runs (one row against one
    /// token, four rows by two tokens, a token or rows left over, rows split between the pool's
    /// two members): eight lanes of four products each, acc = fma(Σ, d_w·d_x, acc) per block, then the
    /// lanes summed ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). Written out here, bit for bit.
    @Test(.enabled(if: KernelLevel.avx2.isSupported, "AVX2's lane order; this CPU has no AVX2"))
    func q8_0EightLaneOrderWhateverTheTile() throws {
        func half(_ bytes: ArraySlice<UInt8>) -> Float { Float(Float16(bitPattern: UInt16(bytes[bytes.startIndex]) | UInt16(bytes[bytes.startIndex + 1]) << 8)) }
        for (rows, columns, tokens) in [(9, 96, 1), (9, 96, 5), (13, 64, 8), (6, 128, 19), (16, 32, 70)] {
            let c = try Self.makeCase(.q8_0, rows: rows, columns: columns, tokens: tokens)
            let out = try Self.multiply(c, level: .avx2)
            let blocks = columns / 32, rowBytes = blocks * 34
            for t in 0..<tokens {
                var xq = [UInt8](repeating: 0, count: blocks * 34)
                ck_quantize_act(KernelLevel.avx2.code, ActivationFormat.q8_0.rawValue, Array(c.x[(t * columns)..<((t + 1) * columns)]), &xq, Int32(columns))
                for r in 0..<rows {
                    var lanes = [Float](repeating: 0, count: 8)
                    for b in 0..<blocks {
                        let w = c.storage[(r * rowBytes + b * 34)..<(r * rowBytes + b * 34 + 34)], xb = xq[(b * 34)..<(b * 34 + 34)]
                        let scale = half(w) * half(xb)
                        for lane in 0..<8 {
                            var sum = 0
                            for k in 0..<4 {
                                sum += Int(Int8(bitPattern: w[w.startIndex + 2 + 4 * lane + k])) * Int(Int8(bitPattern: xb[xb.startIndex + 2 + 4 * lane + k]))
                            }
                            lanes[lane] = lanes[lane].addingProduct(Float(sum), scale)
                        }
                    }
                    let expected = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
                    #expect(out[t * rows + r].bitPattern == expected.bitPattern,
                            "\(rows)×\(columns)×\(tokens) row \(r) token \(t): \(out[t * rows + r]) vs \(expected)")
                }
            }
        }
    }

    /// Every level's activation quantizer writes the scalar one's bytes.
    @Test(.enabled(if: KernelLevel.supported.count > 1, "this CPU runs no SIMD level"))
    func activationQuantizationAgreesAcrossLevels() throws {
        let x = Self.values(32 * 16, seed: 5)
        for format in [ActivationFormat.q8_0, .q8_1, .q8_K] {
            var outputs: [(KernelLevel, [UInt8])] = []
            for level in KernelLevel.supported {
                var out = [UInt8](repeating: 0, count: format.rowBytes(x.count))
                out.withUnsafeMutableBytes { ck_quantize_act(level.code, format.rawValue, x, $0.baseAddress, Int32(x.count)) }
                outputs.append((level, out))
            }
            for (level, out) in outputs.dropFirst() { #expect(out == outputs[0].1, "\(format) at \(level)") }
        }
    }

    @Test func halfFloatConversionRoundTrips() {
        for bits in stride(from: 0, through: 0xFFFF, by: 1) where (bits & 0x7C00) != 0x7C00 {
            let f = ck_f16_to_f32(UInt16(bits))
            #expect(f == Float(Float16(bitPattern: UInt16(bits))))
            var h: UInt16 = 0
            ck_f32_to_f16(KernelLevel.best.code, [f], &h, 1)
            #expect(h == UInt16(bits) || (f == 0 && (h & 0x7FFF) == 0))
        }
    }

    @Test func poolRunsEveryMemberEveryTime() throws {
        let pool = try ThreadPool(threads: 3)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        counts.initialize(repeating: 0, count: 3)
        defer { counts.deallocate() }
        for _ in 0..<500 { pool.run { member, members in
            precondition(members == 3)
            counts[member] += 1
        } }
        #expect((0..<3).map { counts[$0] } == [500, 500, 500])
        var covered = [Int](repeating: 0, count: 1001)
        covered.withUnsafeMutableBufferPointer { c in
            let base = c.baseAddress!
            pool.forEachRange(1001) { range, _ in for i in range { base[i] += 1 } }
        }
        #expect(covered.allSatisfy { $0 == 1 })
    }
}

/// The C lab dequantizer the engine uses against the Swift reference, for every lab layout.
@Suite("lab dequantizer")
struct LabDequantizerTests {
    @Test func cUnpackingEqualsTheReferenceBitForBit() throws {
        let columns = 384
        for bits in 2...8 {
            for group in ["32", "64", "128", "row"] {
                for kind in ["s", "a"] {
                    let type = try #require(TensorType(name: "lab\(bits)g\(group)\(kind)"))
                    let x = KernelTests.values(columns * 3, seed: UInt64(bits * 100 + group.count))
                    var bytes: [UInt8] = []
                    for r in 0..<3 { bytes += try Quantization.quantize(Array(x[r * columns..<(r + 1) * columns]), to: type) }
                    try bytes.withUnsafeBytes { raw in
                        let w = try WeightMatrix(name: "w", type: type, rows: 3, columns: columns, bytes: raw)
                        var reference = [Float](repeating: 0, count: columns), fast = [Float](repeating: .nan, count: columns)
                        for r in 0..<3 {
                            reference.withUnsafeMutableBufferPointer { w.dequantizedRow(r, into: $0) }
                            fast.withUnsafeMutableBufferPointer { w.fastDequantizedRow(r, into: $0) }
                            #expect(fast.map(\.bitPattern) == reference.map(\.bitPattern), "\(type.name) row \(r)")
                        }
                    }
                }
            }
        }
    }
}

@Suite("weight arena")
struct WeightArenaTests {
    /// Small matrices share chunks: 64-byte-aligned pieces that do not overlap, a new chunk when
    /// one is full, and memory of its own for a matrix above a quarter of a chunk.
    @Test func piecesAreAlignedDisjointAndBigOnesGetTheirOwn() throws {
        let arena = WeightArena()
        let sizes = [100, 1, 64, 700_000, 1_800_000, 5_000_000, 8_000_000, 3]
        let pieces = sizes.map { PackedRows(bytes: $0, arena: arena) }
        var spans: [(Int, Int)] = []
        for (rows, size) in zip(pieces, sizes) {
            let start = Int(bitPattern: rows.pointer)
            #expect(start % 64 == 0, "piece of \(size) bytes at \(start)")
            rows.pointer.initializeMemory(as: UInt8.self, repeating: UInt8(size % 251), count: size)
            spans.append((start, start + size))
        }
        let sorted = spans.sorted { $0.0 < $1.0 }
        for (a, b) in zip(sorted, sorted.dropFirst()) { #expect(a.1 <= b.0, "pieces \(a) and \(b) overlap") }
        for (rows, size) in zip(pieces, sizes) {
            #expect(rows.pointer.load(fromByteOffset: size - 1, as: UInt8.self) == UInt8(size % 251))
        }
        #expect(arena.take(WeightArena.chunkBytes / 4 + 1) == nil)
        #expect(arena.take(WeightArena.chunkBytes / 4) != nil)
    }
}
