import DeviceProbe
import Foundation
import Reporter
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
        StoredRun(sweepId: "s", key: key, kind: "run", seq: 0, status: "ok", reason: nil,
                  config: RunConfig(model: "m", modelType: type, backend: backend, nThreads: threads, nSeq: batch, nPrompt: 64, nGen: 32,
                                    nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: size, modelNParams: params, synthetic: false),
                  avgTs: tg, stddevTs: nil, samplesTs: [tg], ppAvgTs: pp, tgAvgTs: tg, peakRssBytes: rss, predictedBytes: nil,
                  flags: [], finishedAt: "t", record: "{}", context: "{\"environment\":{\"fingerprint\":\"\(fingerprint)\"}}")
    }
}

@Suite("roofline predictor")
struct PredictionTests {
    typealias F = PredictionFixtures

    @Test func efficienciesAreFittedAndScaleWithTheTargetsCeilings() throws {
        // Here: 10 GB/s and 100 GFLOP/s at 1 thread, 16 GB/s and 200 at 2. Runs at 50% of the decode bound, 40% of prefill.
        let here = try F.profile("here", fingerprint: "aaaa", points: [(1, 10, 100), (2, 16, 200)])
        let decode1 = 0.5 * 10e9 / 100e6, decode2 = 0.5 * 16e9 / 100e6     // 50 and 80 t/s
        let prefill1 = 0.4 * 100e9 / 300e6, prefill2 = 0.4 * 200e9 / 300e6 // 133 and 267 t/s
        let runs = [F.run("a", fingerprint: "aaaa", threads: 1, tg: decode1, pp: prefill1),
                    F.run("b", fingerprint: "aaaa", threads: 2, tg: decode2, pp: prefill2),
                    F.run("c", fingerprint: "aaaa", threads: 1, tg: decode1 * 1.1, pp: prefill1 * 0.9),
                    F.run("unknown machine", fingerprint: "zzzz", threads: 1, tg: 1, pp: 1)]
        let calibration = Calibration(entries: runs, profiles: ["aaaa": here])
        #expect(calibration.samples.count == 6)
        #expect(calibration.unused.count == 1 && calibration.unused[0].contains("zzzz"))
        let groups = Dictionary(uniqueKeysWithValues: calibration.groups().map { ($0.key, $0) })
        #expect(abs(try #require(groups["decode native q4_0"]).efficiency - 0.5) < 1e-9)
        #expect(abs(try #require(groups["prefill native q4_0"]).efficiency - 0.4) < 1e-9)
        // Leaving out the 10%-fast run predicts it 10% slow: -1/11 relative error.
        let c = try #require(calibration.samples.first { $0.run.key == "c" && $0.phase == .decode })
        #expect(abs(try #require(c.leaveOneOutError) - (1 / 1.1 - 1)) < 1e-9)

        // A target with twice the bandwidth and a quarter of the compute per core, four cores, ARM.
        let there = try F.profile("there", fingerprint: "bbbb", arch: "aarch64", features: ["neon", "dotprod"], cores: 4, points: [(1, 20, 25)])
        let predictor = Predictor(calibration: calibration)
        var config = runs[0].config
        config.nThreads = 4
        let p = predictor.predict(config, on: there)
        // Bandwidth is flat above the widest point (20 GB/s); compute scales with cores (4 × 25).
        #expect(abs(try #require(p.decodeTps) - 0.5 * 20e9 / 100e6) < 1e-6)
        #expect(abs(try #require(p.prefillTps) - 0.4 * 100e9 / 300e6) < 1e-6)
        let ttft = try #require(p.ttftMs)
        #expect(abs(ttft - (64 / p.prefillTps! * 1000 + 1000 / p.decodeTps!)) < 1e-6)
        #expect(p.peakRssBytes == 200_000_000)
        #expect(try #require(p.decodeError) > 0)
        #expect(p.notes.contains { $0.contains("calibrated on x86_64/avx2 only") })
        #expect(p.notes.contains { $0.contains("assumed flat to 4") })
        // Thread counts offered on a 4-core target: 1, 2, 4.
        #expect(Set(predictor.configurations(for: there).map(\.nThreads)) == [1, 2, 4])
        // As a stored entry it reads like a run, marked as a prediction with its error.
        let entry = p.entry(target: there)
        #expect(entry.kind == "prediction" && entry.environment("fingerprint") == "bbbb" && entry.summary["tg_error_p90"] != nil)
    }

    @Test func percentOfRooflineUsesTheBandwidthAtTheRunsThreadCount() throws {
        let here = try F.profile("here", fingerprint: "aaaa", points: [(1, 10, 100), (2, 16, 200)])
        // 100 MB per step at 40 steps/s = 4 GB/s: 40% of 10 GB/s; at batch 4, 160 t/s is still 40 steps/s.
        let one = F.run("a", fingerprint: "aaaa", threads: 1, tg: 40, pp: 100)
        let batched = F.run("b", fingerprint: "aaaa", threads: 2, batch: 4, tg: 160, pp: 100)
        #expect(abs(try #require(Roofline.percent(one, on: here)) - 40) < 1e-9)
        #expect(abs(try #require(Roofline.percent(batched, on: here)) - 25) < 1e-9)
        var unmeasured = here
        unmeasured.bandwidth = nil
        #expect(Roofline.percent(one, on: unmeasured) == nil)
        #expect(ResultsTable.markdown([one, batched], profile: here).contains("| 40% |"))
        #expect(!ResultsTable.markdown([one, batched]).contains("% roofline"))
    }

    @Test func aBackendOrTypeWithoutCalibrationFallsBackToCoarserGroups() throws {
        let here = try F.profile("here", fingerprint: "aaaa", points: [(1, 10, 100)])
        let runs = [F.run("a", fingerprint: "aaaa", type: "q8_0", threads: 1, tg: 40, pp: 100),
                    F.run("b", fingerprint: "aaaa", type: "q4_0", threads: 1, tg: 60, pp: 150)]
        let predictor = Predictor(calibration: Calibration(entries: runs, profiles: ["aaaa": here]))
        var config = runs[0].config
        config.modelType = "q5_1"
        let p = predictor.predict(config, on: here)
        #expect(p.decodeTps != nil)
        #expect(p.notes.contains { $0.contains("(native|*)") }, "\(p.notes)")
        config.backend = "other"
        #expect(predictor.predict(config, on: here).notes.contains { $0.contains("(*)") })
    }

    @Test func validationReportsEachErrorAndTheMedian() throws {
        let here = try F.profile("here", fingerprint: "aaaa", points: [(1, 10, 100), (2, 16, 200)])
        let calibration = Calibration(entries: [F.run("a", fingerprint: "aaaa", backend: "llama.cpp", threads: 1, tg: 50, pp: 100)],
                                      profiles: ["aaaa": here])
        // A measurement 10% faster in decode and 20% faster in prefill than the calibration says.
        let m1 = F.run("m1", fingerprint: "aaaa", backend: "llama.cpp", threads: 1, tg: 55, pp: 120)
        let v = PredictionValidation(measured: [m1], target: here, predictor: Predictor(calibration: calibration))
        let errors = v.rows.compactMap(\.error).sorted()
        #expect(errors.count == 2)
        #expect(abs(errors[0] - (100.0 / 120 - 1)) < 1e-9 && abs(errors[1] - (50.0 / 55 - 1)) < 1e-9)
        #expect(abs(try #require(v.medianAbsError()) - (abs(errors[0]) + abs(errors[1])) / 2) < 1e-12)
        #expect(v.markdown().contains("median absolute error on here"))
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

    @Test func countsAtTheEdgeAreErrorsNotTraps() throws {
        for (prompt, gen) in [(Int.max, 1), (1, Int.max), (Int.min, 0)] {
            let row = #"{"model_type": "llama Q4_0", "n_threads": 1, "n_prompt": \#(prompt), "n_gen": \#(gen), "avg_ts": 10}"#
            #expect(throws: ImportedResults.ImportError.self, "n_prompt \(prompt), n_gen \(gen)") {
                try ImportedResults.read(data: Data("[\(row)]".utf8), path: "edge.json")
            }
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
}
