import CKernels
@testable import Engine
import Foundation
import Testing

/// The attention, SwiGLU and exp kernels: right against double precision, and every SIMD level's bodies
/// equal to the scalar ones bit for bit (all follow the same summation order, scalar.c).
@Suite("attention kernels")
struct AttentionKernelTests {
    static var levels: [KernelLevel] { KernelLevel.supported }

    @Test func expIsWithinTwoUlpAndItsVectorFormIsTheSame() {
        var xs: [Float] = [0, -0.0, 1, -1, 0.5, 88.5, 88.8, -87.5, -100, -103.9, -104.1, -150, -200, 200, .infinity, -.infinity]
        var s: UInt64 = 7
        for _ in 0..<20_000 {
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            xs.append(Float(s >> 40) / Float(1 << 24) * 200 - 110)
        }
        while xs.count % 8 != 0 { xs.append(1) }
        for x in xs {
            let y = ck_expf(x), truth = Foundation.exp(Double(x))
            if truth > Double(Float.greatestFiniteMagnitude) {
                #expect(y == .infinity, "exp(\(x)) = \(y)")
            } else if truth < Double(Float.leastNormalMagnitude) {
                // The subnormal range and below: within two of the smallest steps.
                #expect(abs(Double(y) - truth) <= 2 * Double(Float.leastNonzeroMagnitude), "exp(\(x)) = \(y), want \(truth)")
            } else {
                #expect(abs(Double(y) - truth) <= 2 * Double(Float(truth).ulp), "exp(\(x)) = \(y), want \(truth)")
            }
        }
        var vector = [Float](repeating: 0, count: 8)
        for start in stride(from: 0, to: xs.count, by: 8) {
            let lanes = Array(xs[start..<(start + 8)])
            for level in Self.levels {
                ck_exp8(level.code, lanes, &vector)
                #expect(vector.map(\.bitPattern) == lanes.map { ck_expf($0).bitPattern }, "\(level): lanes \(lanes)")
            }
        }
    }

    /// Deterministic values in [-scale, scale).
    static func values(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    @Test(arguments: [64, 80, 40])
    func attentionMatchesDoubleAndLevelsAgreeBitForBit(hd: Int) {
        let stride = hd * 2 + 3
        let positions = 70
        let q = Self.values(hd, seed: UInt64(hd), scale: 2)
        let keys = Self.values(positions * stride, seed: 11, scale: 2), values = Self.values(positions * stride, seed: 12)
        let keys16 = keys.map { ck_f32_to_f16_one($0) }, values16 = values.map { ck_f32_to_f16_one($0) }
        let scale = 1 / sqrtf(Float(hd))
        var scratch = [Float](repeating: .nan, count: Int(ck_attention_scratch(Int32(positions), Int32(hd))))
        for f16 in [false, true] {
            let k = f16 ? keys16.map { Double(ck_f16_to_f32($0)) } : keys.map(Double.init)
            let v = f16 ? values16.map { Double(ck_f16_to_f32($0)) } : values.map(Double.init)
            for length in [1, 7, 8, 9, 33, 70] {
                // softmax(scale q·k)·v in double, on the cache's own values.
                let logits = (0..<length).map { j in (0..<hd).reduce(0.0) { $0 + Double(q[$1]) * k[j * stride + $1] } * Double(scale) }
                let top = logits.max()!
                let e = logits.map { Foundation.exp($0 - top) }
                let total = e.reduce(0, +)
                let want = (0..<hd).map { d in (0..<length).reduce(0.0) { $0 + e[$1] / total * v[$1 * stride + d] } }
                let magnitude = (0..<hd).map { d in (0..<length).reduce(0.0) { $0 + e[$1] / total * abs(v[$1 * stride + d]) } }
                for batched in [false, true] {
                    var outputs: [[Float]] = []
                    for level in Self.levels {
                        var out = [Float](repeating: .nan, count: hd)
                        func run(_ keys: UnsafeRawPointer, _ values: UnsafeRawPointer) {
                            ck_attention_head(level.code, q, keys, values, stride, Int32(length), Int32(hd), f16 ? 1 : 0, batched ? 1 : 0, scale, &scratch, &out)
                        }
                        if f16 { run(keys16, values16) } else { run(keys, values) }
                        outputs.append(out)
                    }
                    let label = "hd \(hd) length \(length) f16 \(f16) batched \(batched)"
                    if outputs.count == 2 { #expect(outputs[0] == outputs[1], "scalar and AVX2 differ: \(label)") }
                    // f16 rounds the query and the probabilities (2^-11 relative); f32 only sums.
                    let tolerance = f16 ? 3e-3 : 2e-6
                    for d in 0..<hd {
                        let error = abs(Double(outputs[0][d]) - want[d])
                        #expect(error <= tolerance * magnitude[d] + 1e-7, "\(label) d \(d): \(outputs[0][d]) vs \(want[d])")
                    }
                }
            }
        }
    }

    @Test func swigluMatchesDoubleAndLevelsAgreeBitForBit() {
        for n in [1, 8, 13, 576, 1539] {
            let gate = Self.values(n, seed: UInt64(n), scale: 12), up = Self.values(n, seed: UInt64(n) + 1, scale: 3)
            var outputs: [[Float]] = []
            for level in Self.levels {
                var out = [Float](repeating: .nan, count: n)
                ck_swiglu(level.code, gate, up, &out, Int32(n))
                outputs.append(out)
            }
            if outputs.count == 2 { #expect(outputs[0].map(\.bitPattern) == outputs[1].map(\.bitPattern), "n \(n)") }
            for i in 0..<n {
                let g = Double(gate[i]), want = g / (1 + Foundation.exp(-g)) * Double(up[i])
                #expect(abs(Double(outputs[0][i]) - want) <= 1e-6 * abs(want) + 1e-30, "n \(n) i \(i): \(outputs[0][i]) vs \(want)")
            }
        }
    }
}
