import DeviceProbe
import Foundation
import TestSupport
import Testing

/// The `slmbench` executable as a user runs it: output streams, exit codes, files written.
@Suite("slmbench command line")
struct CLITests {
    func slmbench(_ args: String...) throws -> CommandResult {
        let binary = TestPaths.slmbenchExecutable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path),
                     "\(binary.path) is missing: build it with `swift build` (scripts/test.sh does)")
        return try runCommand(binary, args)
    }

    /// A legacy (.dat) importance matrix of one entry, built byte by byte as llama-imatrix lays it out.
    static func legacyImatrix(name: String, values: [Float], ncall: Int32) -> Data {
        var d = Data()
        func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        i32(1); i32(Int32(name.utf8.count)); d.append(contentsOf: Array(name.utf8)); i32(ncall); i32(Int32(values.count))
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        i32(3); i32(4); d.append(contentsOf: Array("t.txt".utf8.prefix(4)))
        return d
    }

    @Test func imatrixShowsConvertsAndChecksAgainstAModel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imatrix-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let dat = dir.appendingPathComponent("m.dat").path, gguf = dir.appendingPathComponent("m.gguf").path
        try Self.legacyImatrix(name: "blk.0.attn_q.weight", values: [Float](repeating: 2, count: 576), ncall: 2).write(to: URL(fileURLWithPath: dat))
        let shown = try slmbench("models", "imatrix", dat, "--convert", gguf)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("1 weight matrices, 576 channels") && shown.stdout.contains("chunks        3") && shown.stdout.contains("t.tx"), "\(shown.stdout)")
        let back = try slmbench("models", "imatrix", gguf)
        #expect(back.status == 0 && back.stdout.contains("1 weight matrices, 576 channels") && back.stdout.contains("counts        2 per entry"), "\(back.stdout)\(back.stderr)")
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        let fits = try slmbench("models", "imatrix", gguf, "--model", "smollm2-135m")
        #expect(fits.status == 0 && fits.stdout.contains("smollm2-135m: 209 block matrices have none"), "\(fits.stdout)\(fits.stderr)")
        try Self.legacyImatrix(name: "blk.0.attn_q.weight", values: [1, 2, 3], ncall: 1).write(to: URL(fileURLWithPath: dat))
        let wrong = try slmbench("models", "imatrix", dat, "--model", "smollm2-135m")
        #expect(wrong.status != 0 && wrong.stderr.contains("\(dat): blk.0.attn_q.weight: the importance matrix has 3 channels, the tensor 576"), "\(wrong.stderr)")
        let format = try slmbench("models", "imatrix", dat, "--format", "bin")
        #expect(format.status != 0 && format.stderr.contains("--format must be gguf or dat"), "\(format.stderr)")
        try Data([1, 0, 0, 0, 9]).write(to: URL(fileURLWithPath: dat))
        let broken = try slmbench("models", "imatrix", dat)
        #expect(broken.status != 0 && broken.stderr.contains("\(dat): truncated at byte 4"), "\(broken.stderr)")
    }

    /// `models quantize --imatrix` on a synthetic model: the matrix is read (legacy format), the
    /// tensors it covers are weighted and counted, the output records it; a broken file or a
    /// conflicting flag is one line naming it.
    @Test func quantizeWithAnImportanceMatrix() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imatrix-quantize-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("tiny.gguf").path, dat = dir.appendingPathComponent("m.dat").path
        let plain = dir.appendingPathComponent("plain.gguf").path, weighted = dir.appendingPathComponent("weighted.gguf").path
        let synth = try slmbench("models", "synth", "--preset", "tiny", "--type", "f32", "-o", model)
        try #require(synth.status == 0, "\(synth.stderr)")
        let inspect = try slmbench("models", "inspect", model, "--tensors", "--json")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any], "\(inspect.stderr)")
        let tensors = try #require(doc["tensors"] as? [[String: Any]])
        let q = try #require(tensors.first { ($0["name"] as? String) == "blk.0.attn_q.weight" })
        let columns = try #require((q["shape"] as? [Int])?.first)
        let values = (0..<columns).map { Float(1 + ($0 * 37) % 101) / 10 }
        try Self.legacyImatrix(name: "blk.0.attn_q.weight", values: values, ncall: 1).write(to: URL(fileURLWithPath: dat))
        let a = try slmbench("models", "quantize", model, "--to", "q4_0", "-o", plain)
        let b = try slmbench("models", "quantize", model, "--to", "q4_0", "--imatrix", dat, "-o", weighted)
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
        #expect(b.stderr.contains("weighted 1 tensors") && b.stderr.contains("without an entry quantized unweighted"), "\(b.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: plain)) != (try Data(contentsOf: URL(fileURLWithPath: weighted))))
        let shown = try slmbench("models", "inspect", weighted, "--json")
        #expect(shown.status == 0)
        try Data([1, 0, 0, 0, 9]).write(to: URL(fileURLWithPath: dat))
        let broken = try slmbench("models", "quantize", model, "--to", "q4_0", "--imatrix", dat, "-o", weighted)
        #expect(broken.status == 1 && broken.stderr.contains("\(dat): truncated at byte 4"), "\(broken.stderr)")
        #expect(broken.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "\(broken.stderr)")
        let missing = try slmbench("models", "quantize", model, "--to", "q4_0", "--imatrix", dir.appendingPathComponent("none.dat").path, "-o", weighted)
        #expect(missing.status == 1 && missing.stderr.contains("none.dat"), "\(missing.stderr)")
        let noOutput = try slmbench("models", "quantize", model, "--to", "q4_0", "--imatrix", dat)
        #expect(noOutput.status == 64 && noOutput.stderr.contains("-o/--output PATH"), "\(noOutput.stderr)")
        let both = try slmbench("models", "quantize", model, "--to", "q4_0", "--imatrix", dat, "--calibration", dat, "-o", weighted)
        #expect(both.status == 64 && both.stderr.contains("exclude each other"), "\(both.stderr)")
    }

    @Test func helpMatchesGolden() throws {
        let result = try slmbench("--help")
        #expect(result.status == 0)
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/help.txt")
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(result.stdout == expected, "help text changed; if intended, update Tests/CLITests/Golden/help.txt")
    }

    @Test func probeJSONIsOneDocumentOnStdout() throws {
        let result = try slmbench("probe", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let profile = try HardwareProfile.decode(Data(result.stdout.utf8), path: "stdout")
        #expect(profile.schemaVersion == HardwareProfile.currentSchemaVersion)
        #expect(profile.measured)
        #expect(profile.producer?.hasPrefix("slmbench ") == true)
    }

    @Test func probeSummaryShowsTopologyAndLimits() throws {
        let result = try slmbench("probe")
        #expect(result.status == 0)
        for heading in ["fingerprint", "CPU", "ISA", "Memory", "Limits", "Topology", "PU P#0"] {
            #expect(result.stdout.contains(heading), "summary lacks \(heading)")
        }
    }

    @Test func bandwidthIsMeasuredAndSaved() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sub/host.json").path
        let result = try slmbench("probe", "--bandwidth", "--threads", "1", "--array-mib", "4", "--trials", "1", "--save", path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("read GB/s"))
        #if DEBUG
        #expect(result.stderr.contains("debug build"))
        #else
        #expect(!result.stderr.contains("debug build"))
        #endif
        let saved = try HardwareProfile.load(path: path)
        let point = try #require(saved.bandwidth?.points.first)
        #expect(point.threads == 1)
        #expect((point.readGBps?.best ?? 0) > 0)
    }

    @Test func validateReportsTheBrokenField() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.json")
        try Data(#"{"schemaVersion": 1, "name": "x", "measured": "yes"}"#.utf8).write(to: bad)
        let good = TestPaths.packageRoot.appendingPathComponent("profiles/hardware/raspberry-pi-5.json").path
        let result = try slmbench("probe", "--validate", good, bad.path)
        #expect(result.status == 1)
        #expect(result.stdout.contains("ok  \(good)"))
        #expect(result.stdout.contains("\(bad.path): field 'measured'"))
    }

    @Test func modelsTokenizeAndInspect() throws {
        let tokens = try slmbench("models", "tokenize", "smollm2-135m", "--text", "in 2024", "--json")
        try #require(tokens.status == 0, "\(tokens.stderr) (the real model: run scripts/bootstrap.sh or `slmbench models fetch smollm2-135m`)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(tokens.stdout.utf8)) as? [String: Any])
        #expect(doc["pieces"] as? [String] == ["in", " ", "2", "0", "2", "4"])
        let inspect = try slmbench("models", "inspect", "smollm2-135m", "--json")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        #expect(summary["parameters"] as? Int == 134_515_008)
        #expect(summary["layers"] as? Int == 30)
        let missing = try slmbench("models", "inspect", "/nonexistent.gguf")
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent.gguf"))
        let badType = try slmbench("models", "quantize", "smollm2-135m", "--to", "q9_9", "-o", "/tmp/x.gguf")
        #expect(badType.status == 64 && badType.stderr.contains("q9_9"))
        let badMethod = try slmbench("models", "quantize", "smollm2-135m", "--to", "q4_0", "--method", "gptx", "-o", "/tmp/x.gguf")
        #expect(badMethod.status == 64 && badMethod.stderr.contains("--method must be rtn, imatrix, gptq, awq, smoothquant, got 'gptx'"))
        let noText = try slmbench("models", "quantize", "smollm2-135m", "--to", "q4_0", "--method", "gptq", "-o", "/tmp/x.gguf")
        #expect(noText.status == 64 && noText.stderr.contains("--method gptq needs --calibration TEXT"))
        let badText = try slmbench("models", "quantize", "smollm2-135m", "--to", "q4_0", "--method", "gptq", "--calibration", "/nonexistent.txt", "-o", "/tmp/x.gguf")
        #expect(badText.status == 64 && badText.stderr.contains("--calibration: cannot read /nonexistent.txt"))
    }

    @Test func smoothQuantAndActivationOptionsAreCheckedWithOneLineErrors() throws {
        let cases: [([String], String)] = [
            (["--method", "smoothquant", "-o", "/tmp/x.gguf"], "--calibration"),
            (["--method", "smoothquant", "--calibration", "/etc/hostname", "-o", "/tmp/x.gguf", "--alpha", "1.5"], "--alpha"),
            (["--method", "smoothquant", "--calibration", "/etc/hostname", "-o", "/tmp/x.gguf", "--alpha", "x"], "--alpha"),
            (["--method", "smoothquant", "--calibration", "/etc/hostname"], "--output"),
            (["--method", "awq", "-o", "/tmp/x.gguf"], "--method awq needs --calibration TEXT"),
            (["--method", "awq", "--calibration", "/nonexistent.txt", "-o", "/tmp/x.gguf"], "--calibration: cannot read /nonexistent.txt"),
            (["--method", "awq", "--calibration", "/etc/hostname", "-o", "/tmp/x.gguf", "--alpha", "0.5"], "--alpha belongs to --method smoothquant"),
            (["--method", "magic"], "--method"),
            (["--alpha", "0.5"], "--method smoothquant"),
        ]
        for (extra, flag) in cases {
            let r = try runCommand(TestPaths.slmbenchExecutable, ["models", "quantize", "smollm2-135m", "--to", "lab8grows"] + extra)
            #expect(r.status == 64 && r.stderr.contains(flag), "\(extra): exit \(r.status), \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error") }.count == 1, "\(extra): \(r.stderr)")
        }
        let missing = try slmbench("models", "quantize", "smollm2-135m", "--to", "lab8grows", "--method", "smoothquant",
                                   "--calibration", "/nonexistent.txt", "-o", "/tmp/x.gguf")
        #expect(missing.status == 64 && missing.stderr.contains("/nonexistent.txt"), "\(missing.stderr)")
        let llama = try slmbench("quality", "--model", "smollm2-135m", "--act-quant", "per-token", "--backend", "llama.cpp")
        #expect(llama.status == 64 && llama.stderr.contains("--act-quant"), "\(llama.stderr)")
        let badMode = try slmbench("quality", "--model", "smollm2-135m", "--act-quant", "per-row")
        #expect(badMode.status == 64 && badMode.stderr.contains("--act-quant"), "\(badMode.stderr)")
        let noFile = try slmbench("quality", "--model", "smollm2-135m", "--type", "/nonexistent.gguf")
        #expect(noFile.status == 1 && noFile.stderr.contains("/nonexistent.gguf"), "\(noFile.stderr)")
    }

    @Test func usageErrorsExit64() throws {
        for args in [["probe", "--threads", "x", "--bandwidth"], ["probe", "--trials", "0"], ["probe", "--threads", "2"],
                     ["probe", "stray-argument"], ["no-such-command"]] {
            let result = try runCommand(TestPaths.slmbenchExecutable, args)
            #expect(result.status == 64, "\(args) exited \(result.status): \(result.stderr)")
        }
    }

    @Test func unavailableThreadCountIsAClearFailure() throws {
        let result = try slmbench("probe", "--bandwidth", "--threads", "4096", "--array-mib", "4")
        #expect(result.status == 1)
        #expect(result.stderr.contains("thread count 4096"))
    }
}
