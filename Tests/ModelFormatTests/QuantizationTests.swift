import ModelFormat
import TestSupport
import Testing

/// Per-type error bounds on deterministic data, in the manner of llama.cpp's
/// test-quantize-fns: quantize, dequantize, and compare the RMSE with a named bound. Data is
/// uniform in [-1, 1), whose RMS is 0.577; each bound is 1.2× the worst RMSE measured over
/// the lengths below when the bound was set (2026-11-27), so a regression in rounding shows up.
@Suite("quantization round trips and error bounds")
struct QuantizationTests {
    static let bounds: [(TensorType, Double)] = [
        (.f16, 0.00022), (.bf16, 0.0014), (.q8_0, 0.0027), (.q5_1, 0.0216), (.q5_0, 0.0244),
        (.q4_1, 0.0435), (.q4_0, 0.0468),
        (.q6_K, 0.0091), (.q5_K, 0.0192), (.q4_K, 0.0388), (.q3_K, 0.0822), (.q2_K, 0.1596),
        (TensorType(name: "lab8g32s")!, 0.0027), (TensorType(name: "lab6g64a")!, 0.0110),
        (TensorType(name: "lab4g128s")!, 0.050), (TensorType(name: "lab3g32a")!, 0.0945),
        (TensorType(name: "lab2g32s")!, 0.335), (TensorType(name: "lab4grows")!, 0.0468), (TensorType(name: "lab6growa")!, 0.0109),
    ]

    static func rmse(_ a: [Float], _ b: [Float]) -> Double {
        (zip(a, b).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / Double(a.count)).squareRoot()
    }

    @Test(arguments: bounds)
    func errorWithinBound(type: TensorType, bound: Double) throws {
        let block = type.layout!.blockElements
        for blocks in [1, 3, 7, 17, 31, 33] {
            let count = block == 1 ? blocks : blocks * max(block, 32)
            let x = GGUFFixtures.values(count, seed: UInt64(blocks))
            let bytes = try Quantization.quantize(x, to: type)
            #expect(bytes.count == type.rowBytes(count))
            let y = try Quantization.dequantize(bytes, type: type, count: count)
            let error = Self.rmse(x, y)
            #expect(error <= bound, "\(type.name) with \(count) values: RMSE \(error) > bound \(bound)")
            // Quantizing the dequantized values again changes nothing (codes are stable).
            // (Not for the affine types and K searches, whose refits may move a scale by an ulp.)
            #expect(try Quantization.quantize(y, to: type) == bytes || [.q4_1, .q5_1].contains(type) || type.layout!.blockElements == 256,
                    "\(type.name) is not idempotent")
        }
    }

    @Test func f32IsExactAndOddLengthsWork() throws {
        for count in [1, 3, 7, 17, 31, 33] {
            let x = GGUFFixtures.values(count, seed: 9)
            #expect(try Quantization.dequantize(try Quantization.quantize(x, to: .f32), type: .f32, count: count) == x)
        }
    }

    @Test func zerosStayZeroAndConstantsSurvive() throws {
        for type in [TensorType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, TensorType(name: "lab4g32s")!, TensorType(name: "lab4g32a")!] {
            let zeros = try Quantization.dequantize(try Quantization.quantize([Float](repeating: 0, count: 64), to: type), type: type, count: 64)
            #expect(zeros.allSatisfy { $0 == 0 }, "\(type.name)")
            let ones = try Quantization.dequantize(try Quantization.quantize([Float](repeating: 0.25, count: 64), to: type), type: type, count: 64)
            #expect(ones.allSatisfy { abs($0 - 0.25) < 1e-3 }, "\(type.name): \(ones[0])")
        }
    }

    @Test func q4_0KnownBlock() throws {
        // amax element -8 → d = 1, codes x + 8; element j in the low nibble of byte j, j+16 high.
        let x: [Float] = (0..<32).map { Float($0 % 16) - 8 }
        let bytes = try Quantization.quantize(x, to: .q4_0)
        #expect(bytes[0...1] == [0x00, 0x3C]) // f16 1.0
        #expect(bytes[2] == 0x00 && bytes[3] == 0x11 && bytes[17] == 0xFF)
        #expect(try Quantization.dequantize(bytes, type: .q4_0, count: 32) == x)
    }

    @Test func bf16RoundsToNearestEven() throws {
        let x: [Float] = [1.0, 1.0039062, 1.0117188, -2.5, .infinity]
        let y = try Quantization.dequantize(try Quantization.quantize(x, to: .bf16), type: .bf16, count: x.count)
        #expect(y == [1.0, 1.0, 1.015625, -2.5, .infinity])
    }

    @Test func lengthsThatAreNotWholeBlocksAreRefused() {
        #expect(throws: Quantization.Failure.self) { try Quantization.quantize([Float](repeating: 0, count: 33), to: .q4_0) }
    }

    @Test func labTypeIdsAndNames() {
        for bits in 2...8 {
            for group in [32, 64, 128, 0] {
                for asym in [false, true] {
                    let lab = LabType(bits: bits, group: group, asymmetric: asym)!
                    #expect(LabType(id: lab.id) == lab)
                    #expect(LabType(name: lab.name) == lab)
                    #expect(lab.id >= 0x4C00)
                    #expect(TensorType(id: lab.id).isLab)
                }
            }
        }
        #expect(LabType(name: "lab4grows")?.isRowWise == true)
        #expect(TensorType(name: "lab4grows")!.rowBytes(576) == 2 + 288)
        #expect(TensorType(name: "lab3growa")!.rowBytes(576) == 4 + 216)
        #expect(TensorType(name: "lab4grows")!.bitsPerWeight == nil)
        #expect(LabType(name: "lab9g32s") == nil)
        #expect(LabType(name: "lab4g48a") == nil)
        #expect(TensorType(name: "q4_k") == .q4_K)
        #expect(!TensorType.q4_0.isLab)
    }

    @Test(arguments: [(TensorType.q4_0, 4.5), (.q4_1, 5.0), (.q5_0, 5.5), (.q5_1, 6.0), (.q8_0, 8.5),
                      (.q2_K, 2.625), (.q3_K, 3.4375), (.q4_K, 4.5), (.q5_K, 5.5), (.q6_K, 6.5625), (.f16, 16)])
    func bitsPerWeight(type: TensorType, bits: Double) {
        #expect(type.bitsPerWeight == bits)
    }
}
