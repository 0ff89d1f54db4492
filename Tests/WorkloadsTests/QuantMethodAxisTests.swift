import Foundation
import ModelFormat
import ResultStore
import TestSupport
import Testing
import Worker
@testable import Workloads

/// The quant_method axis and the calibration text: parsed with errors naming the field, crossed
/// into the plan, carried by the RunSpec into the stored configuration.
extension SweepSpecTests {
    @Test func quantMethodIsAnAxisAndCalibrationIsRecorded() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("qm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "A calibration text, not the evaluation one.\n".write(to: folder.appendingPathComponent("calib.txt"), atomically: true, encoding: .utf8)
        let specFile = folder.appendingPathComponent("s.yaml").path
        let spec = try SweepSpec.parse("axes:\n  model: smollm2-135m\n  type: q4_k\n  quant_method: [rtn, GPTQ]\ncalibration: calib.txt\nquality: true\n", file: specFile)
        #expect(spec.quantMethods == ["rtn", "gptq"])
        #expect(spec.calibration == folder.appendingPathComponent("calib.txt").path)
        let p = try SweepPlan.make(spec, profile: Self.machine) { _ in ModelShape(preset: ArchitecturePreset.named("smollm2-135m")!) }
        #expect(p.runs.map(\.point.method) == ["rtn", "gptq"])
        // rtn keeps the key sweeps had before the axis (so --resume of an old folder still matches).
        #expect(!p.runs[0].key.contains("|m-") && p.runs[1].key.hasSuffix("|m-gptq"), "\(p.runs.map(\.key))")
        #expect(p.runs[0].run.quantMethod == nil && p.runs[0].run.calibration == nil)
        #expect(p.runs[1].run.quantMethod == "gptq" && p.runs[1].run.calibration == spec.calibration)
        let config = RunConfig(run: p.runs[1].run, backend: "native", placement: "none", model: nil)
        #expect(config.quantMethod == "gptq" && config.calibration == spec.calibration && config.method == "gptq")
        // Stored and read back: the fields survive the journal's JSON, and an entry without them reads as rtn.
        let encoded = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(RunConfig.self, from: encoded) == config)
        var old = try #require(JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        old["quant_method"] = nil; old["calibration"] = nil
        let legacy = try JSONDecoder().decode(RunConfig.self, from: JSONSerialization.data(withJSONObject: old))
        #expect(legacy.quantMethod == nil && legacy.method == "rtn")
        // One quality evaluation per method; a filter on the axis removes the calibrated points.
        #expect(p.quality.map(\.key) == ["quality|smollm2-135m", "quality|smollm2-135m|m-gptq"])
        let filtered = try SweepPlan.make(try SweepSpec.parse("axes:\n  model: smollm2-135m\n  type: q4_k\n  quant_method: [rtn, awq]\nexclude:\n  - {quant_method: AWQ}\nquality: true\n", file: specFile),
                                          profile: Self.machine) { _ in ModelShape(preset: ArchitecturePreset.named("smollm2-135m")!) }
        #expect(filtered.runs.map(\.point.method) == ["rtn"] && filtered.filtered == 1)
        #expect(filtered.quality.map(\.key) == ["quality|smollm2-135m"], "no evaluation for a method the filters removed")
        // Without calibration: the default text is the one recorded.
        let defaulted = try plan("axes:\n  model: smollm2-135m\n  type: q4_k\n  quant_method: imatrix\n")
        #expect(defaulted.runs[0].run.calibration == Corpus.calibrationPath)
    }

    /// An include that lists a method's types limits that method's quality evaluation to them, and
    /// a mix in a filter is named as the axis names it (relative to the spec's folder).
    @Test func filtersChooseEachMethodsEvaluatedTypesAndMatchMixFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("qm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("mixes"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "base: q4_0\n^token_embd\\.weight$=q8_0\n".write(to: folder.appendingPathComponent("mixes/m.txt"), atomically: true, encoding: .utf8)
        let specFile = folder.appendingPathComponent("s.yaml").path
        let spec = try SweepSpec.parse("""
            axes:
              model: smollm2-135m
              type: [q2_k, iq4_nl, mix:mixes/m.txt]
              quant_method: [rtn, gptq]
            include:
              - {quant_method: rtn}
              - {quant_method: gptq, type: [q2_k, mix:mixes/m.txt]}
            quality: true
            """, file: specFile)
        let p = try SweepPlan.make(spec, profile: Self.machine) { _ in ModelShape(preset: ArchitecturePreset.named("smollm2-135m")!) }
        let mix = "mix:" + folder.appendingPathComponent("mixes/m.txt").standardized.path
        #expect(p.runs.filter { $0.point.method == "gptq" }.map(\.point.type) == ["q2_k", mix])
        #expect(p.quality.map(\.point.type) == ["q2_k,iq4_nl,\(mix)", "q2_k,\(mix)"])
    }

    @Test func quantMethodAndCalibrationErrorsNameTheField() throws {
        let method = try #require(specError("axes:\n  model: smollm2-135m\n  quant_method: [rtn, hqq]\n"))
        #expect(method.line == 3 && method.key == "axes.quant_method[1]" && method.message.contains("not a quantization method")
                && method.message.contains("smoothquant"), "\(method)")
        let missing = try #require(specError("axes:\n  model: smollm2-135m\ncalibration: /no/such/text.txt\n"))
        #expect(missing.line == 3 && missing.key == "calibration" && missing.message.contains("/no/such/text.txt"), "\(missing)")
        let empty = try #require(specError("axes:\n  model: smollm2-135m\ncalibration: \"\"\n"))
        #expect(empty.key == "calibration", "\(empty)")
        #expect(!missing.description.contains("\n") && !method.description.contains("\n"))
    }

    /// Every method of the axis makes its file: AWQ's (the last one built) on a tiny synthetic
    /// model with the real tokenizer says how it was made, and the cache reuses it.
    @Test func awqMakesItsFileThroughTheAxisEntryPoint() throws {
        let tokenizer = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("awq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("tiny-f32.gguf")
        try SyntheticModel.generate(preset: ArchitecturePreset.named("tiny")!, type: .f32, seed: 5, tokenizer: tokenizer, output: source.path)
        let text = folder.appendingPathComponent("calibration.txt")
        try String(repeating: "Activation-aware scales are searched on a calibration text apart from the evaluation one. ", count: 12)
            .write(to: text, atomically: true, encoding: .utf8)
        let cache = ModelCache(root: folder.appendingPathComponent("cache"))
        let made = try QuantizedFiles.makeFile(source: source, mix: QuantMix(type: .q4_0), method: .awq, calibration: text.path, cache: cache)
        let file = try GGUFFile(path: made.path)
        #expect(file.metadata.first { $0.key == ModelQuantizer.methodKey }?.value == .string("awq"))
        #expect(file.metadata.first { $0.key == ModelQuantizer.calibrationKey }?.value == .string("calibration.txt"))
        let alphas = try #require(file.metadata.first { $0.key == "slmbench.quant.awq.alphas" }?.value.array)
        #expect(alphas.count == 4 * ArchitecturePreset.named("tiny")!.layers, "one α per group of matrices sharing an input")
        #expect(file.tensors.first { $0.name == "blk.0.attn_q.weight" }?.type == .q4_0)
        #expect(try QuantizedFiles.makeFile(source: source, mix: QuantMix(type: .q4_0), method: .awq, calibration: text.path, cache: cache) == made)
        // The cache name keeps rtn's files and separates calibration texts.
        let mix = QuantMix(type: .q4_K)
        #expect(QuantizedFiles.cacheName(mix: mix, method: .rtn, calibrationText: "a") == mix.cacheName)
        #expect(QuantizedFiles.cacheName(mix: mix, method: .gptq, calibrationText: "a")
                != QuantizedFiles.cacheName(mix: mix, method: .gptq, calibrationText: "b"))
        // A sweep's GPTQ compensates the (tied) output head too: its embedding is not round to nearest's.
        let gptq = try GGUFFile(path: try QuantizedFiles.makeFile(source: source, mix: QuantMix(type: .q4_0), method: .gptq,
                                                                   calibration: text.path, cache: cache).path)
        let rtn = try GGUFFile(path: try QuantizedFiles.makeFile(source: source, mix: QuantMix(type: .q4_0), method: .rtn,
                                                                  calibration: nil, cache: cache).path)
        let head = try #require(gptq.tensor(named: "token_embd.weight")), plain = try #require(rtn.tensor(named: "token_embd.weight"))
        #expect(gptq.tensor(named: "output.weight") == nil && head.type == .q4_0 && plain.type == .q4_0)
        #expect(Array(gptq.data(for: head)) != Array(rtn.data(for: plain)), "GPTQ left the tied head as round to nearest made it")
    }
}
