import Foundation
import ModelFormat
import TestSupport
import Testing

/// Per-tensor lab types (`lab<b>gtensor<s|a>`): one set of parameters for the whole tensor,
/// stored in every row of the row-wise layout.
@Suite("per-tensor lab types")
struct TensorWiseLabTests {
    /// A one-matrix model whose rows span very different ranges (row r scaled by 1.5^r), so that
    /// a per-tensor scale differs from every per-row one.
    static func source() throws -> (path: String, values: [Float], rows: Int, columns: Int) {
        let rows = 8, columns = 64
        var values = GGUFFixtures.values(rows * columns, seed: 11)
        for r in 0..<rows { for c in 0..<columns { values[r * columns + c] *= powf(1.5, Float(r)) } }
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("llama.block_count", .uint32(1))
        writer.tensors.append(GGUFTensorSpec(name: "blk.0.ffn_up.weight", shape: [columns, rows], type: .f32,
                                             bytes: values.withUnsafeBytes { Array($0) }))
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("rows.gguf").path
        try writer.write(to: path)
        return (path, values, rows, columns)
    }

    @Test func namesIdsAndLayout() throws {
        for bits in 2...8 {
            for asymmetric in [false, true] {
                let lab = try #require(LabType(bits: bits, group: LabType.tensorGroup, asymmetric: asymmetric))
                #expect(lab.name == "lab\(bits)gtensor\(asymmetric ? "a" : "s")")
                #expect(LabType(name: lab.name) == lab && LabType(id: lab.id) == lab)
                #expect(lab.isTensorWise && lab.isRowWise)
                let row = try #require(LabType(bits: bits, group: 0, asymmetric: asymmetric))
                #expect(lab.id != row.id && !row.isTensorWise)
                // The row-wise layout: the same bytes per row as the row-wise type.
                #expect(TensorType(id: lab.id).rowBytes(576) == TensorType(id: row.id).rowBytes(576))
            }
        }
        #expect(LabType(name: "lab8g-1s") == nil, "the internal group value is not a name")
        #expect(TensorType(name: "LAB8GTENSORS") == TensorType(id: LabType(name: "lab8gtensors")!.id))
    }

    @Test(arguments: ["lab8gtensors", "lab4gtensora", "lab3gtensors"])
    func everyRowStoresTheTensorsParameters(name: String) throws {
        let (path, values, rows, columns) = try Self.source()
        let type = try #require(TensorType(name: name)), lab = try #require(LabType(name: name))
        let output = path.replacingOccurrences(of: ".gguf", with: "-\(name).gguf")
        try ModelQuantizer.quantize(try GGUFFile(path: path), mix: QuantMix(type: type), output: output)
        let file = try GGUFFile(path: output)
        let tensor = try #require(file.tensor(named: "blk.0.ffn_up.weight"))
        #expect(tensor.type == type)
        let data = file.data(for: tensor), rowBytes = try #require(type.rowBytes(columns))
        let header = lab.asymmetric ? 4 : 2
        let first = Array(data[0..<header])
        let lo = values.min()!, hi = values.max()!
        let d = Float(Float16(lab.asymmetric ? (hi - lo) / Float((1 << lab.bits) - 1) : max(abs(lo), abs(hi)) / Float((1 << (lab.bits - 1)) - 1)))
        let m: Float = lab.asymmetric ? Float(Float16(lo)) : 0
        var decoded = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let row = UnsafeRawBufferPointer(rebasing: data[(r * rowBytes)..<((r + 1) * rowBytes)])
            #expect(Array(row[0..<header]) == first, "row \(r) stores other parameters")
            let y = try Quantization.dequantize(Array(row), type: type, count: columns)
            decoded.replaceSubrange((r * columns)..<((r + 1) * columns), with: y)
        }
        #expect(Float(Float16(bitPattern: UInt16(first[0]) | UInt16(first[1]) << 8)) == d, "the scale comes from the whole tensor")
        // Round to nearest on one grid: no element is further than half a step from its value
        // (plus the f16 rounding of the stored minimum).
        let bound = d / 2 + abs(m) * 1e-3
        let worst = zip(values, decoded).map { abs($0 - $1) }.max()!
        #expect(worst <= bound, "\(name): worst error \(worst) > \(bound)")

        // The same tensor per row: each row's own range, a smaller error on the small rows.
        let rowName = name.replacingOccurrences(of: "tensor", with: "row")
        let rowOutput = path.replacingOccurrences(of: ".gguf", with: "-\(rowName).gguf")
        try ModelQuantizer.quantize(try GGUFFile(path: path), mix: QuantMix(type: TensorType(name: rowName)!), output: rowOutput)
        let rowFile = try GGUFFile(path: rowOutput)
        let rowTensor = try #require(rowFile.tensor(named: "blk.0.ffn_up.weight"))
        let perRow = try Quantization.dequantize(Array(rowFile.data(for: rowTensor)[0..<rowBytes]), type: TensorType(name: rowName)!, count: columns)
        let rowError = zip(values[0..<columns], perRow).map { abs($0 - $1) }.max()!
        let tensorError = zip(values[0..<columns], decoded[0..<columns]).map { abs($0 - $1) }.max()!
        #expect(tensorError > rowError, "row 0 (the smallest): per tensor \(tensorError) vs per row \(rowError)")
    }

    @Test func aOneRowTensorIsItsRow() throws {
        let x = GGUFFixtures.values(96, seed: 4)
        for (tensor, row) in [("lab8gtensors", "lab8grows"), ("lab4gtensora", "lab4growa")] {
            #expect(try Quantization.quantize(x, to: TensorType(name: tensor)!) == (try Quantization.quantize(x, to: TensorType(name: row)!)))
        }
    }
}
