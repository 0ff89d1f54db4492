import DeviceProbe
import Foundation
import Measures
import ModelFormat
import ResultStore
import Testing
import Worker
@testable import Workloads

@Suite("sweep spec and plan")
struct SweepSpecTests {
    func parse(_ text: String) throws(SpecError) -> SweepSpec { try SweepSpec.parse(text, file: "specs/t.yaml") }

    func specError(_ text: String) -> SpecError? {
        do { _ = try parse(text); return nil } catch { return error }
    }

    @Test func aTypeErrorNamesItsFileLineAndKey() throws {
        let error = try #require(specError("""
            name: t
            axes:
              model: [smollm2-135m]
              threads: [1, "two"]
            """))
        #expect(error.file == "specs/t.yaml")
        #expect(error.line == 4)
        #expect(error.key == "axes.threads[1]")
        #expect(error.description.contains("specs/t.yaml:4:") && error.description.contains("expected an integer, got \"two\""), "\(error)")
    }

    @Test func unknownKeysBadValuesAndSyntaxAreLocated() throws {
        let unknown = try #require(specError("axes:\n  model: [x.gguf]\nmeasurment:\n  warmup: 1\n"))
        #expect(unknown.line == 3 && unknown.description.contains("unknown key") && unknown.description.contains("measurement"), "\(unknown)")
        let type = try #require(specError("axes:\n  model: [x.gguf]\n  type: [q4_0, q9_9]\n"))
        #expect(type.line == 3 && type.key == "axes.type[1]" && type.message.contains("not a tensor type"), "\(type)")
        let placement = try #require(specError("axes:\n  model: [x.gguf]\n  placement: [spread, everywhere]\n"))
        #expect(placement.key == "axes.placement[1]", "\(placement)")
        let model = try #require(specError("axes:\n  model: [gpt-5]\n"))
        #expect(model.line == 2 && model.message.contains("not a known model"), "\(model)")
        let syntax = try #require(specError("axes:\n  model: [x.gguf\n  threads: 1\n"))
        #expect(syntax.line != nil && syntax.message.contains("YAML"), "\(syntax)")
        let reps = try #require(specError("axes:\n  model: [x.gguf]\nmeasurement:\n  min_repetitions: 5\n  max_repetitions: 2\n"))
        #expect(reps.line == 4 && reps.message.contains("max_repetitions"), "\(reps)")
        let missing = try #require(specError("name: t\n"))
        #expect(missing.message.contains("axes.model is required"))
    }

    @Test func aMemoryLimitTakesUnitsAndRefusesNonsense() throws {
        #expect(try parse("axes:\n  model: tiny\nmeasurement:\n  memory_limit: 512MiB\n").measurement.memoryLimitBytes == 512 << 20)
        #expect(try parse("axes:\n  model: tiny\nmeasurement:\n  memory_limit: 2GB\n").measurement.memoryLimitBytes == 2_000_000_000)
        #expect(try parse("axes:\n  model: tiny\n").measurement.memoryLimitBytes == nil)
        for bad in ["lots", "12KiB", "-1GiB"] {
            let e = try #require(specError("axes:\n  model: tiny\nmeasurement:\n  memory_limit: \(bad)\n"))
            #expect(e.line == 4 && e.key == "measurement.memory_limit" && e.message.contains("at least 1MiB"), "\(e)")
        }
    }

    @Test func sustainSetsEveryRunsDurationAndItsTimeout() throws {
        let spec = try parse("axes:\n  model: tiny\nmeasurement:\n  sustain: 10m\n  timeout: 60s\n")
        #expect(spec.measurement.sustainSeconds == 600)
        // The duration plus loading and the last repetition, not the 60 s timeout meant for one run.
        #expect(spec.measurement.workerTimeoutSeconds == 1500)
        #expect(try parse("axes:\n  model: tiny\n").measurement.workerTimeoutSeconds == 900)
        for bad in ["5s", "forever"] {
            let e = try #require(specError("axes:\n  model: tiny\nmeasurement:\n  sustain: \(bad)\n"))
            #expect(e.line == 4 && e.key == "measurement.sustain", "\(e)")
        }
        let external = try #require(specError("axes:\n  model: tiny\n  backend: [native, llama-bench]\nmeasurement:\n  sustain: 1m\n"))
        #expect(external.message.contains("measurement.sustain runs on the native and llama.cpp backends only") && external.message.contains("llama-bench"), "\(external)")
    }

    @Test func rangesListsAndUnitsExpand() throws {
        let spec = try parse("""
            axes:
              model: x.gguf
              threads: 1..4
              batch: {from: 1, to: 8, times: 2}
              prompt: {from: 0, to: 64, step: 32}
            measurement:
              target_ci: 1.5%
              timeout: 2m
              cooldown: 500ms
            """)
        #expect(spec.threads == [1, 2, 3, 4])
        #expect(spec.batches == [1, 2, 4, 8])
        #expect(spec.prompts == [0, 32, 64])
        #expect(spec.models == ["x.gguf"])
        #expect(abs(spec.measurement.targetHalfWidth - 0.015) < 1e-12)
        #expect(spec.measurement.timeoutSeconds == 120 && spec.measurement.cooldownSeconds == 0.5)
    }

    static let machine: HardwareProfile = {
        var p = HardwareProfile(name: "test", measured: false,
                                cpu: .init(vendor: "v", model: "m", architecture: "x86_64", packages: 1, physicalCores: 2,
                                           logicalCPUs: 4, threadsPerCore: 2),
                                caches: [], isa: .init(features: [], vectorWidthBits: 256, sveVectorBits: nil),
                                memory: .init(totalBytes: 1 << 30, availableBytes: 1 << 30, usableBytes: 1 << 30))
        p.topology = TopologyNode(type: "Machine", index: 0, children: [
            TopologyNode(type: "Core", index: 0, children: [TopologyNode(type: "PU", index: 0), TopologyNode(type: "PU", index: 2)]),
            TopologyNode(type: "Core", index: 1, children: [TopologyNode(type: "PU", index: 1), TopologyNode(type: "PU", index: 3)]),
        ])
        return p
    }()

    func plan(_ text: String) throws -> SweepPlan {
        try SweepPlan.make(try parse(text), profile: Self.machine) { reference in
            guard case let .synthetic(preset) = reference else { return ModelShape(preset: ArchitecturePreset.named("smollm2-135m")!) }
            return ModelShape(preset: preset)
        }
    }

    /// The kv axis: every cache type from the spec to the worker's RunSpec, the stored row and
    /// back out of SQLite; the memory prediction follows each type's bytes per element; a type
    /// the engines do not have is refused naming the file, line and key.
    @Test func theKVAxisRoundTripsThroughThePlanAndTheStore() throws {
        let p = try plan("axes:\n  model: smollm2-135m\n  type: q8_0\n  kv: [f16, Q8_0, q4_0, f32]\n  prompt: 0\n  gen: 32\n  depth: 4096\n")
        #expect(p.runs.map(\.point.kv) == ["f16", "q8_0", "q4_0", "f32"])
        #expect(p.runs.map(\.run.kvType) == [.f16, .q8_0, .q4_0, .f32])
        #expect(p.runs.allSatisfy { $0.run.depth == 4096 && $0.run.context >= 4096 + 32 })
        // The cache is the only thing that differs: predictions step by its bytes per element.
        let bytes = p.runs.map { Double($0.predictedBytes ?? 0) }
        let shape = ModelShape(preset: ArchitecturePreset.named("smollm2-135m")!)
        let perElement = 2 * Double(shape.layers * shape.kvHeads * shape.headDimension * p.runs[0].run.context)
        #expect(abs((bytes[0] - bytes[1]) - perElement * (2 - 34.0 / 32)) < 2, "f16 − q8_0: \(bytes)")
        #expect(abs((bytes[1] - bytes[2]) - perElement * (34.0 - 18) / 32) < 2, "q8_0 − q4_0: \(bytes)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kv-axis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SQLiteStore(path: dir.appendingPathComponent("r.sqlite").path)
        try store.saveSweep(SweepHeader(id: "kv", name: "kv", specFile: "t.yaml", specDigest: "d", specText: "", shard: nil,
                                        startedAt: "2026-12-04T00:00:00Z", hostname: "h", fingerprint: "f", planned: 4))
        let rows = p.runs.enumerated().map { i, planned in
            StoredRun(sweepId: "kv", key: planned.key, kind: .run, seq: i, status: .ok, reason: nil,
                      config: RunConfig(run: planned.run, backend: planned.point.backend, placement: planned.point.placement, model: nil),
                      avgTs: 10, stddevTs: 0, samplesTs: [10], ppAvgTs: nil, tgAvgTs: 10, peakRssBytes: nil, predictedBytes: planned.predictedBytes,
                      flags: [], finishedAt: "t", record: "{}", context: "{}")
        }
        #expect(try store.save(rows) == 4)
        let back = try store.runs(sweep: "kv")
        #expect(Set(back.map(\.config.kvType)) == ["f16", "q8_0", "q4_0", "f32"])
        #expect(try store.runs(sweep: "kv", where: ["kv_type": ["q4_0"]]).map(\.key) == [p.runs[2].key])
        let bad = try #require(specError("axes:\n  model: smollm2-135m\n  kv: [q8_0, q5_0]\n"))
        #expect(bad.line == 3 && bad.key == "axes.kv[1]" && bad.message.contains("f32, f16, q8_0 or q4_0"), "\(bad)")
        #expect(!bad.description.contains("\n") && bad.description.contains("specs/t.yaml:3"), "\(bad)")
    }

    /// `type` takes recipes and mix files (relative to the spec's folder, read with the spec);
    /// the plan's memory prediction counts each tensor in the type the mix gives it.
    @Test func typesTakeRecipesAndMixFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mix-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "base: q4_k\nattn_v=q8_0 ffn_down=q8_0\n".write(to: folder.appendingPathComponent("m.txt"), atomically: true, encoding: .utf8)
        try "base: q4_k\nattn_v\n".write(to: folder.appendingPathComponent("bad.txt"), atomically: true, encoding: .utf8)
        let specFile = folder.appendingPathComponent("s.yaml").path
        let spec = try SweepSpec.parse("axes:\n  model: smollm2-135m\n  type: [q4_k, Q4_K_M, recipe:q2_k, mix:m.txt]\n", file: specFile)
        #expect(spec.types == ["q4_k", "q4_k_m", "recipe:q2_k", "mix:" + folder.appendingPathComponent("m.txt").path])
        #expect { try SweepSpec.parse("axes:\n  model: smollm2-135m\n  type: [mix:bad.txt]\n", file: specFile) } throws: { error in
            "\(error)".contains("bad.txt:2")
        }
        let shape = ModelShape(preset: ArchitecturePreset.named("smollm2-135m")!)
        let uniform = try #require(shape.weightBytes(type: .q4_K))
        let recipe = try #require(shape.weightBytes(mix: QuantMix(name: "q4_k_m")))
        let mixed = try #require(shape.weightBytes(mix: QuantMix.load(mixFile: folder.appendingPathComponent("m.txt").path)))
        #expect(recipe > uniform && mixed > uniform, "q4_k \(uniform), q4_k_m \(recipe), mix \(mixed)")
        let p = try SweepPlan.make(spec, profile: Self.machine) { _ in shape }
        #expect(p.runs.first { $0.point.type == "q4_k_m" }?.predictedBytes ?? 0 > p.runs.first { $0.point.type == "q4_k" }?.predictedBytes ?? 0)
    }

    @Test func filtersMemoryAndPlacementDecideEachRun() throws {
        let p = try plan("""
            axes:
              model: [smollm2-135m, llama-3.2-1b]
              type: [q4_0, f16, lab4g32a]
              backend: [native, llama.cpp]
              threads: [1, 3]
              placement: [physical-only]
            include:
              - {model: smollm2-135m}
              - {type: f16}
            exclude:
              - {backend: native, threads: 3}
            """)
        // smollm2: 3 types × (native t1, llama.cpp t1, llama.cpp t3) = 9; llama-3.2-1b: f16 × 3 = 3.
        #expect(p.runs.count == 12)
        #expect(p.filtered == 2 * 3 * 2 * 2 - 12)
        let big = try #require(p.runs.first { $0.point.model == "llama-3.2-1b" && $0.point.backend == "native" })
        #expect(big.skip?.contains("does not fit") == true, "\(big.skip ?? "runs")") // ~2.5 GB of F16 weights in 1 GiB
        let lab = try #require(p.runs.first { $0.point.type == "lab4g32a" && $0.point.backend == "llama.cpp" })
        #expect(lab.skip?.contains("lab type") == true)
        let small = try #require(p.runs.first { $0.point.model == "smollm2-135m" && $0.point.type == "q4_0" && $0.point.backend == "native" })
        #expect(small.skip == nil && small.cpus == [0])
        // Three threads, one per physical core, on a 2-core machine cannot be placed (native backend rows).
        let spec = try parse("axes:\n  model: smollm2-135m\n  threads: [2, 3]\n  placement: [physical-only, spread, compact, '3,1']\n")
        let placed = try SweepPlan.make(spec, profile: Self.machine) { _ in ModelShape(preset: ArchitecturePreset.named("smollm2-135m")!) }
        func cpus(_ threads: Int, _ placement: String) -> [Int]? {
            placed.runs.first { $0.point.threads == threads && $0.point.placement == placement }.flatMap { $0.skip == nil ? $0.cpus : nil }
        }
        #expect(cpus(2, "physical-only") == [0, 1])
        #expect(cpus(3, "physical-only") == nil)
        #expect(cpus(3, "spread") == [0, 1, 2])
        #expect(cpus(2, "compact") == [0, 2])
        #expect(cpus(2, "3,1") == [3, 1])
        #expect(cpus(3, "3,1") == nil)
    }

    @Test func shardsPartitionThePlanExactly() throws {
        let p = try plan("""
            axes:
              model: [smollm2-135m]
              type: [q4_0, q8_0, f16]
              threads: 1..2
              batch: [1, 2, 4]
              prompt: [16, 32]
            """)
        #expect(p.runs.count == 36)
        for n in [1, 2, 3, 5] {
            let shards = (1...n).map { p.shard($0, of: n) }
            let keys = shards.flatMap { $0.map(\.key) }
            #expect(keys.count == p.runs.count, "n=\(n)")
            #expect(Set(keys) == Set(p.runs.map(\.key)), "n=\(n)")
            #expect(shards.allSatisfy { abs($0.count - p.runs.count / n) <= 1 }, "n=\(n): uneven shards")
        }
        // References come before the first run and after every `every` runs, with keys unique per shard.
        let order = p.executionOrder(runs: p.shard(2, of: 3), shardLabel: "2of3")
        let refs = order.filter { $0.kind == .reference }
        #expect(refs.count == 3 && order.first?.kind == .reference && order.last?.kind == .reference)
        #expect(Set(refs.map(\.key)).count == refs.count && refs.allSatisfy { $0.key.hasPrefix("ref|2of3|") })
    }

    @Test func driftMarksTheRunsBetweenADriftedReferenceAndTheOneBefore() throws {
        let p = try plan("axes:\n  model: smollm2-135m\n  threads: [1, 2]\n  batch: [1, 2]\nreference:\n  every: 2\n  drift: 5%\n")
        let order = p.executionOrder(runs: p.runs, shardLabel: nil)
        #expect(order.map(\.kind) == [.reference, .run, .run, .reference, .run, .run, .reference])
        // The journal in execution order: references with values, runs ok.
        func flagged(_ values: [Double]) -> Set<String> {
            var refIndex = 0
            let journal: [StoredRun] = order.map { item in
                if item.kind == .reference { refIndex += 1; return ResultStoreRun(item.key, values[refIndex - 1], kind: .reference).stored }
                return ResultStoreRun(item.key, 50, kind: .run).stored
            }
            return Drift.flags(journalOrder: journal, threshold: 0.05)
        }
        // The last reference is 10% below the median: it and the runs just before it.
        #expect(flagged([100, 101, 90]) == Set([order[4].key, order[5].key, order[6].key]))
        // An odd first reference marks only the runs after it, not the whole sweep.
        #expect(flagged([80, 100, 101]) == Set([order[0].key, order[1].key, order[2].key]))
        // A middle one marks both neighbourhoods; steady references mark nothing.
        #expect(flagged([100, 120, 101]) == Set(order.filter { $0.key != order[0].key && $0.key != order[6].key }.map(\.key)))
        #expect(flagged([100, 103, 98]).isEmpty)
    }
}

/// A stored reference result with a given throughput.
struct ResultStoreRun {
    let stored: StoredRun
    init(_ key: String, _ avg: Double, kind: EntryKind) {
        stored = StoredRun(sweepId: "s", key: key, kind: kind, seq: 0, status: .ok, reason: nil,
                           config: RunConfig(model: "m", modelType: "q4_0", backend: "native", nThreads: 1, nSeq: 1, nPrompt: 8, nGen: 8,
                                             nDepth: 0, kvType: "f16", placement: "none", cpus: [], modelSize: nil, modelNParams: nil,
                                             synthetic: false),
                           avgTs: avg, stddevTs: 0, samplesTs: [avg], ppAvgTs: nil, tgAvgTs: avg, peakRssBytes: nil, predictedBytes: nil,
                           flags: [], finishedAt: "t", record: "{}", context: "{}")
    }
}

@Suite("run spec on the wire")
struct RunSpecWireTests {
    @Test func everyFieldSurvivesTheProtocolsSnakeCase() throws {
        let spec = RunSpec(backend: .native, model: "/m.gguf", modelName: "m", type: "q4_0", threads: 2, batch: 4, promptTokens: 32,
                           genTokens: 16, kvType: .f16, warmup: 1, repetitions: 3, seed: 7, cpus: [1, 0], numa: .local, depth: 128,
                           maxRepetitions: 9, targetHalfWidth: 0.02)
        let wire = try ProtocolJSON.value(spec)
        #expect(try ProtocolJSON.read(RunSpec.self, from: wire) == spec)
    }
}
