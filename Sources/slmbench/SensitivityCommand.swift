import ArgumentParser
import Foundation
import ModelFormat
import Worker

extension Models {
    /// How much each tensor, layer or kind loses when it alone is quantized.
    struct Sensitivity: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rank tensors, layers or kinds by the KL divergence they cause when only they are quantized to a type.",
            discussion: reflow("""
                For each unit (--by tensor: every weight matrix; layer: a block's matrices together; kind: attn_q, attn_k, \
                attn_v, attn_o, ffn_gate, ffn_up, ffn_down, embedding, output), that unit alone is quantized to --type \
                (its fallback where rows are not whole blocks of it) and every other tensor stays F32; the table gives \
                the mean KL divergence from the all-F32 model, ΔPPL and top-1 agreement, most damaging first. A tied \
                output head is the embedding: its unit covers both uses. The F32 weights are loaded once; each unit's \
                values are replaced in memory by their quantize → dequantize round trip and put back, so no file is \
                written per unit, and activations stay F32 (the weights' loss alone). Default text: \
                \(Corpus.calibrationSource), apart from quality's evaluation text. --save writes the figures as JSON \
                (schema slmbench.sensitivity/1) for `models mix --sensitivity` and `report --sensitivity`. --imatrix FILE \
                weights each round trip's scale search by that importance matrix, as `models quantize --imatrix` does, \
                and records its name. --method gptq --calibration TEXT quantizes each unit's matrices of types GPTQ fills \
                (lab types, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K) by GPTQ on TEXT's Hessians instead — the embedding of a tied head \
                on the head's input, as `models quantize --method gptq --process-output` does — and tags those rows gptq, for \
                `models mix --method gptq`. --tensors REGEX measures only the units with a tensor it finds (a wider type for the \
                embedding alone, say); `models mix` offers a type measured for some tensors to those tensors only.
                """))
        @Argument(help: "A known model name or a GGUF file with real weights.") var model: String
        @Option(name: .customLong("type"), help: ArgumentHelp("A type to quantize each unit to (repeat for several).", valueName: "type"))
        var types: [String] = []
        @Option(help: "Units: tensor, layer or kind.") var by: SensitivityGrouping = .tensor
        @Option(help: ArgumentHelp("A UTF-8 text (default: \(Corpus.calibrationPath)).", valueName: "path")) var corpus: String?
        @Option(help: "Tokens per chunk.") var context = 512
        @Option(help: "Most chunks (every unit and type runs them all).") var chunks = 2
        @Option(help: "Threads.") var threads = 1
        @Option(help: "Rows per type in the table (0: all).") var top = 20
        @Option(help: ArgumentHelp("Write the figures to this JSON file.", valueName: "path")) var save: String?
        @Option(help: ArgumentHelp("Weight each scale search by this importance matrix (llama-imatrix's GGUF or .dat, or slmbench's).", valueName: "path"))
        var imatrix: String?
        @Option(help: ArgumentHelp("Only the units with a tensor whose name this regular expression finds (e.g. '^token_embd' for the embedding alone).", valueName: "regex"))
        var tensors: String?
        @Option(help: ArgumentHelp("rtn (round trips, the default) or gptq: each unit's matrices of types GPTQ fills quantized by GPTQ on --calibration's Hessians (the head's input for the embedding), rows tagged gptq.", valueName: "method"))
        var method = "rtn"
        @Option(help: ArgumentHelp("With --method gptq: the UTF-8 text GPTQ's Hessians come from (not the evaluation text, nor --corpus).", valueName: "path"))
        var calibration: String?
        @OptionGroup var gptq: GPTQOptionGroup
        @Flag(help: "Print the JSON document instead of the table.") var json = false

        func validate() throws {
            guard !types.isEmpty else { throw ValidationError("--type is required: the type to quantize each unit to") }
            _ = try tensorTypes()
            guard context >= 16, context <= QualityEvaluation.maxContext else {
                throw ValidationError("--context must be 16 to \(QualityEvaluation.maxContext) tokens, got \(context)")
            }
            guard chunks >= 1 else { throw ValidationError("--chunks must be at least 1, got \(chunks)") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
            if let tensors, (try? NSRegularExpression(pattern: tensors)) == nil {
                throw ValidationError("--tensors '\(tensors)' is not a valid regular expression")
            }
            guard top >= 0 else { throw ValidationError("--top must be 0 or more, got \(top)") }
            guard method == "rtn" || method == "gptq" else { throw ValidationError("--method must be rtn or gptq, got '\(method)'") }
            if method == "gptq" {
                guard let calibration else { throw ValidationError("--method gptq needs --calibration TEXT: the text GPTQ's Hessians come from") }
                guard FileManager.default.isReadableFile(atPath: calibration) else { throw ValidationError("--calibration: cannot read \(calibration)") }
                guard imatrix == nil else { throw ValidationError("--imatrix and --method gptq exclude each other: GPTQ's rows are compensated, not weighted") }
            } else if calibration != nil {
                throw ValidationError("--calibration goes with --method gptq (the sensitivities' own text is --corpus)")
            }
            try gptq.check(gptq: method == "gptq")
        }

        func tensorTypes() throws -> [TensorType] {
            try types.map { try Models.quantizableType($0, flag: "--type") }
        }

        func run() throws {
            let (source, _) = try Models.openReal(model, measuring: "sensitivities")
            var analysis = SensitivityAnalysis(context: context, chunks: chunks, threads: threads)
            analysis.tensorPattern = tensors
            if method == "gptq", let calibration {
                analysis.gptq = .init(calibration: calibration, options: gptq.options,
                                      hessianCache: ModelCache.fromEnvironment().root.appendingPathComponent("hessians"))
            }
            if let imatrix {
                do { analysis.importance = try ImportanceMatrix(path: imatrix) } catch { throw CLIError("--imatrix \(error.description)") }
                analysis.importanceName = URL(fileURLWithPath: imatrix).lastPathComponent
            }
            let report: SensitivityReport
            do {
                report = try analysis.report(source: source, types: try tensorTypes(), grouping: by, corpusPath: corpus,
                                             cache: .fromEnvironment()) { Console.progress($0) }
            } catch { throw CLIError("\(error)") }
            if let save {
                do { try report.write(to: save) } catch { throw CLIError(error.description) }
                Console.progress("wrote \(save)")
            }
            if json { return try JSONOutput.print(report) }
            print(report.markdown(top: top == 0 ? nil : top))
        }
    }
}

extension SensitivityGrouping: ExpressibleByArgument {}
