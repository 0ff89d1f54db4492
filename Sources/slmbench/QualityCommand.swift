import ArgumentParser
import Backends
import Engine
import Foundation
import ModelFormat
import Worker
import Workloads

struct Quality: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity, ΔPPL, KL divergence and top-1 agreement of bit-widths of one model's weights.",
        discussion: reflow("""
            Every --type is made from the same weights by slmbench's quantizer; the baseline is their
            F32 conversion (the highest-precision variant). When the source's matrices are already
            quantized (SmolLM2-135M's are Q4_1), every other type is a requantization of them and
            the loss to the source type is in none of the figures: the table marks its columns † and says so. The corpus is cut into chunks of --context
            tokens, each evaluated from an empty cache, and the second half of each chunk is scored.
            Default corpus: \(Corpus.defaultSource).
            Quality is refused on synthetic models: their numbers would mean nothing.
            With --kv, the weights stay one file (--type, default f32) and the rows are KV-cache
            types against an f32 cache: the loss shown is the cache's alone.
            With --act-quant (native engine), every --type but F32 is evaluated once per mode, each
            block matrix's input rounded to int8 (W8A8 when the type is an 8-bit lab type); the
            baseline keeps float activations. A --type may also be a GGUF file (such as one
            `models quantize --method smoothquant` wrote): it is evaluated as it is.
            """))

    static let defaultTypes = ["f16", "q8_0", "q5_1", "q4_0", "q4_1", "q3_k", "q2_k", "lab6g32s", "lab4g32a", "lab3g64a", "lab2g32a"]

    @Option(help: "A known model name or a GGUF file with real weights.") var model: String
    @Option(name: .customLong("type"), help: "A type, recipe, mix:FILE, or a FILE.gguf quantized from --model (e.g. by --method gptq) to evaluate (repeat; default: \(defaultTypes.joined(separator: ", "))).")
    var types: [String] = []
    @Option(help: "A UTF-8 text file (default: \(Corpus.defaultPath)).") var corpus: String?
    @Option(help: "Tokens per chunk.") var context = 512
    @Option(help: "Most chunks to evaluate.") var chunks = 8
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Backend: native or llama.cpp.") var backend = "native"
    @Option(help: "Instead of comparing types with F32, compare --backend with this backend on each type's own file.")
    var referenceBackend: String?
    @Option(name: .customLong("kv"), help: "A KV-cache type to compare with an f32 cache on the same weights (repeat: f16, q8_0, q4_0).")
    var kvTypes: [KVType] = []
    @Option(name: .customLong("act-quant"), help: "8-bit activations for every variant but F32 (repeat: none, per-token, per-tensor; native engine).")
    var activationQuants: [ActivationQuant] = []
    @Option(name: .customLong("file"), help: ArgumentHelp("LABEL=PATH: also evaluate this GGUF file of the same model, made elsewhere (llama-quantize, --imatrix), against the same F32 baseline (repeat).", valueName: "label=path"))
    var files: [String] = []
    @Flag(help: "Print the report as JSON.") var json = false

    /// The --file options as (label, path); each path must exist.
    func extraFiles() throws -> [(label: String, path: String)] {
        try files.map { spec in
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex, spec.index(after: eq) != spec.endIndex else {
                throw ValidationError("--file wants LABEL=PATH, got '\(spec)'")
            }
            let path = String(spec[spec.index(after: eq)...])
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("--file \(spec): no file at \(path)") }
            return (String(spec[..<eq]), path)
        }
    }

    func validate() throws {
        for t in types where !Self.isFile(t) { _ = try Models.mix(t, flag: "--type") }
        guard context >= 16, context <= QualityEvaluation.maxContext else {
            throw ValidationError("--context must be 16 to \(QualityEvaluation.maxContext) tokens, got \(context)")
        }
        guard chunks >= 1 else { throw ValidationError("--chunks must be at least 1, got \(chunks)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard BackendRegistry.names.contains(backend) else { throw ValidationError("--backend must be \(BackendRegistry.names.joined(separator: " or ")), got '\(backend)'") }
        if let referenceBackend, !BackendRegistry.names.contains(referenceBackend) {
            throw ValidationError("--reference-backend must be \(BackendRegistry.names.joined(separator: " or ")), got '\(referenceBackend)'")
        }
        _ = try extraFiles()
        if !files.isEmpty, !kvTypes.isEmpty || referenceBackend != nil {
            throw ValidationError("--file adds rows to the comparison with F32; it does not combine with --kv or --reference-backend")
        }
        if !kvTypes.isEmpty {
            guard referenceBackend == nil else { throw ValidationError("--kv and --reference-backend compare different things; give one") }
            guard types.count <= 1 else { throw ValidationError("--kv compares caches on one weights file: give at most one --type, got \(types.count)") }
        }
        if !activationQuants.isEmpty {
            guard kvTypes.isEmpty, referenceBackend == nil else { throw ValidationError("--act-quant compares activations on the weight types; leave out --kv and --reference-backend") }
            guard backend == "native" else { throw ValidationError("--act-quant is a native-engine option; --backend is \(backend)") }
        }
    }

    /// A --type naming a GGUF file rather than a type.
    /// A `--type` that names a GGUF file already quantized from --model (e.g. by
    /// `models quantize --method gptq`), evaluated as it is.
    static func isFile(_ name: String) -> Bool {
        name.lowercased().hasSuffix(".gguf")
    }

    func run() throws {
        let source = try Models.resolve(model)
        let file = try Models.open(model)
        if file["slmbench.synthetic"]?.bool == true {
            throw CLIError("\(source) is a synthetic model (random weights): its perplexity and KL divergence would mean nothing")
        }
        _ = try Corpus.load(corpus) // a bad --corpus is refused before any conversion
        // A file the native engine cannot run is measured on llama.cpp, every variant, and said so.
        var backend = self.backend
        if backend == "native", let architecture = file["general.architecture"]?.string, !NativeBackend.runs(architecture: architecture) {
            Console.progress("the native engine does not run architecture '\(architecture)': every variant runs on llama.cpp")
            backend = "llama.cpp"
        }
        func variantFile(_ name: String) throws -> (String, String) {
            if Self.isFile(name) {
                guard FileManager.default.fileExists(atPath: name) else { throw CLIError("--type \(name): no such file") }
                do { _ = try GGUFFile(path: name) } catch { throw CLIError("--type \(name): \(error)") }
                return (URL(fileURLWithPath: name).deletingPathExtension().lastPathComponent, name)
            }
            let mix = try Models.mix(name, flag: "--type")
            do {
                return (Models.label(mix), try ModelQuantizer.ensure(source: URL(fileURLWithPath: source), mix: mix, cache: .fromEnvironment()) { Console.progress($0) }.path)
            } catch { throw CLIError("\(name): \(error)") }
        }
        func evaluate(_ variants: [QualitySpec.Variant]) throws -> QualityEvaluation.Report {
            let spec = QualitySpec(variants: variants, corpus: corpus, context: context, chunks: chunks, threads: threads)
            return try spec.evaluate { Console.progress($0) }
        }
        let kind = BackendKind(label: backend)
        if !kvTypes.isEmpty {
            let (weights, path) = try variantFile(types.first ?? "f32")
            var caches: [KVType] = [.f32]
            for kv in kvTypes where !caches.contains(kv) { caches.append(kv) }
            let variants = caches.map { QualitySpec.Variant(label: "\(weights) kv \($0.rawValue)", backend: kind, path: path, kvType: $0) }
            Console.progress("\(weights) weights, \(caches.count) KV caches on \(backend)")
            let report = try evaluate(variants)
            if json { return try JSONOutput.print(report) }
            let name = KnownModel.named(model)?.name ?? URL(fileURLWithPath: source).lastPathComponent
            print(report.kvMarkdown(model: name, weights: weights, backend: backend, caches: caches))
            return
        }
        if let referenceBackend {
            var reports: [QualityEvaluation.Report] = []
            for name in types.isEmpty ? ["q8_0", "q4_0", "q4_1"] : types {
                let (label, path) = try variantFile(name)
                Console.progress("\(label): \(referenceBackend) vs \(backend)")
                reports.append(try evaluate([.init(label: "\(label) \(referenceBackend)", backend: BackendKind(label: referenceBackend), path: path),
                                             .init(label: "\(label) \(backend)", backend: kind, path: path)]))
            }
            if json { return try JSONOutput.print(reports) }
            print(QualityEvaluation.Report.backendMarkdown(reports, backend: backend, reference: referenceBackend,
                                                           corpus: reports.first?.corpus ?? ""))
            return
        }
        let requested = ["f32"] + (types.isEmpty ? Self.defaultTypes : types.map { $0.lowercased().hasPrefix("mix:") || Self.isFile($0) ? $0 : $0.lowercased() }).filter { $0 != "f32" }
        var variants: [QualitySpec.Variant] = []
        for name in requested {
            let (label, path) = try variantFile(name)
            guard !activationQuants.isEmpty, name != "f32" else { variants.append(.init(label: label, backend: kind, path: path)); continue }
            for quant in activationQuants {
                variants.append(.init(label: quant == .none ? label : "\(label) a8 \(quant.rawValue)", backend: kind, path: path,
                                      activationQuant: quant == .none ? nil : quant))
            }
        }
        for (label, path) in try extraFiles() { variants.append(.init(label: label, backend: kind, path: path)) }
        Console.progress("\(variants.count) variants on \(backend)")
        var report = try evaluate(variants)
        let name = KnownModel.named(model)?.name ?? URL(fileURLWithPath: source).lastPathComponent
        report.sourceWeightsCaveat = QualityEvaluation.Report.sourceWeightsCaveat(model: name, types: file.tensors.map(\.type.name))
        if json { return try JSONOutput.print(report) }
        print(report.markdown(model: name, backend: backend, paths: variants.map(\.path)))
    }
}
