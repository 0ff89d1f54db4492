import Foundation
import ModelFormat
import TestSupport
import Testing

/// `lab<b>g<g>q`: lab groups whose scale and minimum are 8-bit values against two f16 steps per
/// row. Its sizes, its error on random rows and on rows already on a Q4_1 grid (the case it was
/// made for), its widening into the plain lab layout, and hostile rows.
@Suite("lab types with 8-bit group parameters")
struct LabScaledTypeTests {
    static func rmse(_ a: [Float], _ b: [Float]) -> Double {
        (zip(a, b).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / Double(a.count)).squareRoot()
    }

    @Test func idsNamesAndSizes() {
        for bits in 2...8 {
            for group in [32, 64, 128] {
                let t = LabScaledType(bits: bits, group: group)!
                #expect(LabScaledType(id: t.id) == t)
                #expect(LabScaledType(name: t.name) == t)
                #expect(TensorType(name: t.name) == TensorType(id: t.id))
                #expect(TensorType(id: t.id).isLab)
                #expect(LabType(id: t.id) == nil, "\(t.name) must not read as a plain lab type")
                #expect(TensorType(id: t.id).layout != nil)
            }
        }
        // 576 = 18 groups of 32: 4 bytes of row steps + 18 × (2 + 16).
        #expect(TensorType(name: "lab4g32q")!.rowBytes(576) == 328)
        #expect(TensorType(name: "lab4g64q")!.rowBytes(576) == 4 + 9 * 34)
        #expect(TensorType(name: "lab4g32q")!.rowBytes(48) == nil, "rows must be whole groups")
        #expect(TensorType(name: "lab4g128q")!.rowBytes(576) == nil)
        #expect(TensorType(name: "lab4g32q")!.bitsPerWeight == nil, "the row header makes it depend on the row")
        #expect(LabScaledType(name: "lab4g48q") == nil && LabScaledType(name: "lab9g32q") == nil && LabScaledType(name: "labxg32q") == nil)
        #expect(LabType(name: "lab4g32q") == nil)
    }

    /// On random rows it is close to lab4g32a (f16 parameters): the 8-bit parameters cost little.
    @Test(arguments: [(32, 0.0435), (64, 0.050)])
    func errorOnRandomRowsIsCloseToF16Parameters(group: Int, bound: Double) throws {
        let type = TensorType(name: "lab4g\(group)q")!, plain = TensorType(name: "lab4g\(group)a")!
        for groups in [1, 3, 7, 18, 33] {
            let n = groups * group
            let x = GGUFFixtures.values(n, seed: UInt64(groups))
            let y = try Quantization.dequantize(try Quantization.quantize(x, to: type), type: type, count: n)
            let p = try Quantization.dequantize(try Quantization.quantize(x, to: plain), type: plain, count: n)
            let (e, ep) = (Self.rmse(x, y), Self.rmse(x, p))
            #expect(e <= bound, "\(type.name), \(n) values: RMSE \(e) > \(bound)")
            #expect(e <= ep * 1.15, "\(type.name) \(e) vs \(plain.name) \(ep)")
        }
    }

    /// Rows whose groups are already on a 4-bit affine grid (what a Q4_1 file holds): the type
    /// keeps nearly all of it; IQ4_NL and Q4_0 at the same size move every group.
    @Test func rowsOnAQ4_1GridStayNearlyWhereTheyAre() throws {
        let n = 576
        let source = try Quantization.dequantize(try Quantization.quantize(GGUFFixtures.values(n, seed: 5, scale: 0.05), to: .q4_1),
                                                 type: .q4_1, count: n)
        func error(_ t: TensorType) throws -> Double {
            Self.rmse(source, try Quantization.dequantize(try Quantization.quantize(source, to: t), type: t, count: n))
        }
        let scaled = try error(TensorType(name: "lab4g32q")!), iq4 = try error(.iq4_NL), q4 = try error(.q4_0)
        #expect(scaled < 0.25 * iq4 && scaled < 0.25 * q4, "lab4g32q \(scaled), iq4_nl \(iq4), q4_0 \(q4)")
    }

    /// The engine's widened rows decode to the same floats, bit for bit.
    @Test(arguments: ["lab4g32q", "lab3g64q", "lab8g128q", "lab2g32q"])
    func wideningIsExact(name: String) throws {
        let type = TensorType(name: name)!, scaled = LabScaledType(name: name)!
        let plain = TensorType(id: scaled.widened.id)
        let n = 384
        let x = GGUFFixtures.values(n, seed: 3, scale: 0.3).enumerated().map { $0.offset < 64 ? $0.element * 1e-3 : $0.element }
        let bytes = try Quantization.quantize(x, to: type)
        var wide = [UInt8](repeating: 0, count: plain.rowBytes(n)!)
        try bytes.withUnsafeBytes { src in try wide.withUnsafeMutableBytes { try Quantization.widen(src, type: scaled, elements: n, into: $0) } }
        let a = try Quantization.dequantize(bytes, type: type, count: n), b = try Quantization.dequantize(wide, type: plain, count: n)
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
        var short = [UInt8](repeating: 0, count: plain.rowBytes(n)! - 1)
        #expect(throws: Quantization.Failure.self) {
            try bytes.withUnsafeBytes { src in try short.withUnsafeMutableBytes { try Quantization.widen(src, type: scaled, elements: n, into: $0) } }
        }
    }

    @Test func importanceNeverRaisesTheWeightedError() throws {
        let type = TensorType(name: "lab4g32q")!, n = 576
        let x = GGUFFixtures.values(n, seed: 11)
        let w = GGUFFixtures.values(n, seed: 12).map { 0.01 + $0 * $0 * 10 }
        func weighted(_ y: [Float]) -> Double {
            var sum = 0.0
            for j in 0..<n {
                let e = Double(x[j] - y[j])
                sum += Double(w[j]) * e * e
            }
            return sum
        }
        let plainRow = try Quantization.dequantize(try Quantization.quantize(x, to: type), type: type, count: n)
        let weightedRow = try Quantization.dequantize(try Quantization.quantize(x, to: type, importance: w), type: type, count: n)
        #expect(Quantization.usesImportance(type))
        #expect(weighted(weightedRow) <= weighted(plainRow) * 1.0001)
    }

    @Test func zerosConstantsAndHostileRows() throws {
        let type = TensorType(name: "lab4g32q")!
        let zeros = try Quantization.dequantize(try Quantization.quantize([Float](repeating: 0, count: 64), to: type), type: type, count: 64)
        #expect(zeros.allSatisfy { $0 == 0 })
        let constant = try Quantization.dequantize(try Quantization.quantize([Float](repeating: -0.25, count: 64), to: type), type: type, count: 64)
        #expect(constant.allSatisfy { abs($0 + 0.25) < 2e-3 }, "\(constant[0])")
        // NaN, infinities and huge values must not trap.
        for poison: Float in [.nan, .infinity, -.infinity, 1e30, -1e-30] {
            var x = GGUFFixtures.values(64, seed: 2)
            x[7] = poison
            _ = try Quantization.dequantize(try Quantization.quantize(x, to: type), type: type, count: 64)
        }
        #expect(throws: Quantization.Failure.self) { try Quantization.quantize([Float](repeating: 1, count: 40), to: type) }
    }
}
