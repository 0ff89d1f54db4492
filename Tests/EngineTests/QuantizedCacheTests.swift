import CKernels
@testable import Engine
import Foundation
import ModelFormat
import TestSupport
import Testing

/// The q8_0 and q4_0 KV caches: attention over the blocks against exact attention over the
/// unquantized (f32) cache within a bound derived from the blocks' rounding, every SIMD level
/// equal to the scalar reference bit for bit, and the engine's memory and logits with them.
@Suite("quantized KV cache")
struct QuantizedCacheTests {
    /// The largest error of one dequantized element of each block of `x` (n a multiple of 32):
    /// q8_0 rounds to the nearest step d = amax/127, q4_0 truncates x/d + 8.5 with d = extreme/−8
    /// and clamps at nibble 15, which costs a whole step; both then store d in f16.
    static func elementErrors(_ kv: KVType, _ x: [Float], _ blocks: [UInt8]) -> [Double] {
        let bytes = kv.rowBytes(32)
        return (0..<(x.count / 32)).flatMap { b -> [Double] in
            let slice = x[(32 * b)..<(32 * b + 32)]
            let extreme = slice.max { abs($0) < abs($1) } ?? 0
            let d = kv == .q8_0 ? Double(abs(extreme)) / 127 : Double(extreme) / -8
            let d16 = Double(ck_f16_to_f32(UInt16(blocks[bytes * b]) | UInt16(blocks[bytes * b + 1]) << 8))
            let e = kv == .q8_0 ? abs(d) / 2 + 127 * abs(d - d16) : abs(d) + 8 * abs(d - d16)
            return Array(repeating: e, count: 32)
        }
    }

    static func dequantize(_ kv: KVType, _ blocks: [UInt8], _ n: Int) -> [Double] {
        let bytes = kv.rowBytes(32)
        return (0..<n).map { i in
            let b = i / 32, j = i % 32, base = bytes * b
            let d = Double(ck_f16_to_f32(UInt16(blocks[base]) | UInt16(blocks[base + 1]) << 8))
            if kv == .q8_0 { return d * Double(Int8(bitPattern: blocks[base + 2 + j])) }
            let byte = blocks[base + 2 + j % 16]
            return d * Double(Int(j < 16 ? byte & 15 : byte >> 4) - 8)
        }
    }

    static func gamma(_ k: Int) -> Double { let u = 0x1p-24; return Double(k) * u / (1 - Double(k) * u) }

    @Test(arguments: [KVType.q8_0, .q4_0], [32, 64, 128])
    func attentionIsWithinTheDerivedBoundOfTheF32Cache(kv: KVType, hd: Int) {
        let type = Int32(kv == .q8_0 ? CK_Q8_0 : CK_Q4_0), positions = 90
        let rowBytes = kv.rowBytes(hd + 32) // rows of a wider cache, this head first
        let q = AttentionKernelTests.values(hd, seed: UInt64(hd), scale: 2)
        let keys = AttentionKernelTests.values(positions * hd, seed: 21, scale: 2), values = AttentionKernelTests.values(positions * hd, seed: 22)
        var kq = [UInt8](repeating: 0, count: positions * rowBytes), vq = kq
        for j in 0..<positions {
            keys.withUnsafeBufferPointer { k in kq.withUnsafeMutableBytes { ck_kv_quantize(CKernels.ck_level_best(), type, k.baseAddress! + j * hd, $0.baseAddress! + j * rowBytes, Int32(hd)) } }
            values.withUnsafeBufferPointer { v in vq.withUnsafeMutableBytes { ck_kv_quantize(CKernels.ck_level_best(), type, v.baseAddress! + j * hd, $0.baseAddress! + j * rowBytes, Int32(hd)) } }
        }
        let headBytes = kv.rowBytes(hd)
        func row(_ t: [UInt8], _ j: Int) -> [UInt8] { Array(t[(j * rowBytes)..<(j * rowBytes + headBytes)]) }
        var qq = [UInt8](repeating: 0, count: hd / 32 * 34)
        ck_quantize_act(Int32(CK_LEVEL_SCALAR), Int32(CK_ACT_Q8_0), q, &qq, Int32(hd))
        let qError = Self.elementErrors(.q8_0, q, qq)
        let scale = 1 / sqrtf(Float(hd))
        var scratch = [Float](repeating: .nan, count: Int(ck_attention_scratch(Int32(positions), Int32(hd))))
        for length in [1, 8, 33, 90] {
            var outputs: [[Float]] = []
            for level in KernelLevel.supported {
                var out = [Float](repeating: .nan, count: hd)
                ck_attention_head_q(level.code, type, q, kq, vq, rowBytes, Int32(length), Int32(hd), scale, &scratch, &out)
                outputs.append(out)
            }
            let label = "\(kv) hd \(hd) length \(length)"
            for (level, out) in zip(KernelLevel.supported, outputs).dropFirst() {
                #expect(out.map(\.bitPattern) == outputs[0].map(\.bitPattern), "\(level) differs from scalar: \(label)")
            }
            // Exact attention over the f32 cache, and the bound (CKernels harness.c derives it).
            var logits = [Double](), delta = 0.0
            for j in 0..<length {
                let k = Array(keys[(j * hd)..<(j * hd + hd)]), kh = Self.dequantize(kv, row(kq, j), hd), kErr = Self.elementErrors(kv, k, row(kq, j))
                logits.append((0..<hd).reduce(0.0) { $0 + Double(q[$1]) * Double(k[$1]) } * Double(scale))
                let move = (0..<hd).reduce(0.0) { $0 + abs(Double(q[$1])) * kErr[$1] + abs(kh[$1]) * qError[$1] }
                let terms = (0..<hd).reduce(0.0) { $0 + (abs(Double(q[$1])) + qError[$1]) * abs(kh[$1]) }
                delta = max(delta, Double(scale) * (move + Self.gamma(hd / 32 + 3) * terms))
            }
            let top = logits.max()!, e = logits.map { Foundation.exp($0 - top) }, total = e.reduce(0, +)
            let vh = (0..<length).map { Self.dequantize(kv, row(vq, $0), hd) }
            let vErr = (0..<length).map { Self.elementErrors(kv, Array(values[($0 * hd)..<($0 * hd + hd)]), row(vq, $0)) }
            for d in 0..<hd {
                let exact = (0..<length).reduce(0.0) { $0 + e[$1] / total * Double(values[$1 * hd + d]) }
                let magnitude = (0..<length).reduce(0.0) { $0 + e[$1] / total * abs(vh[$1][d]) }
                let moved = (0..<length).reduce(0.0) { $0 + e[$1] / total * vErr[$1][d] }
                let bound = expm1(2 * delta) * magnitude + moved + 2 * Self.gamma(length + 40) * Foundation.exp(2 * delta) * magnitude
                #expect(abs(Double(outputs[0][d]) - exact) <= bound, "\(label) d \(d): \(outputs[0][d]) vs \(exact), bound \(bound)")
            }
        }
    }

    @Test func aHeadSizeThatIsNotBlocksOf32IsRefusedByName() throws {
        let weights = try TransformerTests.model("tiny", .f32) // head size 16
        for kv in [KVType.q8_0, .q4_0] {
            do {
                _ = try Transformer(weights: weights, options: EngineOptions(context: 8, kvType: kv))
                Issue.record("\(kv) cache accepted with head size 16")
            } catch {
                #expect("\(error)".contains(kv.rawValue) && "\(error)".contains("head dimension is 16"), "\(error)")
            }
        }
    }

    /// The real model (head size 64) with each cache: memory in exact proportion to the block
    /// sizes, and next-token distributions near the f32 cache's (mean KL over the prompt's
    /// positions and four decode steps), q4_0 further than q8_0.
    @Test func theRealModelRunsWithBlockCachesInLessMemory() throws {
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        let weights = try ModelWeights(path: RealModel.path.path)
        let tokens: [Int32] = [1, 504, 3458, 282, 2114, 314, 253, 1345, 30, 378, 2114, 314, 3327, 28, 690, 5248, 253, 3174, 282]
        func run(_ kv: KVType) throws -> (logits: [[Float]], memory: Int) {
            let engine = try Transformer(weights: weights, options: EngineOptions(threads: 2, context: 64, kvType: kv))
            let rows = try engine.prefill(tokens, allLogits: true)
            var logits = (0..<rows.count).map { Array(rows[$0]) }
            for _ in 0..<4 { // decode steps read the cache through the one-token path
                let next = logits[logits.count - 1].withUnsafeBufferPointer { Sampler.argmax($0) }
                let step = try engine.decode([(slot: 0, token: next)])
                logits.append(Array(step[0]))
            }
            return (logits, engine.memory.kvCache)
        }
        func logSoftmax(_ x: [Float]) -> [Double] {
            let m = Double(x.max()!), z = m + Foundation.log(x.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) })
            return x.map { Double($0) - z }
        }
        let f32 = try run(.f32)
        let reference = f32.logits.map(logSoftmax)
        func meanKL(_ a: [[Float]]) -> Double {
            zip(a.map(logSoftmax), reference).reduce(0.0) { sum, pair in
                sum + zip(pair.1, pair.0).reduce(0.0) { $0 + Foundation.exp($1.0) * ($1.0 - $1.1) }
            } / Double(a.count)
        }
        let q8 = try run(.q8_0), q4 = try run(.q4_0)
        #expect(q8.memory * 64 == f32.memory * 17, "q8_0: 34 bytes per 32 elements, f32 128: \(q8.memory) vs \(f32.memory)")
        #expect(q4.memory * 64 == f32.memory * 9, "q4_0: 18 bytes per 32 elements: \(q4.memory) vs \(f32.memory)")
        let k8 = meanKL(q8.logits), k4 = meanKL(q4.logits)
        print("quantized KV cache on SmolLM2-135M, mean KL against the f32 cache over \(q8.logits.count) positions: q8_0 \(k8), q4_0 \(k4)")
        #expect(k8 > 0 && k8 < 0.01, "q8_0 cache: mean KL \(k8)")
        #expect(k4 > k8 && k4 < 1, "q4_0 cache: mean KL \(k4) (q8_0 \(k8))")
    }
}
