import CKernels
@testable import Engine
import TestSupport
import Testing

/// Gemma's GeGLU kernel (CKernels geglu.c) against the engine's element-by-element reference.
@Suite("GeGLU")
struct GeGLUTests {
    /// Every f16 value as a gate, values between them, the limits at ±10 and past them, at odd
    /// lengths and on every level this CPU runs (each converts to f16 its own way: F16C, NEON or
    /// portable code): the table must give the reference's result bit for bit.
    @Test func tableMatchesTheReference() throws {
        var gates: [Float] = (0..<(1 << 16)).map { Float(Float16(bitPattern: UInt16($0))) }.filter { !$0.isNaN }
        gates += GGUFFixtures.values(40_000, seed: 11, scale: 12)
        gates += [-10, 10, -10.000001, 10.000001, 9.999999, -9.999999, 0, -0, 1e30, -1e30, .infinity, -.infinity]
        let ups = GGUFFixtures.values(gates.count, seed: 12, scale: 3)
        for level in KernelLevel.supported {
            for length in [1, 3, 7, 17, 255, 256, 257, 6912, gates.count] {
                var reference = Array(gates.prefix(length)), fast = reference
                var up = Array(ups.prefix(length))
                reference.withUnsafeMutableBufferPointer { g in
                    up.withUnsafeMutableBufferPointer { u in Transformer.geglu(g.baseAddress!, u.baseAddress!, length) }
                }
                // In place, as the engine calls it (out = gate).
                fast.withUnsafeMutableBufferPointer { g in
                    up.withUnsafeMutableBufferPointer { u in ck_geglu(level.code, g.baseAddress, u.baseAddress, g.baseAddress, Int32(length)) }
                }
                let mismatch = zip(reference, fast).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
                #expect(mismatch == nil, "\(level), length \(length): gate \(mismatch.map { gates[$0.offset] } ?? 0) gives \(mismatch?.element.1 ?? 0), reference \(mismatch?.element.0 ?? 0)")
            }
        }
    }
}
