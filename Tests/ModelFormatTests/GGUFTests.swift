import Foundation
import ModelFormat
import TestSupport
import Testing

@Suite("GGUF read and write")
struct GGUFTests {
    @Test func roundTrip() throws {
        let bytes = try GGUFFixtures.small()
        let file = try GGUFFile(bytes: bytes)
        #expect(file.version == 3)
        #expect(file.alignment == 32)
        #expect(file.metadata.map(\.key) == ["general.architecture", "general.name", "llama.block_count",
                                              "test.float", "test.bool", "test.tokens", "test.ints"])
        #expect(file["general.name"]?.string == "fixture")
        #expect(file["llama.block_count"]?.int == 1)
        #expect(file["test.float"]?.double == 0.5)
        #expect(file["test.bool"]?.bool == true)
        #expect(file["test.tokens"]?.array?.strings == ["<s>", "</s>", "hello", "wörld"])
        #expect(file["test.ints"]?.array?.ints == [1, -2, 3])
        #expect(file.tensors.map(\.name) == ["a.weight", "b.weight"])
        let a = try #require(file.tensor(named: "a.weight"))
        #expect(a.shape == [64, 2] && a.type == .f32 && a.byteCount == 512)
        #expect(file.dataOffset % 32 == 0)
        #expect(a.offset % 32 == 0)
        let b = try #require(file.tensor(named: "b.weight"))
        #expect(b.byteCount == 3 * 2 * 34)
        let floats = Array(file.data(for: a).bindMemory(to: Float.self))
        #expect(floats == GGUFFixtures.values(128))
        // Rewriting what was read gives the same bytes.
        var writer = GGUFWriter()
        writer.metadata = file.metadata
        for t in file.tensors { writer.tensors.append(GGUFTensorSpec(name: t.name, shape: t.shape, type: t.type, bytes: Array(file.data(for: t)))) }
        #expect(try writer.bytes() == bytes)
    }

    @Test func customAlignmentIsHonoured() throws {
        var writer = GGUFWriter()
        writer.set("general.alignment", .uint32(64))
        writer.tensors.append(GGUFTensorSpec(name: "x", shape: [3], type: .f32, bytes: Array(repeating: 1, count: 12)))
        writer.tensors.append(GGUFTensorSpec(name: "y", shape: [5], type: .f32, bytes: Array(repeating: 2, count: 20)))
        let file = try GGUFFile(bytes: try writer.bytes())
        #expect(file.alignment == 64 && file.dataOffset % 64 == 0)
        #expect(file.tensor(named: "y")?.offset == 64)
    }

    @Test func writesAtomicallyToDisk() throws {
        let dir = try TestPaths.temporaryDirectory()
        let path = dir.appendingPathComponent("m.gguf").path
        var writer = GGUFWriter()
        writer.set("general.name", .string("disk"))
        writer.tensors.append(GGUFTensorSpec(name: "t", shape: [32], type: .q4_0, bytes: try Quantization.quantize(GGUFFixtures.values(32), to: .q4_0)))
        try writer.write(to: path)
        let file = try GGUFFile(path: path)
        #expect(file["general.name"]?.string == "disk")
        #expect(file.tensor(named: "t")?.type == .q4_0)
        #expect(!FileManager.default.fileExists(atPath: path + ".partial"))
    }

    @Test func writerRefusesBadTensors() throws {
        var writer = GGUFWriter()
        writer.tensors.append(GGUFTensorSpec(name: "t", shape: [33], type: .q4_0, bytes: []))
        #expect(throws: GGUFError.self) { try writer.bytes() }
        writer.tensors = [GGUFTensorSpec(name: "t", shape: [32], type: .f32, bytes: Array(repeating: 0, count: 128)),
                          GGUFTensorSpec(name: "t", shape: [32], type: .f32, bytes: Array(repeating: 0, count: 128))]
        #expect { try writer.bytes() } throws: { error in
            if case .duplicateTensor("t", _) = error as? GGUFError { true } else { false }
        }
    }
}
