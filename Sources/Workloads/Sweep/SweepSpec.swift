import Backends
import Crypto
import Engine
import Foundation
import ModelFormat
import ResultStore
import Worker

/// A sweep spec (YAML in `profiles/sweeps/`): axes crossed into a grid, filters, measurement
/// settings, the drift reference and quality. The format is documented in docs/sweep-spec.md.
public struct SweepSpec: Sendable, Equatable {
    /// One value of each axis: a single run's coordinates in the grid.
    public struct Point: Sendable, Equatable, Hashable, Codable {
        public var model: String
        public var type: String
        public var backend: String
        public var threads: Int
        public var batch: Int
        public var prompt: Int
        public var gen: Int
        public var kv: String
        public var placement: String
        public var depth: Int
        /// The `quant_method` axis; nil is rtn (and keeps the keys of sweeps made before the axis).
        public var quantMethod: String?

        public init(model: String, type: String, backend: String, threads: Int, batch: Int, prompt: Int, gen: Int,
                    kv: String, placement: String, depth: Int, quantMethod: String? = nil) {
            self.model = model; self.type = type; self.backend = backend; self.threads = threads; self.batch = batch
            self.prompt = prompt; self.gen = gen; self.kv = kv; self.placement = placement; self.depth = depth
            self.quantMethod = quantMethod == "rtn" ? nil : quantMethod
        }

        /// The method's name: `rtn` when the point has none.
        public var method: String { quantMethod ?? QuantMethod.rtn.rawValue }

        /// The value of the named axis, as text (filters compare text).
        public func value(_ axis: String) -> String? {
            switch axis {
            case "model": return model
            case "type": return type
            case "backend": return backend
            case "threads": return String(threads)
            case "batch": return String(batch)
            case "prompt": return String(prompt)
            case "gen": return String(gen)
            case "kv": return kv
            case "placement": return placement
            case "depth": return String(depth)
            case "quant_method": return method
            default: return nil
            }
        }

        /// Stable identity of the configuration within a sweep: every axis, in a fixed order.
        public var key: String {
            "\(model)|\(type)|\(backend)|t\(threads)|b\(batch)|p\(prompt)|g\(gen)|kv-\(kv)|\(placement)|d\(depth)"
                + (quantMethod.map { "|m-\($0)" } ?? "")
        }
    }

    /// A filter entry: axis → accepted values (text). A point matches when every listed axis has one of its values.
    public struct Filter: Sendable, Equatable {
        public var conditions: [String: [String]]
        public func matches(_ p: Point) -> Bool {
            conditions.allSatisfy { axis, values in p.value(axis).map(values.contains) ?? false }
        }
    }

    public struct MeasurementSettings: Sendable, Equatable {
        public var warmup = 1
        public var minRepetitions = 3
        public var maxRepetitions = 10
        /// Stop once the 95% CI half-width of the primary metric is at most this fraction of its mean.
        public var targetHalfWidth = 0.02
        /// Flag a run whose primary metric's CV is above this at the end.
        public var highCV = 0.05
        public var timeoutSeconds = 900.0
        public var cooldownSeconds = 0.0
        /// A ceiling on each worker's resident memory (the worker is killed and the run recorded as
        /// `oom` above it); nil: 90% of available memory, or twice the prediction if that is more.
        public var memoryLimitBytes: Int?
        public var seed: UInt64 = 42
        /// `sustain: 10m`: every run is measured back to back for this long (the worker's
        /// sustained mode) and stores its burst and steady-state rates; nil: repetitions as above.
        public var sustainSeconds: Double?
        public init() {}

        /// The worker's wall-clock limit: `timeout`, or for a sustained run the duration plus
        /// loading, warm-up and the last repetition, whichever is longer.
        public var workerTimeoutSeconds: Double {
            sustainSeconds.map { Swift.max(timeoutSeconds, $0 * 1.5 + 600) } ?? timeoutSeconds
        }
    }

    public struct Reference: Sendable, Equatable {
        /// Run the reference configuration before the first run and after every `every` runs (0: off).
        public var every = 10
        /// A reference result further than this from the first one marks the runs since the previous reference.
        public var drift = Drift.defaultThreshold
        /// Axis values of the reference run; missing axes take the first run's values.
        public var config: [String: String] = [:]
        public init() {}
    }

    public struct QualitySettings: Sendable, Equatable {
        public var enabled = false
        public var context = 256
        public var chunks = 4
        public var threads = 2
        public var corpus: String?
        public init() {}
    }

    public static let axisNames = ["model", "type", "backend", "threads", "batch", "prompt", "gen", "kv", "placement", "depth", "quant_method"]

    public var file: String
    public var name: String
    public var description: String?
    public var models: [String]
    public var types: [String]
    public var backends: [String]
    public var threads: [Int]
    public var batches: [Int]
    public var prompts: [Int]
    public var gens: [Int]
    public var kvTypes: [String]
    public var placements: [String]
    public var depths: [Int]
    /// The `quant_method` axis (default `[rtn]`).
    public var quantMethods: [String] = [QuantMethod.rtn.rawValue]
    /// The calibration text the calibrated methods read (`calibration:`, a path; nil:
    /// `Corpus.calibrationPath`), resolved against the spec's folder.
    public var calibration: String?
    public var include: [Filter]
    public var exclude: [Filter]
    public var measurement: MeasurementSettings
    public var reference: Reference
    public var quality: QualitySettings
    /// Arguments for `cmd:` backends, by backend value.
    public var backendArguments: [String: [String]]
    /// SHA-256 of the spec's bytes: which spec a results folder was made from.
    public var digest: String
    /// The spec as written, kept with the results.
    public var text: String
    /// The device to run on (`device:`, a URL or a name in the devices file); nil: this machine.
    public var device: String? = nil

    /// Reads and validates a spec file. Every problem names the file, line and key.
    public static func load(path: String) throws(SpecError) -> SweepSpec {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SpecError(file: path, line: nil, column: nil, key: "", message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(SpecError) -> SweepSpec {
        let root = try SpecYAML.root(text, file: file)
        var spec = SweepSpec(file: file, name: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent, description: nil,
                             models: [], types: ["stored"], backends: ["native"], threads: [1], batches: [1], prompts: [128],
                             gens: [64], kvTypes: ["f16"], placements: ["none"], depths: [0], include: [], exclude: [],
                             measurement: MeasurementSettings(), reference: Reference(), quality: QualitySettings(),
                             backendArguments: [:], digest: Digest.sha256(Data(text.utf8)), text: text)
        var sawAxes = false
        for (key, node) in try root.mapping(allowed: ["name", "description", "axes", "include", "exclude", "measurement",
                                                      "reference", "quality", "backend_args", "device", "calibration"]) {
            switch key {
            case "name":
                let name = try node.string()
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                    throw node.error("a name is letters, digits, '-', '_' or '.', got \(node.shown)")
                }
                spec.name = name
            case "description": spec.description = try node.string()
            case "axes": sawAxes = true; try spec.readAxes(node)
            case "include": spec.include = try readFilters(node)
            case "exclude": spec.exclude = try readFilters(node)
            case "measurement": try spec.readMeasurement(node)
            case "reference": try spec.readReference(node)
            case "quality": try spec.readQuality(node)
            case "calibration":
                let text = try node.string()
                guard !text.isEmpty else { throw node.error("a calibration text's path, got an empty string") }
                let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
                let path = text.hasPrefix("/") ? text : URL(fileURLWithPath: directory).appendingPathComponent(text).standardized.path
                do { _ = try Corpus.loadCalibration(path, flag: "calibration") } catch { throw node.error(error.description) }
                spec.calibration = path
            case "device":
                let device = try node.string()
                if device.contains("://") {
                    do { _ = try DeviceAddress.parse(device, flag: "device") } catch { throw node.error("\(error)") }
                } else if device.isEmpty || device.contains("/") {
                    throw node.error("a device URL (ssh://…, adb://…) or a name in the devices file, got \(node.shown)")
                }
                spec.device = device
            default:
                for (backend, args) in try node.mapping(allowed: try backendKeys(node)) { spec.backendArguments[backend] = try args.strings() }
            }
        }
        guard sawAxes, !spec.models.isEmpty else { throw root.error("axes.model is required: the models to run") }
        // Sustained mode is slmbench's own workers' (llama-bench and cmd: workers would run their
        // usual repetitions and no burst or steady state would come of it).
        if spec.measurement.sustainSeconds != nil, let other = spec.backends.first(where: { !["native", "llama.cpp"].contains($0) }) {
            throw root.error("measurement.sustain runs on the native and llama.cpp backends only; axes.backend has '\(other)'")
        }
        return spec
    }

    private static func backendKeys(_ node: SpecNode) throws(SpecError) -> [String] {
        guard case let .mapping(m) = node.node else { throw node.error("expected a mapping of backend → argument list, got \(node.shown)") }
        return m.keys.compactMap(\.string)
    }

    private mutating func readAxes(_ node: SpecNode) throws(SpecError) {
        for (axis, value) in try node.mapping(allowed: Self.axisNames) {
            if let bounds = Self.integerAxes[axis] {
                let values = try value.integers(min: bounds.lowerBound, max: bounds.upperBound)
                switch axis {
                case "threads": threads = values
                case "batch": batches = values
                case "prompt": prompts = values
                case "gen": gens = values
                default: depths = values
                }
                continue
            }
            _ = try value.strings()
            let items = value.list()
            guard items.count <= SpecLimits.valuesPerAxis else {
                throw value.error("lists \(items.count) values; an axis holds at most \(SpecLimits.valuesPerAxis)")
            }
            var values: [String] = []
            for item in items { values.append(try Self.axisValue(axis, item)) }
            switch axis {
            case "model": models = values
            case "type": types = values
            case "backend": backends = values
            case "kv": kvTypes = values
            case "quant_method": quantMethods = values
            default: placements = values
            }
        }
        // Bound the plan before anything enumerates it: the product of the value counts.
        var points = 1
        for count in [models.count, types.count, backends.count, threads.count, batches.count, prompts.count, gens.count,
                      kvTypes.count, placements.count, depths.count, quantMethods.count] {
            let (product, overflow) = points.multipliedReportingOverflow(by: max(count, 1))
            guard !overflow, product <= SpecLimits.gridPoints else {
                throw node.error("the axes cross into more than \(SpecLimits.gridPoints) grid points; a sweep holds at most \(SpecLimits.gridPoints) (split it, or list fewer values)")
            }
            points = product
        }
    }

    /// The integer axes and the values each may take.
    static let integerAxes: [String: ClosedRange<Int>] = [
        "threads": 1...SpecLimits.threads, "batch": 1...SpecLimits.batch,
        "prompt": 0...SpecLimits.tokens, "gen": 0...SpecLimits.tokens, "depth": 0...SpecLimits.tokens,
    ]

    /// One value of a text axis, checked as the axis requires (and lower-cased where the axis is
    /// case-blind); the axes and `reference.config` share these checks.
    static func axisValue(_ axis: String, _ item: SpecNode) throws(SpecError) -> String {
        let text = try item.string()
        switch axis {
        case "model":
            _ = try ModelReference.parse(text, at: item)
            return text
        case "type":
            if text.lowercased().hasPrefix("mix:") {
                // A mix file, relative to the spec's folder; read now so its errors surface here.
                let directory = URL(fileURLWithPath: item.file).deletingLastPathComponent().path
                var path = String(text.dropFirst(4))
                if !path.isEmpty && !path.hasPrefix("/") { path = URL(fileURLWithPath: directory).appendingPathComponent(path).standardized.path }
                do { _ = try QuantMix.named("mix:" + path, flag: "type") } catch { throw item.error(error.description) }
                return "mix:" + path
            }
            let name = text.lowercased()
            guard name == "stored" || QuantMix(name: name) != nil else {
                throw item.error("'\(name)' is not a tensor type, a recipe or mix:FILE; use stored or one of \(QuantMix.acceptedNames.joined(separator: ", "))")
            }
            return name
        case "backend":
            guard WorkerCommand.parse(text) != nil || text == LlamaBench.backendName else {
                    throw item.error("'\(text)' is not native, llama.cpp, llama-bench or cmd:PROGRAM")
                }
            return text
        case "kv":
            let kv = text.lowercased()
            guard KVType(rawValue: kv) != nil else { throw item.error("expected \(KVType.namesForMessages), got \(item.shown)") }
            return kv
        case "quant_method":
            guard let method = QuantMethod(rawValue: text.lowercased()) else {
                throw item.error("'\(text)' is not a quantization method; use \(QuantMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return method.rawValue
        case "placement":
            guard Placement(text) != nil else {
                throw item.error("expected none, compact, spread, physical-only, performance-cores, numa-node:N or a CPU list like 0,2, got \(item.shown)")
            }
            return text
        default:
            guard let bounds = integerAxes[axis] else { throw item.error("'\(axis)' is not an axis") }
            return String(try item.int(min: bounds.lowerBound, max: bounds.upperBound))
        }
    }

    private static func readFilters(_ node: SpecNode) throws(SpecError) -> [Filter] {
        guard case .sequence = node.node else { throw node.error("expected a list of filters like - {backend: llama.cpp, type: q4_0}, got \(node.shown)") }
        var filters: [Filter] = []
        for item in node.list() {
            var conditions: [String: [String]] = [:]
            for (axis, values) in try item.mapping(allowed: axisNames) {
                _ = try values.strings() // a non-empty list of strings
                var accepted: [String] = []
                for value in values.list() {
                    let text = try value.string()
                    // A mix file is named as the axis names it: its path relative to the spec's folder.
                    if axis == "type" && text.lowercased().hasPrefix("mix:") { accepted.append(try axisValue(axis, value)); continue }
                    accepted.append(["type", "kv", "quant_method"].contains(axis) ? text.lowercased() : text)
                }
                conditions[axis] = accepted
            }
            guard !conditions.isEmpty else { throw item.error("an empty filter matches everything") }
            filters.append(Filter(conditions: conditions))
        }
        return filters
    }

    private mutating func readMeasurement(_ node: SpecNode) throws(SpecError) {
        for (key, value) in try node.mapping(allowed: ["warmup", "min_repetitions", "max_repetitions", "target_ci", "high_cv",
                                                        "timeout", "cooldown", "memory_limit", "seed", "sustain"]) {
            switch key {
            case "warmup": measurement.warmup = try value.int(min: 0, max: SpecLimits.warmup)
            case "min_repetitions": measurement.minRepetitions = try value.int(min: 1, max: SpecLimits.repetitions)
            case "max_repetitions": measurement.maxRepetitions = try value.int(min: 1, max: SpecLimits.repetitions)
            case "target_ci": measurement.targetHalfWidth = try value.fraction()
            case "high_cv": measurement.highCV = try value.fraction()
            case "timeout":
                measurement.timeoutSeconds = try value.seconds(max: SpecLimits.timeoutSeconds)
                guard measurement.timeoutSeconds > 0 else { throw value.error("must be positive") }
            case "cooldown": measurement.cooldownSeconds = try value.seconds(max: SpecLimits.cooldownSeconds)
            case "memory_limit": measurement.memoryLimitBytes = try value.bytes()
            case "sustain":
                let seconds = try value.seconds(max: SpecLimits.timeoutSeconds)
                // A burst window and a steady-state window need room: the soak's own floor.
                guard seconds >= 10 else { throw value.error("must be at least 10s (a burst and a steady-state window), got \(value.shown)") }
                measurement.sustainSeconds = seconds
            default: measurement.seed = UInt64(try value.int(min: 0))
            }
        }
        guard measurement.maxRepetitions >= measurement.minRepetitions else {
            throw node.error("max_repetitions (\(measurement.maxRepetitions)) is below min_repetitions (\(measurement.minRepetitions))")
        }
    }

    private mutating func readReference(_ node: SpecNode) throws(SpecError) {
        for (key, value) in try node.mapping(allowed: ["every", "drift", "config"]) {
            switch key {
            case "every": reference.every = try value.int(min: 0)
            case "drift": reference.drift = try value.fraction()
            default:
                // Checked now, as the axes are: a bad value here would otherwise surface only
                // when the sweep reaches its first reference run.
                for (axis, v) in try value.mapping(allowed: Self.axisNames) { reference.config[axis] = try Self.axisValue(axis, v) }
            }
        }
    }

    private mutating func readQuality(_ node: SpecNode) throws(SpecError) {
        if case .scalar = node.node { quality.enabled = try node.bool(); return }
        quality.enabled = true
        for (key, value) in try node.mapping(allowed: ["enabled", "context", "chunks", "threads", "corpus"]) {
            switch key {
            case "enabled": quality.enabled = try value.bool()
            case "context": quality.context = try value.int(min: 16, max: SpecLimits.qualityContext)
            case "chunks": quality.chunks = try value.int(min: 1, max: SpecLimits.qualityChunks)
            case "threads": quality.threads = try value.int(min: 1, max: SpecLimits.threads)
            default: quality.corpus = try value.string()
            }
        }
    }
}

/// How a sweep names a model: a known real model, a synthetic preset, or a GGUF file.
public enum ModelReference: Sendable, Equatable {
    case known(KnownModel)
    case synthetic(ArchitecturePreset)
    case file(String)

    /// `smollm2-135m` (a known real model), a preset name or `synthetic:NAME`, or a path.
    static func parse(_ text: String, at node: SpecNode? = nil) throws(SpecError) -> ModelReference {
        if text.hasPrefix("synthetic:") {
            let name = String(text.dropFirst("synthetic:".count))
            guard let preset = ArchitecturePreset.named(name) else {
                throw node?.error("no synthetic preset '\(name)'; presets: \(ArchitecturePreset.all.map(\.name).joined(separator: ", "))")
                    ?? SpecError(file: "", line: nil, column: nil, key: "model", message: "no synthetic preset '\(name)'")
            }
            return .synthetic(preset)
        }
        if let known = KnownModel.named(text) { return .known(known) }
        if let preset = ArchitecturePreset.named(text) { return .synthetic(preset) }
        if text.contains("/") || text.hasSuffix(".gguf") { return .file(text) }
        let names = KnownModel.all.map(\.name) + ArchitecturePreset.all.map(\.name)
        throw node?.error("'\(text)' is not a known model, a synthetic preset (\(names.joined(separator: ", "))) or a .gguf path")
            ?? SpecError(file: "", line: nil, column: nil, key: "model", message: "unknown model '\(text)'")
    }

    public var isSynthetic: Bool { if case .synthetic = self { return true } else { return false } }
}

enum Digest {
    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
