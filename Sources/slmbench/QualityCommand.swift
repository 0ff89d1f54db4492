import ArgumentParser
import Backends
import Foundation
import ModelFormat
import Worker
import Workloads

struct Quality: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity, ΔPPL, KL divergence and top-1 agreement of bit-widths of one model's weights.",
        discussion: """
            Every --type is made from the same weights by slmbench's quantizer; the baseline is their
            F32 conversion (the highest-precision variant). The corpus is cut into chunks of --context
            tokens, each evaluated from an empty cache, and the second half of each chunk is scored.
            Default corpus: \(Corpus.defaultSource).
            Quality is refused on synthetic models: their numbers would mean nothing.
            """)

    static let defaultTypes = ["f16", "q8_0", "q5_1", "q4_0", "q4_1", "q3_k", "q2_k", "lab6g32s", "lab4g32a", "lab3g64a", "lab2g32a"]

    @Option(help: "A known model name or a GGUF file with real weights.") var model: String
    @Option(name: .customLong("type"), help: "A type to evaluate (repeat; default: \(defaultTypes.joined(separator: ", "))).")
    var types: [String] = []
    @Option(help: "A UTF-8 text file (default: \(Corpus.defaultPath)).") var corpus: String?
    @Option(help: "Tokens per chunk.") var context = 512
    @Option(help: "Most chunks to evaluate.") var chunks = 8
    @Option(help: "Threads.") var threads = 1
    @Option(help: "Backend: native or llama.cpp.") var backend = "native"
    @Option(help: "Instead of comparing types with F32, compare --backend with this backend on each type's own file.")
    var referenceBackend: String?
    @Flag(help: "Print the report as JSON.") var json = false

    func validate() throws {
        for t in types { _ = try Models.type(t, flag: "--type") }
        guard context >= 16, context <= QualityEvaluation.maxContext else {
            throw ValidationError("--context must be 16 to \(QualityEvaluation.maxContext) tokens, got \(context)")
        }
        guard chunks >= 1 else { throw ValidationError("--chunks must be at least 1, got \(chunks)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard BackendRegistry.names.contains(backend) else { throw ValidationError("--backend must be \(BackendRegistry.names.joined(separator: " or ")), got '\(backend)'") }
        if let referenceBackend, !BackendRegistry.names.contains(referenceBackend) {
            throw ValidationError("--reference-backend must be \(BackendRegistry.names.joined(separator: " or ")), got '\(referenceBackend)'")
        }
    }

    func run() throws {
        let source = try Models.resolve(model)
        let file = try Models.open(model)
        if file["slmbench.synthetic"]?.bool == true {
            throw CLIError("\(source) is a synthetic model (random weights): its perplexity and KL divergence would mean nothing")
        }
        let text = try Corpus.load(corpus)
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(file: file) } catch { throw CLIError("\(source): \(error)") }
        let tokens = tokenizer.encode(text.text).map(Int32.init)
        func variantFile(_ name: String) throws -> (TensorType, String) {
            let type = try Models.type(name, flag: "--type")
            do {
                return (type, try ModelQuantizer.ensure(source: URL(fileURLWithPath: source), type: type, cache: .fromEnvironment()) { Console.progress($0) }.path)
            } catch { throw CLIError("\(name): \(error)") }
        }
        if let referenceBackend {
            try compareBackends(tokens: tokens, corpus: text, reference: referenceBackend, file: variantFile)
            return
        }
        let requested = ["f32"] + (types.isEmpty ? Self.defaultTypes : types.map { $0.lowercased() }).filter { $0 != "f32" }
        var variants: [QualityEvaluation.Variant] = []
        for name in requested {
            let (type, path) = try variantFile(name)
            variants.append(.init(label: type.name, backend: BackendRegistry.make(backend)!, path: path))
        }
        Console.progress("\(tokens.count) corpus tokens; \(variants.count) variants on \(backend)")
        let report: QualityEvaluation.Report
        do {
            report = try QualityEvaluation(context: context, chunks: chunks)
                .run(tokens: tokens, corpus: text.source, variants: variants, threads: threads) { Console.progress($0) }
        } catch { throw CLIError(error.description) }
        if json {
            try JSONOutput.print(report)
            return
        }
        let name = KnownModel.named(model)?.name ?? URL(fileURLWithPath: source).lastPathComponent
        print("quality  \(name) on \(backend) · corpus: \(report.corpus)")
        print("         \(report.corpusTokens) tokens · \(report.chunks) chunks of \(report.context) · \(report.scoredPositions) scored positions · baseline \(report.baseline)")
        print("")
        print("| type | bits/weight | PPL | ΔPPL | ΔPPL % | mean KLD | top-1 agreement |")
        print("|---|---|---|---|---|---|---|")
        let base = report.rows[0].perplexity
        for (row, variant) in zip(report.rows, variants) {
            let bits = (try? GGUFFile(path: variant.path)).map { ModelSummary(file: $0).bitsPerWeight } ?? .nan
            func f(_ x: Double?, _ format: String) -> String { x.map { String(format: format, $0) } ?? "—" }
            print("| \(row.variant) | \(String(format: "%.3f", bits)) | \(String(format: "%.4f", row.perplexity)) | \(f(row.deltaPerplexity, "%+.4f")) | \(f(row.deltaPerplexity.map { $0 / base * 100 }, "%+.2f%%")) | \(f(row.meanKLD, "%.6f")) | \(f(row.top1Agreement.map { $0 * 100 }, "%.2f%%")) |")
        }
    }

    /// Each type's file on the reference backend (baseline) and on --backend.
    func compareBackends(tokens: [Int32], corpus: Corpus, reference: String, file: (String) throws -> (TensorType, String)) throws {
        var reports: [QualityEvaluation.Report] = []
        for name in types.isEmpty ? ["q8_0", "q4_0", "q4_1"] : types {
            let (type, path) = try file(name)
            Console.progress("\(type.name): \(reference) vs \(backend)")
            let variants = [QualityEvaluation.Variant(label: "\(type.name) \(reference)", backend: BackendRegistry.make(reference)!, path: path),
                            QualityEvaluation.Variant(label: "\(type.name) \(backend)", backend: BackendRegistry.make(backend)!, path: path)]
            do {
                reports.append(try QualityEvaluation(context: context, chunks: chunks)
                    .run(tokens: tokens, corpus: corpus.source, variants: variants, threads: threads) { Console.progress($0) })
            } catch { throw CLIError(error.description) }
        }
        if json {
            try JSONOutput.print(reports)
            return
        }
        print("\(backend) against \(reference) on the same files · corpus: \(corpus.source)")
        print("")
        print("| type | positions | PPL \(reference) | PPL \(backend) | mean KLD | top-1 agreement |")
        print("|---|---|---|---|---|---|")
        for r in reports {
            print(String(format: "| %@ | %d | %.4f | %.4f | %.2e | %.2f%% |", String(r.rows[0].variant.split(separator: " ")[0]), r.scoredPositions,
                         r.rows[0].perplexity, r.rows[1].perplexity, r.rows[1].meanKLD ?? .nan, (r.rows[1].top1Agreement ?? .nan) * 100))
        }
    }
}
