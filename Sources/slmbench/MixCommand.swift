import ArgumentParser
import Foundation
import ModelFormat
import Worker

extension Models {
    /// A type per tensor within a size budget, chosen on measured sensitivities, then built and measured.
    struct Mix: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Choose a type per tensor that minimises predicted KL divergence within a bits-per-weight budget; build and measure it.",
            discussion: reflow("""
                The prediction adds up per-tensor sensitivities (`models sensitivity --by tensor`, one per type in \
                --types; measured here on --calibration unless --sensitivity gives them): it assumes the tensors' \
                losses are additive. Sensitivities --by kind or layer are accepted too (far fewer runs): each unit's \
                ΔKLD is then spread over its tensors in proportion to their parameters, and the table says so. Each --types entry is replaced by its fallback where a tensor's rows are not whole \
                blocks of it (Q4_K → Q5_0 on 576-wide rows, as llama.cpp falls back). The search is greedy on ΔKLD \
                saved per byte along each tensor's convex hull. Bits per weight count every tensor's bytes (norms and the \
                embedding too) over every tensor's elements, as `models inspect` does. The mix is then written \
                (--out, default the cache; --save-mix writes the mix file that `mix:FILE` reads) and measured with \
                uniform Q4_K and the Q4_K_M recipe on --corpus, which should not be the calibration text: the table \
                gives each one's size, predicted and measured mean KLD, ΔPPL and top-1 agreement against F32.
                """))
        @Argument(help: "A known model name or a GGUF file with real weights.") var model: String
        @Option(help: "The size budget in bits per weight (every tensor's bytes × 8 ÷ every tensor's elements).") var budgetBpw: Double
        @Option(help: ArgumentHelp("Types to choose from, comma-separated.", valueName: "types")) var types = "q3_k,q4_k,q5_k,q6_k"
        @Option(help: ArgumentHelp("Per-tensor sensitivities from `models sensitivity --by tensor --save` (default: measure them now).", valueName: "file.json"))
        var sensitivity: String?
        @Option(help: ArgumentHelp("Text the sensitivities are measured on, without --sensitivity (default: \(Corpus.calibrationPath)).", valueName: "path"))
        var calibration: String?
        @Option(help: "Chunks of --context tokens the sensitivities are measured on, without --sensitivity.") var sensitivityChunks = 2
        @Option(help: ArgumentHelp("Write the measured sensitivities here, without --sensitivity.", valueName: "file.json")) var saveSensitivity: String?
        @Option(help: ArgumentHelp("Evaluation text (default: \(Corpus.defaultPath)).", valueName: "path")) var corpus: String?
        @Option(help: "Tokens per chunk.") var context = 512
        @Option(help: "Most chunks of the evaluation.") var chunks = 8
        @Option(help: "Threads.") var threads = 1
        @Option(name: .shortAndLong, help: ArgumentHelp("Write the mixed model here (default: the cache).", valueName: "path")) var out: String?
        @Option(help: ArgumentHelp("Write the mix file (base: and PATTERN=TYPE rules) here.", valueName: "path")) var saveMix: String?
        @Flag(help: "Choose and write the mix, but do not measure it.") var noMeasure = false
        @Flag(help: "Print one JSON document.") var json = false

        func validate() throws {
            guard budgetBpw.isFinite, budgetBpw > 0, budgetBpw <= 32 else {
                throw ValidationError("--budget-bpw must be a number above 0 and at most 32, got \(budgetBpw)")
            }
            _ = try tensorTypes()
            guard context >= 16, context <= QualityEvaluation.maxContext else {
                throw ValidationError("--context must be 16 to \(QualityEvaluation.maxContext) tokens, got \(context)")
            }
            guard chunks >= 1 else { throw ValidationError("--chunks must be at least 1, got \(chunks)") }
            guard sensitivityChunks >= 1 else { throw ValidationError("--sensitivity-chunks must be at least 1, got \(sensitivityChunks)") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        }

        func tensorTypes() throws -> [TensorType] {
            let names = types.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw ValidationError("--types names no type") }
            return try names.map { try Models.quantizableType($0, flag: "--types") }
        }

        func run() throws {
            let (source, file) = try Models.openReal(model, measuring: "sensitivities")
            let types = try tensorTypes()
            let cache = ModelCache.fromEnvironment()
            let report: SensitivityReport
            let sensitivityName: String
            if let sensitivity {
                do { report = try SensitivityReport.load(path: sensitivity) } catch { throw CLIError(error.description) }
                sensitivityName = sensitivity
                let sha = try? ModelFetcher.sha256(of: URL(fileURLWithPath: source))
                if let sha, sha != report.modelSHA256 {
                    throw CLIError("\(sensitivity): measured on \(report.model) (SHA-256 \(report.modelSHA256.prefix(12))…), not on \(source) (\(sha.prefix(12))…)")
                }
            } else {
                // Each type the sensitivities are wanted for, once (q2_k and q3_k may share a fallback).
                do {
                    report = try SensitivityAnalysis(context: context, chunks: sensitivityChunks, threads: threads)
                        .report(source: source, types: types, grouping: .tensor, corpusPath: calibration, cache: cache) { Console.progress($0) }
                } catch { throw CLIError("\(error)") }
                sensitivityName = "measured now on \(report.corpus)"
                if let saveSensitivity {
                    do { try report.write(to: saveSensitivity) } catch { throw CLIError(error.description) }
                    Console.progress("wrote \(saveSensitivity)")
                }
            }
            let mixModel = MixModel(file: file)
            let search: MixSearch
            let result: MixSearch.Result
            do {
                search = try MixSearch(model: mixModel, types: types, sensitivity: report, file: sensitivityName)
                result = try search.solve(budgetBytes: search.budgetBytes(bitsPerWeight: budgetBpw))
            } catch { throw CLIError(error.description) }
            let mix = result.mix
            if let saveMix {
                let header = "# slmbench models mix \(URL(fileURLWithPath: source).lastPathComponent) --budget-bpw \(budgetBpw) --types \(self.types)\n"
                let text = header + "base: \(mix.base.name)\n" + mix.rules.map(\.description).joined(separator: "\n") + "\n"
                do { try text.write(toFile: saveMix, atomically: true, encoding: .utf8) } catch {
                    throw CLIError("--save-mix: cannot write \(saveMix) (\(error.localizedDescription))")
                }
                Console.progress("wrote \(saveMix)")
            }
            let path: String
            do {
                if let out {
                    try ModelQuantizer.quantize(file, mix: mix, output: out) { Console.progress($0) }
                    path = out
                } else {
                    path = try ModelQuantizer.ensure(source: URL(fileURLWithPath: source), mix: mix, cache: cache) { Console.progress($0) }.path
                }
            } catch { throw CLIError(error.description) }
            var document = MixReport(budgetBitsPerWeight: budgetBpw, types: types.map { $0.name.lowercased() }, sensitivity: sensitivityName,
                                     calibration: report.corpus, assumption: MixReport.additivity + (search.spreadNote.map { "; \($0)" } ?? ""),
                                     path: path, result: result)
            if !noMeasure {
                var variants: [(label: String, path: String, predicted: Double?)] = [("mix", path, result.predictedKLD)]
                for name in ["q4_k", "q4_k_m"] {
                    let other = try Models.mix(name, flag: "--types")
                    let otherPath: String
                    do { otherPath = try ModelQuantizer.ensure(source: URL(fileURLWithPath: source), mix: other, cache: cache) { Console.progress($0) }.path }
                    catch { throw CLIError("\(name): \(error)") }
                    variants.append((Models.label(other), otherPath, search.predictedKLD(of: other.assign(mixModel))))
                }
                let f32: String
                do { f32 = try ModelQuantizer.ensure(source: URL(fileURLWithPath: source), type: .f32, cache: cache) { Console.progress($0) }.path }
                catch { throw CLIError(error.description) }
                let evaluated = [QualitySpec.Variant(label: "f32", backend: .native, path: f32)]
                    + variants.map { QualitySpec.Variant(label: $0.label, backend: .native, path: $0.path) }
                let spec = QualitySpec(variants: evaluated, corpus: corpus, context: context, chunks: chunks, threads: threads)
                Console.progress("measuring the mix, Q4_K and Q4_K_M against F32")
                let quality: QualityEvaluation.Report
                do { quality = try spec.evaluate { Console.progress($0) } } catch { throw CLIError(error.description) }
                document.measure(quality, variants: variants,
                                 caveat: QualityEvaluation.Report.sourceWeightsCaveat(model: URL(fileURLWithPath: source).lastPathComponent,
                                                                                     types: file.tensors.map(\.type.name)))
            }
            if json { return try JSONOutput.print(document) }
            print(document.markdown)
        }
    }
}
