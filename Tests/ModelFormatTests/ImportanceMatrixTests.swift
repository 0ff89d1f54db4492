import Foundation
@testable import ModelFormat
import TestSupport
import Testing

@Suite("importance matrix files")
struct ImportanceMatrixTests {
    static func tempPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("imatrix-\(UUID().uuidString)-\(name)").path
    }

    /// Two dense matrices and one of three experts, one of which saw nothing.
    static let sample = ImportanceMatrix(
        entries: ["blk.0.attn_q.weight": .init(sums: [4, 9, 0.5, 2], counts: [2]),
                  "blk.0.ffn_down.weight": .init(sums: [1, 2, 3, 4, 5, 6], counts: [3]),
                  "blk.1.ffn_up_exps.weight": .init(sums: [6, 8, 0, 0, 3, 3], counts: [2, 0, 3])],
        datasets: ["calibration.txt"], chunkCount: 5, chunkSize: 2)

    @Test func bothFormatsGiveBackTheMeans() throws {
        let gguf = Self.tempPath("a.gguf"), dat = Self.tempPath("a.dat")
        defer { try? FileManager.default.removeItem(atPath: gguf); try? FileManager.default.removeItem(atPath: dat) }
        try Self.sample.write(to: gguf, format: .gguf)
        #expect(try ImportanceMatrix(path: gguf) == Self.sample, "GGUF keeps sums, counts and metadata exactly")
        try Self.sample.write(to: dat, format: .dat)
        let legacy = try ImportanceMatrix(path: dat)
        #expect(Set(legacy.entries.keys) == Set(Self.sample.entries.keys))
        #expect(legacy.datasets == ["calibration.txt"] && legacy.chunkCount == 5)
        for (name, e) in Self.sample.entries {
            let back = try #require(legacy.entries[name])
            for (a, b) in zip(back.means, e.means) { #expect(abs(a - b) <= 1e-6 * max(1, abs(b)), "\(name): \(back.means) vs \(e.means)") }
        }
        // An expert that saw no activation reads as weight 1, as llama-quantize takes it.
        #expect(Self.sample.entries["blk.1.ffn_up_exps.weight"]!.means == [3, 4, 1, 1, 1, 1])
        #expect(try Self.sample.weights(for: "blk.0.attn_q.weight", channels: 4) == [2, 4.5, 0.25, 1])
        #expect(try Self.sample.weights(for: "blk.9.attn_q.weight", channels: 4) == nil)
        #expect(throws: ImportanceMatrix.Failure.self) { try Self.sample.weights(for: "blk.0.attn_q.weight", channels: 576) }
    }

    @Test func brokenFilesAreRefusedNamingTheFileAndPlace() throws {
        let path = Self.tempPath("bad.dat")
        defer { try? FileManager.default.removeItem(atPath: path) }
        func refusal(_ bytes: [UInt8]) -> String {
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            do { _ = try ImportanceMatrix(path: path); return "accepted" } catch { return error.description }
        }
        #expect(refusal([]).contains("truncated at byte 0"))
        #expect(refusal([0, 0, 0, 0]).contains("entry count 0"))
        #expect(refusal([1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F]).contains("name length"))
        #expect(refusal([1, 0, 0, 0, 1, 0, 0, 0, 0x41, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0]).contains("A's values"))
        for message in [refusal([]), refusal([1, 0, 0, 0, 1, 0, 0, 0, 0x41])] { #expect(message.hasPrefix(path), "\(message)") }
        // A model file is not an importance matrix.
        let model = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        #expect(throws: ImportanceMatrix.Failure.self) { try ImportanceMatrix(path: model.path) }
    }

    /// llama-imatrix's files, both formats, read the same; and llama-quantize takes slmbench's file
    /// and quantizes differently with it than without.
    @Test func llamaCppReadsOursAndWeReadTheirs() throws {
        for tool in ["llama-imatrix", "llama-quantize"] { try #require(LlamaCppTools.isPresent(tool), Comment(rawValue: LlamaCppTools.missingMessage(tool))) }
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        let folder = Self.tempPath("llama")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let text = TestPaths.packageRoot.appendingPathComponent("README.md").path
        var files: [String: ImportanceMatrix] = [:]
        for format in ["gguf", "dat"] {
            let out = "\(folder)/theirs.\(format)"
            let r = try LlamaCppTools.run("llama-imatrix", ["-m", RealModel.path.path, "-f", text, "-c", "128", "--chunks", "2", "-t", "2",
                                                             "--no-ppl", "--output-format", format, "-o", out])
            try #require(r.status == 0, "llama-imatrix: \(r.output.suffix(600))")
            files[format] = try ImportanceMatrix(path: out)
        }
        let gguf = try #require(files["gguf"]), dat = try #require(files["dat"])
        let model = try #require(try RealModel.open())
        let matrices = Set(model.tensors.filter { $0.name.hasPrefix("blk.") && $0.shape.count == 2 }.map(\.name))
        #expect(Set(gguf.entries.keys) == matrices, "an entry per block matrix: \(Set(gguf.entries.keys).symmetricDifference(matrices).sorted().prefix(5))")
        #expect(Set(dat.entries.keys) == matrices)
        #expect(gguf.chunkCount == 2 && gguf.chunkSize == 128 && gguf.datasets == [text])
        for (name, e) in gguf.entries {
            let channels = try #require(model.tensor(named: name)).rowLength
            #expect(e.channels == channels && e.counts == [256], "\(name): \(e.channels) channels, counts \(e.counts)")
            let legacy = try #require(dat.entries[name]).means
            for (a, b) in zip(e.means, legacy) where abs(a - b) > 1e-5 * max(abs(a), 1e-6) {
                Issue.record("\(name): GGUF mean \(a), legacy mean \(b)"); break
            }
        }
        // slmbench's copy, written in each format, is taken by llama-quantize and changes its output.
        let f32 = try ModelQuantizer.ensure(source: RealModel.path, type: .f32, cache: .fromEnvironment()).path
        // The files' metadata names the imatrix file, so compare the tensors' bytes.
        func tensors(_ path: String) throws -> [String: Data] {
            let f = try GGUFFile(path: path)
            return Dictionary(uniqueKeysWithValues: f.tensors.map { ($0.name, Data(f.data(for: $0))) })
        }
        var outputs: [String: [String: Data]] = [:]
        for variant in ["none", "gguf", "dat"] {
            var arguments: [String] = []
            if variant != "none" {
                let ours = "\(folder)/ours.\(variant)"
                try gguf.write(to: ours, format: variant == "gguf" ? .gguf : .dat)
                arguments = ["--imatrix", ours]
            }
            let out = "\(folder)/q4k-\(variant).gguf"
            let r = try LlamaCppTools.run("llama-quantize", arguments + [f32, out, "Q4_K", "2"])
            try #require(r.status == 0, "llama-quantize \(variant): \(r.output.suffix(600))")
            if variant != "none" { #expect(r.output.contains("loaded \(matrices.count) importance matrix entries"), "\(variant): \(r.output.suffix(1500))") }
            outputs[variant] = try tensors(out)
        }
        #expect(outputs["gguf"] != outputs["none"], "the importance matrix changed llama-quantize's choices")
        // ncall is 2 here, so the legacy file's mean × ncall ÷ ncall is exact: the same weights reach llama-quantize.
        #expect(outputs["gguf"] == outputs["dat"], "both formats carry the same weights to llama-quantize")
    }
}
