import Foundation
@testable import ModelFormat
import Testing

/// Quantization weighted by an importance matrix: the weights change the result, the weighted
/// search lowers the error it is weighted by, only relative importance matters, and a model is
/// quantized with its matrix's entries and says which tensors had one.
@Suite("importance-weighted quantization")
struct ImportanceQuantizationTests {
    static let weightedTypes: [TensorType] = [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .q4_0, .q4_1, .q5_0, .q5_1]
        + ["lab3g64a", "lab4g32a", "lab4g128s", "lab2g32a", "lab3grows", "lab5g64s"].map { TensorType(id: LabType(name: $0)!.id) }

    /// Deterministic pseudo-random values (SplitMix64), roughly normal by summing four uniforms.
    struct Values {
        var state: UInt64
        mutating func uniform() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24)
        }
        mutating func normal() -> Float { (uniform() + uniform() + uniform() + uniform() - 2) * 1.7 }
    }

    /// Rows of weights with a few outliers, and a per-column importance spanning four decades
    /// (as activations' mean squares do).
    static func sample(columns: Int, rows: Int, seed: UInt64) -> (x: [Float], importance: [Float]) {
        var g = Values(state: seed)
        let x = (0..<(columns * rows)).map { i -> Float in
            let v = 0.02 * g.normal()
            return i % 97 == 0 ? v * 6 : v
        }
        let importance = (0..<columns).map { _ in Float(pow(10, Double(4 * g.uniform() - 2))) }
        return (x, importance)
    }

    /// Σ over rows of Σ_j imp_j (x - x̂)²: the error the weighting targets (the column importance,
    /// without llama.cpp's √(σ² + x²) factor, so no quantizer's own weighting is favoured).
    static func importanceError(_ x: [Float], _ bytes: [UInt8], type: TensorType, columns: Int, importance: [Float]) throws -> Double {
        // Row by row: a row-wise lab type's parameters belong to one row.
        let rowBytes = bytes.count / (x.count / columns)
        var back: [Float] = []
        for r in 0..<(x.count / columns) {
            back += try Quantization.dequantize(Array(bytes[(r * rowBytes)..<((r + 1) * rowBytes)]), type: type, count: columns)
        }
        var error = 0.0
        for i in x.indices { let e = Double(back[i] - x[i]); error += Double(importance[i % columns]) * e * e }
        return error
    }

    static func quantizeRows(_ x: [Float], type: TensorType, columns: Int, importance: [Float]?) throws -> [UInt8] {
        var out: [UInt8] = []
        for r in 0..<(x.count / columns) {
            out += try Quantization.quantize(Array(x[(r * columns)..<((r + 1) * columns)]), to: type, importance: importance)
        }
        return out
    }

    @Test(arguments: weightedTypes)
    func weightingLowersTheImportanceWeightedError(type: TensorType) throws {
        let columns = 512
        let (x, importance) = Self.sample(columns: columns, rows: 24, seed: 7 &+ UInt64(type.id))
        let plain = try Self.quantizeRows(x, type: type, columns: columns, importance: nil)
        let weighted = try Self.quantizeRows(x, type: type, columns: columns, importance: importance)
        #expect(plain != weighted, "\(type.name): a non-uniform importance must change the bytes")
        let before = try Self.importanceError(x, plain, type: type, columns: columns, importance: importance)
        let after = try Self.importanceError(x, weighted, type: type, columns: columns, importance: importance)
        #expect(after < before, "\(type.name): weighted error \(after) is not below the unweighted search's \(before)")
    }

    @Test(arguments: weightedTypes)
    func onlyRelativeImportanceMatters(type: TensorType) throws {
        let columns = 256
        let (x, importance) = Self.sample(columns: columns, rows: 4, seed: 99)
        let once = try Self.quantizeRows(x, type: type, columns: columns, importance: importance)
        // ×4 is exact in binary floating point: every weighted sum scales exactly, every comparison
        // between candidates comes out the same.
        let scaled = try Self.quantizeRows(x, type: type, columns: columns, importance: importance.map { $0 * 4 })
        #expect(once == scaled, "\(type.name): scaling every importance by 4 changed the bytes")
        #expect(try Quantization.quantize(Array(x[0..<columns]), to: type, importance: nil) == (try Quantization.quantize(Array(x[0..<columns]), to: type)),
                "no importance must give the unweighted bytes")
    }

    /// Importance on a few channels: the lab types' weighted search brings those channels' error
    /// below round to nearest's (which spends its range on the channels that do not matter).
    @Test(arguments: ["lab3g64a", "lab4g32a", "lab3g128s", "lab2growa"])
    func labSearchFavoursTheImportantChannels(name: String) throws {
        let type = try #require(TensorType(name: name))
        let columns = 256
        let (x, _) = Self.sample(columns: columns, rows: 16, seed: 21)
        let important = Set([5, 40, 77, 130, 200, 251])
        let importance = (0..<columns).map { important.contains($0) ? Float(1) : 1e-4 }
        let plain = try Self.quantizeRows(x, type: type, columns: columns, importance: nil)
        let weighted = try Self.quantizeRows(x, type: type, columns: columns, importance: importance)
        let only = (0..<columns).map { important.contains($0) ? Float(1) : 0 }
        let before = try Self.importanceError(x, plain, type: type, columns: columns, importance: only)
        let after = try Self.importanceError(x, weighted, type: type, columns: columns, importance: only)
        #expect(after < 0.8 * before, "\(name): error on the important channels \(after), round to nearest's \(before)")
    }

    @Test func typesWithoutAWeightedSearchIgnoreTheMatrix() throws {
        let (x, importance) = Self.sample(columns: 256, rows: 1, seed: 3)
        for type in [TensorType.q8_0, .f16, .f32, TensorType(name: "lab4gtensora")!, TensorType(name: "lab3gtensors")!] {
            #expect(!Quantization.usesImportance(type))
            #expect(try Quantization.quantize(x, to: type, importance: importance) == (try Quantization.quantize(x, to: type)), "\(type.name)")
        }
    }

    /// A two-matrix model: one matrix has an entry, the other has none; a 1-D norm stays F32.
    static func model(at path: String) throws -> [Float] {
        let (x, _) = sample(columns: 256, rows: 8, seed: 11)
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        let bytes = x.withUnsafeBytes { [UInt8]($0) }
        w.tensors.append(GGUFTensorSpec(name: "blk.0.attn_q.weight", shape: [256, 8], type: .f32, bytes: bytes))
        w.tensors.append(GGUFTensorSpec(name: "blk.0.ffn_up.weight", shape: [256, 8], type: .f32, bytes: bytes))
        w.tensors.append(GGUFTensorSpec(name: "blk.0.attn_norm.weight", shape: [256], type: .f32, bytes: [UInt8](repeating: 0, count: 1024)))
        try w.write(to: path)
        return x
    }

    static func temp(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("imatrix-quant-\(UUID().uuidString)-\(name)").path
    }

    @Test func aModelIsQuantizedWithItsEntriesAndRecordsTheMatrix() throws {
        let source = Self.temp("m.gguf"), plain = Self.temp("plain.gguf"), weighted = Self.temp("weighted.gguf"), file = Self.temp("i.dat")
        defer { for p in [source, plain, weighted, file] { try? FileManager.default.removeItem(atPath: p) } }
        let x = try Self.model(at: source)
        let (_, importance) = Self.sample(columns: 256, rows: 1, seed: 12)
        // Written and read back through llama.cpp's legacy format, as `--imatrix FILE` reads it.
        let matrix = ImportanceMatrix(entries: ["blk.0.attn_q.weight": .init(sums: importance.map { $0 * 3 }, counts: [3])],
                                      datasets: ["calibration.txt"], chunkCount: 3, chunkSize: 512)
        try matrix.write(to: file, format: .dat)
        let read = try ImportanceMatrix(path: file)
        let gguf = try GGUFFile(path: source)
        try ModelQuantizer.quantize(gguf, mix: QuantMix(type: .q4_K), output: plain)
        let result = try ModelQuantizer.quantize(gguf, mix: QuantMix(type: .q4_K), output: weighted, importance: read, importanceFile: "i.dat")
        #expect(result.weighted == ["blk.0.attn_q.weight"] && result.unweighted == ["blk.0.ffn_up.weight"])
        let a = try GGUFFile(path: plain), b = try GGUFFile(path: weighted)
        func bytes(_ f: GGUFFile, _ name: String) throws -> [UInt8] { [UInt8](f.data(for: try #require(f.tensor(named: name)))) }
        #expect(try bytes(a, "blk.0.ffn_up.weight") == (try bytes(b, "blk.0.ffn_up.weight")), "a tensor without an entry quantizes as before")
        #expect(try bytes(a, "blk.0.attn_q.weight") != (try bytes(b, "blk.0.attn_q.weight")), "the tensor with an entry is weighted")
        // Every row of the weighted tensor used the same per-column entry: the bytes are what
        // quantizing each row with it gives.
        let expected = try Self.quantizeRows(x, type: .q4_K, columns: 256, importance: read.entries["blk.0.attn_q.weight"]!.means)
        #expect(try bytes(b, "blk.0.attn_q.weight") == expected)
        #expect(b["quantize.imatrix.dataset"]?.string == "calibration.txt")
        #expect(b["quantize.imatrix.file"]?.string == "i.dat")
        #expect(b["quantize.imatrix.chunks_count"]?.int == 3 && b["quantize.imatrix.entries_count"]?.int == 1)
        #expect(a["quantize.imatrix.dataset"] == nil, "no matrix, no record of one")
    }

    @Test func anEntryOfAnotherShapeIsRefusedNamingTheTensor() throws {
        let source = Self.temp("m.gguf"), out = Self.temp("o.gguf")
        defer { for p in [source, out] { try? FileManager.default.removeItem(atPath: p) } }
        _ = try Self.model(at: source)
        let wrong = ImportanceMatrix(entries: ["blk.0.attn_q.weight": .init(sums: [1, 2, 3], counts: [1])], datasets: [], chunkCount: 0, chunkSize: 0)
        do {
            try ModelQuantizer.quantize(try GGUFFile(path: source), mix: QuantMix(type: .q4_0), output: out, importance: wrong)
            Issue.record("a 3-channel entry for a 256-column tensor was accepted")
        } catch {
            let message = "\(error)"
            #expect(message.contains("blk.0.attn_q.weight") && message.contains("3 channels"), "\(message)")
            #expect(!message.contains("\n"))
        }
        let negative = ImportanceMatrix(entries: ["blk.0.attn_q.weight": .init(sums: [Float](repeating: -1, count: 256), counts: [1])],
                                        datasets: [], chunkCount: 0, chunkSize: 0)
        #expect(throws: ModelQuantizer.Failure.self) {
            try ModelQuantizer.quantize(try GGUFFile(path: source), mix: QuantMix(type: .q4_0), output: out, importance: negative)
        }
    }
}
