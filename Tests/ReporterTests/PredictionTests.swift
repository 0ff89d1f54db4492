import DeviceProbe
import Foundation
import Measures
@testable import Reporter
import ResultStore
import TestSupport
import Testing

/// Profiles and runs for the roofline predictor: a calibration machine with known ceilings, a target
/// with different ones, and runs whose speeds follow a known efficiency.
enum PredictionFixtures {
    static func profile(_ name: String, fingerprint: String, arch: String = "x86_64", features: [String] = ["avx2", "fma"],
                        cores: Int = 2, points: [(threads: Int, read: Double, fma: Double?)]) throws -> HardwareProfile {
        var p = try HardwareProfile.load(path: TestPaths.packageRoot.appendingPathComponent("profiles/hardware/raspberry-pi-5.json").path)
        p.name = name
        p.fingerprint = fingerprint
        p.cpu.architecture = arch
        p.cpu.physicalCores = cores
        p.cpu.logicalCPUs = cores
        p.isa.features = features
        p.measured = true
        p.bandwidth = .init(method: "test", kernelISA: "test", arrayBytes: nil, trials: nil, points: points.map { pt in
            .init(threads: pt.threads, cpus: Array(0..<pt.threads), readGBps: .init(best: pt.read, median: pt.read),
                  fmaGFLOPS: pt.fma.map { .init(best: $0, median: $0) })
        })
        return p
    }

    /// A run measured on `fingerprint`: decode reads `size` bytes per step (no KV figure), prefill does 2·params FLOPs per token.
    static func run(_ key: String, fingerprint: String, type: String = "q4_0", backend: String = "native", threads: Int, batch: Int = 1,
                    tg: Double, pp: Double, size: Int = 100_000_000, params: Int = 150_000_000, rss: Int? = 200_000_000) -> StoredRun {
        StoredRun(sweepId: "s", key: key, kind: .run, seq: 0, status: .ok, reason: nil,
                  config: RunConfig(model: "m", modelType: type, backend: backend, nThreads: threads, nSeq: batch, nPrompt: 64, nGen: 32,
                                    nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: size, modelNParams: params, synthetic: false),
                  avgTs: tg, stddevTs: nil, samplesTs: [tg], ppAvgTs: pp, tgAvgTs: tg, peakRssBytes: rss, predictedBytes: nil,
                  flags: [], finishedAt: "t", record: "{}", context: "{\"environment\":{\"fingerprint\":\"\(fingerprint)\"}}")
    }
}

@Suite("cross-device model")
struct CrossDeviceModelTests {
    typealias F = PredictionFixtures

    static let untied = ModelGeometry(name: "untied", parameters: 1_100_000_000, layers: 22, embedding: 2048, vocabulary: 32000,
                                   tiedEmbeddings: false, attentionWidth: 2048, kvWidth: 256)
    static let tied = ModelGeometry(name: "tied", parameters: 134_515_008, layers: 30, embedding: 576, vocabulary: 49152,
                                 tiedEmbeddings: true, attentionWidth: 576, kvWidth: 192)

    @Test func decodeBytesComeFromTheTensorListNotTheFileSize() {
        let file = 600_000_000
        let untied = TestCost(shape: Self.untied, type: "q4_0", threads: 1, prompt: 0, gen: 128, depth: 0, fileBytes: file)
        let perWeight = Double(file) / 1_100_000_000
        // One embedding row is read, not the 32000-row table; plus the F16 KV cache to the mean context (64).
        let expected = Double(file) - Double(32000 * 2048) * perWeight + 2048 * perWeight + 2 * 2 * Double(22 * 256) * 64
        #expect(abs(untied.decodeBytes - expected) < 1e-3)
        #expect(untied.decodeBytes < Double(file) * 0.95)
        // Tied: the table is the output head and is read whole.
        let tied = TestCost(shape: Self.tied, type: "q8_0", threads: 1, prompt: 0, gen: 128, depth: 0, fileBytes: 144_000_000)
        #expect(abs(tied.decodeBytes - (144_000_000 + 2 * 2 * Double(30 * 192) * 64)) < 1e-3)
        // Deeper context reads more KV cache; prefill skips the output head.
        var deep = tied
        deep.depth = 4096
        #expect(deep.decodeBytes > tied.decodeBytes + 2 * 2 * Double(30 * 192) * 4000)
        #expect(tied.prefillOps < tied.decodeOps)
        // A q8_0 or q4_0 cache reads its blocks' bytes, not f16's.
        for (kv, perElement) in [("q8_0", 34.0 / 32), ("q4_0", 18.0 / 32), ("f32", 4.0)] {
            var quantized = deep
            quantized.kvType = kv
            #expect(abs(quantized.decodeBytes - (deep.decodeBytes - (2 - perElement) * 2 * Double(30 * 192) * (4096 + 64))) < 1e-3, "\(kv)")
        }
        #expect(TypeCosts.family("q4_k_m") == "q4_k" && TypeCosts.kernel("q4_k_m") == .int8 && TypeCosts.kernel("f16") == .f16)
    }

    /// Measurements generated from known coefficients on three devices of different ceilings; decode
    /// combines its bandwidth and compute terms as (Bᵖ + Cᵖ)^(1/p) with p = `overlap`.
    static func synthetic(theta: (bytes: Double, layers: Double, q4: Double, q8: Double), overlap: Double = 1) throws
        -> ([DeviceMeasurement], [String: HardwareProfile]) {
        var rows: [DeviceMeasurement] = [], profiles: [String: HardwareProfile] = [:]
        for (i, (read, fma)) in [(10.0, 50.0), (30.0, 200.0), (5.0, 20.0)].enumerated() {
            let name = "d\(i)"
            var p = try F.profile(name, fingerprint: name, points: [(1, read, fma), (2, read * 1.6, fma * 2), (4, read * 2, fma * 4)])
            p.cpu.physicalCores = 4
            for point in p.bandwidth!.points.indices { p.bandwidth!.points[point].int8GOPS = .init(best: 4 * p.bandwidth!.points[point].fmaGFLOPS!.median, median: 4 * p.bandwidth!.points[point].fmaGFLOPS!.median) }
            profiles[name] = p
            for shape in [Self.tied, Self.untied] {
                for type in ["q4_0", "q8_0"] {
                    for threads in [1, 2, 4] {
                        let cost = TestCost(shape: shape, type: type, threads: threads, prompt: 0, gen: 128, depth: 0, fileBytes: nil)
                        let c = try #require(DeviceCeilings(p, threads: threads))
                        let ops = type == "q4_0" ? theta.q4 : theta.q8
                        let b = theta.bytes * cost.decodeBytes / (c.readGBps * 1e9), compute = ops * cost.decodeOps / (c.int8GOPS * 1e9)
                        let t = pow(pow(b, overlap) + pow(compute, overlap), 1 / overlap)
                            + theta.layers * Double(shape.layers) / (c.coreGFLOPS * 1e9) * 1e6
                        rows.append(DeviceMeasurement(device: name, workload: cost, phase: .decode, tps: 1 / t, source: "synthetic"))
                        var pp = cost
                        pp.prompt = 512; pp.gen = 0
                        let tp = ops * pp.prefillOps / (c.int8GOPS * 1e9) + theta.layers * Double(shape.layers) / (c.coreGFLOPS * 1e9) * 1e6
                        rows.append(DeviceMeasurement(device: name, workload: pp, phase: .prefill, tps: 1 / tp, source: "synthetic"))
                    }
                }
            }
        }
        return (rows, profiles)
    }

    @Test func theFitRecoversKnownCoefficientsAndPredictsALeftOutDevice() throws {
        let (rows, profiles) = try Self.synthetic(theta: (bytes: 1.4, layers: 0.8, q4: 3.0, q8: 2.0))
        let model = CrossDeviceModel(fit: rows, profiles: profiles)
        let fitted = Dictionary(uniqueKeysWithValues: zip(model.decode.names, model.decode.theta))
        #expect(abs(fitted["bytes"]! - 1.4) < 1e-4 && abs(fitted["ops:q4_0"]! - 3.0) < 1e-3 && abs(fitted["layers"]! - 0.8) < 1e-3, "\(fitted)")
        #expect(model.decode.overlap == 1, "terms that add are fitted as a sum")
        let validation = CrossDeviceValidation(rows, profiles: profiles)
        #expect(validation.devices == ["d0", "d1", "d2"])
        let decode = validation.summary(phase: .decode), prefill = validation.summary(phase: .prefill)
        #expect(decode.rows == 36 && (decode.p90 ?? 1) < 1e-3 && (prefill.p90 ?? 1) < 1e-3, "\(decode) \(prefill)")
        #expect(validation.markdown(profiles: profiles).contains("| d1 | x86_64/avx2 | 12 |"))
    }

    /// Bandwidth and compute that overlap (a smooth maximum, not a sum): the fit finds the overlap
    /// among its candidates and the coefficients, and predicts each left-out device; forcing the sum
    /// onto the same data cannot.
    @Test func overlappingBandwidthAndComputeAreFittedAsASmoothMaximum() throws {
        let (rows, profiles) = try Self.synthetic(theta: (bytes: 0.9, layers: 0.5, q4: 4.0, q8: 2.5), overlap: 4)
        let model = CrossDeviceModel(fit: rows, profiles: profiles)
        let fitted = Dictionary(uniqueKeysWithValues: zip(model.decode.names, model.decode.theta))
        #expect(model.decode.overlap == 4, "\(model.decode.overlap)")
        #expect(abs(fitted["bytes"]! - 0.9) < 1e-3 && abs(fitted["ops:q4_0"]! - 4.0) < 1e-3 && abs(fitted["ops:q8_0"]! - 2.5) < 1e-3
                    && abs(fitted["layers"]! - 0.5) < 1e-3, "\(fitted)")
        #expect(model.prefill.overlap == 1, "prefill has no bandwidth term")
        let decode = CrossDeviceValidation(rows, profiles: profiles).summary(phase: .decode)
        #expect((decode.p90 ?? 1) < 1e-3, "\(decode)")
        // The same rows fitted as a sum leave errors of percents, not of rounding.
        var a: [[Double]] = []
        for r in rows where r.phase == .decode {
            let c = try #require(DeviceCeilings(profiles[r.device]!, threads: r.workload.threads))
            a.append(CrossDeviceModel.columns(r.workload, c, phase: .decode, names: model.decode.names).map { $0 * r.tps })
        }
        let sum = CrossDeviceModel.fitTheta(a, names: model.decode.names, overlap: 1, start: nil)
        let worst = a.map { abs(CrossDeviceModel.seconds($0, theta: sum, names: model.decode.names, overlap: 1) - 1) }.max() ?? 0
        #expect(worst > 0.01, "\(worst)")
    }

    @Test func onlyWhatTheCorpusValidatesIsPredictedAndTheErrorIsTheCrossDeviceOne() throws {
        let (rows, profiles) = try Self.synthetic(theta: (bytes: 1.2, layers: 1, q4: 2.5, q8: 2))
        let local = F.run("here", fingerprint: "d0", backend: "llama.cpp", threads: 1, tg: 30, pp: 300)
        var native = local
        native.config.backend = "native"
        let predictor = Predictor(corpus: rows, corpusProfiles: profiles, measured: [local, native], localProfiles: [:],
                                  shapes: ["m": Self.tied])
        let arm = try F.profile("arm", fingerprint: "arm", arch: "aarch64", features: ["neon", "dotprod"], cores: 4, points: [(1, 8, 30), (4, 12, 120)])
        let configs = predictor.configurations(for: arm)
        #expect(Set(configs.map(\.nThreads)) == [1, 2, 4] && configs.allSatisfy { $0.backend == "llama.cpp" && $0.nPrompt == 512 && $0.nGen == 128 })
        let p = predictor.predict(configs[0], on: arm)
        #expect(p.decodeTps != nil && p.prefillTps != nil && p.decodeError == predictor.decodeError && p.prefillError == predictor.prefillError)
        #expect(p.notes.contains { $0.contains("aarch64/dotprod") && $0.contains("not measured") }, "\(p.notes)")
        #expect(p.peakRssBytes == 200_000_000)
        var other = configs[0]
        other.backend = "native"
        let n = predictor.predict(other, on: arm)
        #expect(n.decodeTps == nil && n.notes.contains { $0.contains("validated for llama.cpp only") })
        #expect(predictor.errorLabel.contains("leave-one-device-out") && predictor.unused.contains { $0.contains("no profile") })
        // As a stored entry it reads like a run, marked as a prediction with its error.
        let entry = p.entry(target: arm)
        #expect(entry.kind == .prediction && entry.environment("fingerprint") == "arm" && entry.summary[.tgErrorP90] != nil)
    }
}

@Suite("imported llama-bench results")
struct ImportedResultsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    @Test func llamaBenchJSONAndCSVBecomeLlamaCppRuns() throws {
        let json = try ImportedResults.read(Self.fixtures.appendingPathComponent("llama-bench-smollm2-q4_0.json"))
        #expect(json.count == 4)
        let tg = try #require(json.first { $0.config.nGen == 128 && $0.config.nThreads == 2 })
        #expect(tg.config.backend == "llama.cpp" && tg.config.modelType == "q4_0" && tg.config.nPrompt == 0)
        #expect(tg.tgAvgTs != nil && tg.ppAvgTs == nil && tg.config.modelNParams == 134_515_008)
        let pp = try #require(json.first { $0.config.nPrompt == 512 && $0.config.nThreads == 1 })
        #expect(pp.ppAvgTs != nil && pp.tgAvgTs == nil && pp.samplesTs.count == 3)
        let csv = try ImportedResults.read(Self.fixtures.appendingPathComponent("llama-bench-smollm2-q8_0.csv"))
        #expect(csv.count == 2 && csv.allSatisfy { $0.config.modelType == "q8_0" && $0.config.nThreads == 2 })
        #expect(Set(csv.map(\.config.nGen)) == [0, 16])
    }

    @Test(arguments: [("llama 1B Q4_K - Medium", "q4_k_m"), ("llama 8B IQ4_NL - 4.5 bpw", "iq4_nl"), ("gemma3 270M BF16", "bf16"),
                      ("qwen2 3B Q4_K_M", "q4_k_m"), ("llama 7B Q2_K - Small", "q2_k_s"), ("llama 7B Q2_K - Medium", "q2_k"),
                      ("qwen3 0.6B Q8_0", "q8_0"), ("llama 7B Q3_K - Large", "q3_k_l"), ("llama 7B IQ4_XS - 4.25 bpw", "iq4_xs")])
    func everyModelTypeLlamaBenchPrintsNamesItsType(modelType: String, type: String) {
        #expect(ImportedResults.tensorType(modelType: modelType) == type)
    }

    @Test func unknownTypesAreRefusedNamingTheRow() throws {
        #expect(ImportedResults.tensorType(modelType: "llama 1B Medium") == nil)
        let url = try TestPaths.temporaryDirectory().appendingPathComponent("odd.jsonl")
        try "{\"model_type\": \"llama 1B FANCY\", \"n_threads\": 4, \"n_prompt\": 512, \"n_gen\": 0, \"avg_ts\": 10}\n".write(to: url, atomically: true, encoding: .utf8)
        do { _ = try ImportedResults.read(url); Issue.record("an unknown type must be refused") } catch {
            #expect(error.description.contains("odd.jsonl") && error.description.contains("line 1") && error.description.contains("FANCY"), "\(error)")
        }
    }

    /// One file per format llama-bench writes (-o json, jsonl, csv with LF or CRLF, sql), with the
    /// same two tests; each reads to the same runs, and keeps n_depth, type_k, n_batch, n_ubatch, flash_attn.
    @Test func everyOutputFormatReadsToTheSameRuns() throws {
        let dir = try TestPaths.temporaryDirectory()
        let header = ["model_type", "model_size", "model_n_params", "n_batch", "n_ubatch", "n_threads", "type_k", "flash_attn", "n_prompt",
                      "n_gen", "n_depth", "avg_ts", "stddev_ts"]
        let rows: [[String]] = [["llama 1B Q4_K - Medium", "807690240", "1235814400", "2048", "512", "4", "q8_0", "1", "512", "0", "4096", "61.5", "0.4"],
                                ["llama 1B Q4_K - Medium", "807690240", "1235814400", "2048", "512", "4", "q8_0", "1", "0", "128", "4096", "11.25", "0.1"]]
        func jsonObject(_ r: [String]) -> String {
            let numeric: Set<String> = ["model_size", "model_n_params", "n_batch", "n_ubatch", "n_threads", "n_prompt", "n_gen", "n_depth", "avg_ts", "stddev_ts"]
            return "{" + zip(header, r).map { k, v in
                "\"\(k)\": " + (numeric.contains(k) ? v : k == "flash_attn" ? (v == "1" ? "true" : "false") : "\"\(v)\"")
            }.joined(separator: ", ") + "}"
        }
        let csv = ([header] + rows).map { $0.map { "\"\($0)\"" }.joined(separator: ",") }
        let sql = ["CREATE TABLE IF NOT EXISTS test (\n  model_type TEXT,\n  avg_ts REAL\n);"] + rows.map { r in
            "INSERT INTO test (\(header.joined(separator: ", "))) VALUES (" + zip(header, r).map { k, v in
                ["model_type", "type_k"].contains(k) ? "'\(v)'" : v
            }.joined(separator: ", ") + ");"
        }
        let files: [(String, String)] = [
            ("r.json", "[\n" + rows.map(jsonObject).joined(separator: ",\n") + "\n]\n"),
            ("r.jsonl", rows.map(jsonObject).joined(separator: "\n") + "\n"),
            ("r.csv", csv.joined(separator: "\n") + "\n"),
            ("crlf.csv", csv.joined(separator: "\r\n") + "\r\n"),
            ("r.sql", sql.joined(separator: "\n") + "\n"),
        ]
        for (name, text) in files {
            let url = dir.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            let runs = try ImportedResults.read(url)
            #expect(runs.count == 2, "\(name)")
            let tg = try #require(runs.first { $0.config.nGen == 128 }, "\(name)")
            #expect(tg.config.modelType == "q4_k_m" && tg.config.nDepth == 4096 && tg.config.kvType == "q8_0" && tg.tgAvgTs == 11.25, "\(name)")
            #expect(tg.environment("n_batch") == "2048" && tg.environment("n_ubatch") == "512" && tg.environment("flash_attn") != nil, "\(name)")
            #expect(runs.first { $0.config.nPrompt == 512 }?.ppAvgTs == 61.5, "\(name)")
        }
    }

    /// Swift reads "\r\n" as one Character, so splitting on "\n" alone left a CRLF file one line long.
    @Test func crlfFilesReadAsTheirLFForms() throws {
        let csv = try String(contentsOf: Self.fixtures.appendingPathComponent("llama-bench-smollm2-q8_0.csv"), encoding: .utf8)
        let json = try String(contentsOf: Self.fixtures.appendingPathComponent("llama-bench-smollm2-q4_0.json"), encoding: .utf8)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [Any])
        let jsonl = try rows.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }.joined(separator: "\n") + "\n"
        for (lf, name) in [(csv, "x.csv"), (jsonl, "x.jsonl")] {
            let crlf = lf.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
            let expected = try ImportedResults.read(data: Data(lf.utf8), path: name)
            let read = try ImportedResults.read(data: Data(crlf.utf8), path: name)
            #expect(read.map(\.config) == expected.map(\.config) && !read.isEmpty, "\(name)")
        }
    }

    @Test func countsAtTheEdgeAreErrorsNotTraps() throws {
        for (prompt, gen) in [(Int.max, 1), (1, Int.max), (Int.min, 0)] {
            let row = #"{"model_type": "llama Q4_0", "n_threads": 1, "n_prompt": \#(prompt), "n_gen": \#(gen), "avg_ts": 10}"#
            #expect(throws: ImportedResults.ImportError.self, "n_prompt \(prompt), n_gen \(gen)") {
                try ImportedResults.read(data: Data("[\(row)]".utf8), path: "edge.json")
            }
        }
    }

    @Test func malformedFilesAreNamedWithTheirPosition() throws {
        let dir = try TestPaths.temporaryDirectory()
        func attempt(_ name: String, _ text: String) -> String {
            let url = dir.appendingPathComponent(name)
            try? text.write(to: url, atomically: true, encoding: .utf8)
            do { _ = try ImportedResults.read(url); return "no error" } catch { return error.description }
        }
        let original = try String(contentsOf: Self.fixtures.appendingPathComponent("llama-bench-smollm2-q4_0.json"), encoding: .utf8)
        let missing = attempt("missing.json", original.replacingOccurrences(of: "\"avg_ts\": 259.021987,", with: ""))
        #expect(missing.contains("missing.json") && missing.contains("row 1") && missing.contains("avg_ts"), "\(missing)")
        let truncated = attempt("truncated.json", String(original.prefix(300)))
        #expect(truncated.contains("truncated.json"), "\(truncated)")
        let csv = try String(contentsOf: Self.fixtures.appendingPathComponent("llama-bench-smollm2-q8_0.csv"), encoding: .utf8)
        var lines = csv.split(separator: "\n").map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: "\"2\",\"0x0\"", with: "\"two\",\"0x0\"")
        let badThreads = attempt("bad.csv", lines.joined(separator: "\n"))
        #expect(badThreads.contains("bad.csv:3") && badThreads.contains("n_threads 'two'"), "\(badThreads)")
        let short = attempt("short.csv", lines[0] + "\n\"0c1e570\",\"1\"\n")
        #expect(short.contains("short.csv:2") && short.contains("fields"), "\(short)")
        let other = attempt("other.csv", "a,b,c\n1,2,3\n")
        #expect(other.contains("other.csv:1") && other.contains("not llama-bench output"), "\(other)")
    }
}
