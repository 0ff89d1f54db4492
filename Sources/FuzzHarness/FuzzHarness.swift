import Backends
import DeviceProbe
import Engine
import Foundation
import ModelFormat
import Reporter
import ResultStore
import Worker
import Workloads

/// What the fuzzers (scripts/check/fuzz.sh) feed untrusted bytes to, and what the tests replay every
/// seed and every saved finding through (WorkloadsTests/FuzzReplayTests). Each entry point must
/// return — an error is a fine answer; a crash, a hang or an unbounded allocation is a bug. It
/// returns whether the input was accepted all the way (the seeds made in code must be).
public enum FuzzHarness {
    /// Every target, by the name scripts/check/fuzz.sh and the regression folders use.
    public static let targets = ["gguf", "sweep-spec", "engine-load", "sweep-plan", "journal", "llama-bench", "worker-protocol"]

    /// The entry point by name, for the fuzz executables and the tests.
    public static func named(_ name: String) -> (([UInt8]) -> Bool)? {
        switch name {
        case "gguf": return gguf
        case "sweep-spec": return sweepSpec
        case "engine-load": return engineLoad
        case "sweep-plan": return sweepPlan
        case "journal": return journal
        case "llama-bench": return llamaBench
        case "worker-protocol": return workerProtocol
        default: return nil
        }
    }

    /// Bytes as a GGUF file, then what `slmbench models inspect` and a backend's loader read: the
    /// summary, the tokenizer, and the first row of the first tensors, dequantized.
    @discardableResult
    public static func gguf(_ bytes: [UInt8]) -> Bool {
        guard let file = try? GGUFFile(bytes: bytes, name: "fuzz.gguf") else { return false }
        _ = ModelSummary(file: file)
        _ = try? Tokenizer(file: file)
        for tensor in file.tensors.prefix(8) {
            let n = tensor.rowLength
            guard n > 0, n <= 1 << 20, Quantization.canDequantize(tensor.type), let rowBytes = tensor.type.rowBytes(n),
                  rowBytes <= tensor.byteCount else { continue }
            let data = file.data(for: tensor)
            var out = [Float](repeating: 0, count: n)
            out.withUnsafeMutableBufferPointer { buffer in
                _ = try? Quantization.dequantize(UnsafeRawBufferPointer(rebasing: data[0..<rowBytes]), type: tensor.type, into: buffer)
            }
        }
        return true
    }

    /// Bytes as a sweep spec (YAML).
    @discardableResult
    public static func sweepSpec(_ bytes: [UInt8]) -> Bool {
        guard let text = String(validating: bytes, as: UTF8.self) else { return false }
        return (try? SweepSpec.parse(text, file: "fuzz.yaml")) != nil
    }

    /// Bytes as a model file, loaded as the native engine loads one — hyperparameters from the
    /// metadata, every tensor's shape checked, Q4_0 matrices packed — without a forward pass.
    @discardableResult
    public static func engineLoad(_ bytes: [UInt8]) -> Bool {
        guard let file = try? GGUFFile(bytes: bytes, name: "fuzz.gguf"), let weights = try? ModelWeights(file: file) else { return false }
        _ = weights.weightBytes
        _ = weights.decodeBytesPerToken
        return true
    }

    /// Bytes as a sweep spec, expanded into its plan on a fixed two-core machine with the
    /// presets' shapes (a model file named in the spec counts as missing), then into the
    /// execution order of the whole plan and of a shard, and each entry into the worker's run.
    @discardableResult
    public static func sweepPlan(_ bytes: [UInt8]) -> Bool {
        guard let text = String(validating: bytes, as: UTF8.self), let spec = try? SweepSpec.parse(text, file: "fuzz.yaml"),
              let plan = try? SweepPlan.make(spec, profile: machine, shape: presetShape) else { return false }
        for entry in plan.executionOrder(runs: plan.runs, shardLabel: nil) + plan.executionOrder(runs: plan.shard(2, of: 3), shardLabel: "2of3") {
            var run = entry.run
            run.model = "fuzz.gguf"
            if run.problems().isEmpty { _ = run.loadOptions }
            _ = RunConfig(run: run, backend: entry.point.backend, placement: entry.point.placement, model: nil)
        }
        return !plan.runs.isEmpty
    }

    /// Bytes as a sweep's journal, read as `--resume` and `slmbench report` read one: the
    /// entries, drift flags from the references, the results table and the CSV and JSON exports.
    @discardableResult
    public static func journal(_ bytes: [UInt8]) -> Bool {
        var read = false
        for tolerant in [true, false] {
            guard let runs = try? Journal.read(bytes: bytes, path: "fuzz/journal.jsonl", tolerateTornTail: tolerant).0 else { continue }
            _ = Drift.flags(journalOrder: runs, threshold: 0.05)
            _ = ResultsTable.markdown(runs)
            _ = ResultsExport.csv(runs)
            _ = try? ResultsExport.json(runs, full: true)
            read = read || !runs.isEmpty
        }
        return read
    }

    /// Bytes as llama-bench output (JSON, JSONL or CSV), imported as `predict --validate` does.
    @discardableResult
    public static func llamaBench(_ bytes: [UInt8]) -> Bool {
        guard let runs = try? ImportedResults.read(data: Data(bytes), path: "fuzz.json") else { return false }
        _ = ResultsTable.markdown(runs)
        return true
    }

    /// Bytes as worker protocol lines, read from both ends: the first line as the request a
    /// worker reads (down to the run it would start), and every line as a worker's output the
    /// parent reads (down to the metrics a result line's samples give).
    @discardableResult
    public static func workerProtocol(_ bytes: [UInt8]) -> Bool {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var accepted = false
        if let first = lines.first, case let .success((_, job)) = WorkerMain.request(first) {
            switch job {
            case let .run(run) where run.problems().isEmpty:
                _ = run.loadOptions
                accepted = true
            case .quality: accepted = true
            default: break
            }
        }
        for line in lines.dropFirst() {
            guard let message = try? WorkerMessage.decode(line: line) else { return false }
            if case let .result(metrics, backend) = message, (try? RunLauncher.result(metrics: metrics, backend: backend, peakRSSBytes: nil)) == nil {
                return false
            }
        }
        return accepted
    }

    /// A two-core, four-thread machine with 6 GiB usable: what `sweepPlan` plans against.
    static let machine: HardwareProfile = {
        let cores = [[0, 2], [1, 3]].enumerated().map { index, pus in
            TopologyNode(type: "Core", index: index, children: pus.map { TopologyNode(type: "PU", index: $0) })
        }
        return HardwareProfile(
            name: "fuzz", measured: false,
            cpu: .init(vendor: "fuzz", model: "two cores", architecture: "x86_64", packages: 1, physicalCores: 2, logicalCPUs: 4, threadsPerCore: 2),
            caches: [], isa: .init(features: ["avx2", "fma", "f16c"], vectorWidthBits: 256),
            numa: .init(nodes: [.init(id: 0, cpus: [0, 1, 2, 3], memoryBytes: 8 << 30)], distances: [[10]], usable: true),
            memory: .init(totalBytes: 8 << 30, availableBytes: 6 << 30, usableBytes: 6 << 30),
            topology: TopologyNode(type: "Machine", index: 0, children: [TopologyNode(type: "Package", index: 0, children: cores)]))
    }()

    /// A model's shape from its preset; a file is treated as missing (the fuzzer reads no files).
    static func presetShape(_ reference: ModelReference) throws -> ModelShape {
        switch reference {
        case let .synthetic(preset): return ModelShape(preset: preset)
        case let .known(model):
            guard let preset = ArchitecturePreset.named(model.name) else { throw PrepareError("\(model.name) has no preset") }
            return ModelShape(preset: preset)
        case let .file(path): throw PrepareError("\(path): no such file")
        }
    }
}
