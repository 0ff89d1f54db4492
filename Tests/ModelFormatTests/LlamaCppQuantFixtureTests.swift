import Foundation
import ModelFormat
import Testing

/// Against llama.cpp's own output (Fixtures/llamacpp-quants.gguf-fixture: 8 rows of real
/// SmolLM2 weights quantized by `llama-quantize --pure`, and gguf-py's dequantization of each).
@Suite("quantization agrees with llama.cpp")
struct LlamaCppQuantFixtureTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/llamacpp-quants.gguf-fixture").path
    static let legacy: [TensorType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1]
    static let kTypes: [TensorType] = [.q6_K, .q5_K, .q4_K, .q3_K, .q2_K]

    func fixture() throws -> (GGUFFile, [Float]) {
        let file = try GGUFFile(path: Self.path)
        let f32 = try #require(file.tensor(named: "f32"))
        return (file, try Quantization.dequantize(Array(file.data(for: f32)), type: .f32, count: f32.elementCount))
    }

    @Test(arguments: legacy)
    func quantizedBytesAreIdentical(type: TensorType) throws {
        let (file, x) = try fixture()
        let theirs = try #require(file.tensor(named: "llama.\(type.name)"))
        #expect(try Quantization.quantize(x, to: type) == Array(file.data(for: theirs)))
    }

    @Test(arguments: legacy + kTypes + [.iq4_NL])
    func dequantizationMatchesAnIndependentReader(type: TensorType) throws {
        let (file, _) = try fixture()
        let theirs = try #require(file.tensor(named: "llama.\(type.name)"))
        let reference = try #require(file.tensor(named: "ref.\(type.name)"))
        let ours = try Quantization.dequantize(Array(file.data(for: theirs)), type: type, count: theirs.elementCount)
        let expected = try Quantization.dequantize(Array(file.data(for: reference)), type: .f32, count: reference.elementCount)
        #expect(ours == expected)
    }

    /// The K quantizers are slmbench's own; their error must stay within 2% of llama.cpp's.
    @Test(arguments: kTypes)
    func kQuantErrorWithinTwoPercentOfLlamaCpp(type: TensorType) throws {
        let (file, x) = try fixture()
        let reference = try #require(file.tensor(named: "ref.\(type.name)"))
        let theirs = try Quantization.dequantize(Array(file.data(for: reference)), type: .f32, count: reference.elementCount)
        let ours = try Quantization.dequantize(try Quantization.quantize(x, to: type), type: type, count: x.count)
        func rmse(_ y: [Float]) -> Double {
            (zip(x, y).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) / Double(x.count)).squareRoot()
        }
        #expect(rmse(ours) <= 1.02 * rmse(theirs), "\(type.name): slmbench \(rmse(ours)) vs llama.cpp \(rmse(theirs))")
    }

    /// IQ4_NL's scale search is slmbench's own, with ggml's choice among its candidates: no
    /// worse than llama.cpp's on these rows, and never worse block by block.
    @Test func iq4NLErrorNoHigherThanLlamaCpp() throws {
        let (file, x) = try fixture()
        let reference = try #require(file.tensor(named: "ref.IQ4_NL"))
        let theirs = try Quantization.dequantize(Array(file.data(for: reference)), type: .f32, count: reference.elementCount)
        let ours = try Quantization.dequantize(try Quantization.quantize(x, to: .iq4_NL), type: .iq4_NL, count: x.count)
        func squaredError(_ y: [Float], _ range: Range<Int>) -> Double {
            range.map { Double(x[$0] - y[$0]) * Double(x[$0] - y[$0]) }.reduce(0, +)
        }
        var worseBlocks = 0
        for block in 0..<(x.count / 32) where squaredError(ours, (32 * block)..<(32 * block + 32)) > squaredError(theirs, (32 * block)..<(32 * block + 32)) * (1 + 1e-9) {
            worseBlocks += 1
        }
        #expect(worseBlocks == 0)
        let (a, b) = (squaredError(ours, 0..<x.count), squaredError(theirs, 0..<x.count))
        #expect(a <= b, "IQ4_NL: slmbench \((a / Double(x.count)).squareRoot()) vs llama.cpp \((b / Double(x.count)).squareRoot())")
    }
}
