import ArgumentParser
import Engine
import Foundation
import ModelFormat

extension Models {
    /// Reads an importance matrix in either of llama.cpp's formats, says what it holds, and
    /// optionally writes it in the other.
    struct Imatrix: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an importance matrix with the native engine, or show or convert one (llama-imatrix's GGUF or .dat).",
            discussion: reflow("""
                An importance matrix holds, per weight matrix, the mean squared activation of each input
                channel over a calibration text; quantizers weight each weight's error by it. slmbench
                reads and writes llama.cpp's two formats, so a file made by either tool works with the other's
                quantizer (`llama-quantize --imatrix FILE`). With --text, FILE is made: --model runs on the
                native engine over the text as llama-imatrix does (chunks of --context tokens, each from an
                empty cache, BOS first where the vocabulary adds one). Keep the calibration text apart from
                the text quality is evaluated on.
                """))
        @Argument(help: "The importance-matrix file.") var file: String
        @Option(help: ArgumentHelp("Write the matrix to this file…", valueName: "path")) var convert: String?
        @Option(help: ArgumentHelp("…in this format: gguf (llama-imatrix's default) or dat (its legacy format).", valueName: "format"))
        var format = "gguf"
        @Option(help: ArgumentHelp("Check that every entry fits this model's matrices (a GGUF file or a known model name); with --text, the model to run.", valueName: "model"))
        var model: String?
        @Option(help: ArgumentHelp("Make FILE from this calibration text (UTF-8), running --model on the native engine.", valueName: "path"))
        var text: String?
        @Option(help: "Tokens per chunk, with --text.") var context = 512
        @Option(help: "Most chunks, with --text (default: all the text holds).") var chunks: Int?
        @Option(help: "Threads, with --text.") var threads = 1
        @Flag(help: "With --text: also collect the output head's input (under token_embd.weight when the head is tied), as llama-imatrix's --process-output.")
        var processOutput = false

        func validate() throws {
            guard ImportanceMatrix.Format(rawValue: format) != nil else {
                throw ValidationError("--format must be gguf or dat, got '\(format)'")
            }
            if text != nil, model == nil { throw ValidationError("--text needs --model: the model to collect activations on") }
            guard context >= 8, context <= 32768 else { throw ValidationError("--context must be 8 to 32768 tokens, got \(context)") }
            if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1, got \(chunks)") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        }

        /// Runs the model over the text and writes FILE.
        func make(model: String, text path: String, format: ImportanceMatrix.Format) throws {
            let matrix = try Self.collect(model: model, text: path, context: context, chunks: chunks, threads: threads, flag: "--text",
                                         processOutput: processOutput)
            do { try matrix.write(to: self.file, format: format) } catch { throw CLIError(error.description) }
        }

        /// Runs `model` on the native engine over the text at `path` (chunks of `context` tokens)
        /// and returns the importance matrix; `flag` names the option in errors.
        static func collect(model: String, text path: String, context: Int, chunks: Int?, threads: Int, flag: String,
                            processOutput: Bool = false) throws -> ImportanceMatrix {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8),
                  !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw CLIError("\(flag): cannot read \(path) as UTF-8 text, or it is empty")
            }
            let source = try Models.resolve(model)
            let file = try Models.open(model)
            if file["slmbench.synthetic"]?.bool == true {
                Console.progress("\(source) is a synthetic model: its importance matrix describes random weights")
            }
            let tokenizer: Tokenizer
            do { tokenizer = try Tokenizer(file: file) } catch { throw CLIError("\(source): \(error)") }
            let tokens = tokenizer.encode(text, addSpecial: true)
            let engine: Transformer
            do {
                engine = try Transformer(weights: try ModelWeights(path: source),
                                         options: EngineOptions(threads: threads, context: context, batchTokens: min(context, 512)))
            } catch { throw CLIError("\(source): \(error)") }
            Console.progress("imatrix: \(tokens.count) tokens of \(path), chunks of \(context) on \(threads) thread(s)")
            do {
                return try ImportanceCollector.collect(engine, tokens: tokens, bos: tokenizer.addBOS ? tokenizer.bos : nil, context: context,
                                                       chunks: chunks, dataset: path, processOutput: processOutput) { done, all in Console.progress("imatrix: chunk \(done)/\(all)") }
            } catch { throw CLIError("\(flag) \(path): \(error)") }
        }

        func run() throws {
            if let text, let model, let format = ImportanceMatrix.Format(rawValue: format) {
                try make(model: model, text: text, format: format)
            }
            let matrix: ImportanceMatrix
            do { matrix = try ImportanceMatrix(path: file) } catch { throw CLIError(error.description) }
            let counts = matrix.entries.values.flatMap(\.counts)
            print("imatrix  \(file)")
            print("  entries       \(matrix.entries.count) weight matrices, \(matrix.entries.values.map(\.sums.count).reduce(0, +)) channels")
            print("  datasets      \(matrix.datasets.isEmpty ? "(not recorded)" : matrix.datasets.joined(separator: ", "))")
            print("  chunks        \(matrix.chunkCount == 0 ? "(not recorded)" : "\(matrix.chunkCount)")\(matrix.chunkSize > 0 ? " of \(matrix.chunkSize) tokens" : "")")
            if let lo = counts.min(), let hi = counts.max() { print("  counts        \(lo == hi ? "\(lo)" : "\(lo)–\(hi)") per entry") }
            if let model {
                let file = try Models.open(model)
                var missing: [String] = []
                for t in file.tensors where t.shape.count >= 2 && t.name.hasPrefix("blk.") {
                    do { if try matrix.weights(for: t.name, channels: t.rowLength) == nil { missing.append(t.name) } } catch {
                        throw CLIError("\(self.file): \(error.description)")
                    }
                }
                let unknown = matrix.entries.keys.filter { file.tensor(named: $0) == nil }.sorted()
                guard unknown.isEmpty else {
                    throw CLIError("\(self.file): \(unknown.count) entries name no tensor of \(model), e.g. '\(unknown[0])': made for another model?")
                }
                print("  model         \(model): \(missing.isEmpty ? "every block matrix has an entry" : "\(missing.count) block matrices have none, e.g. \(missing[0])")")
            }
            if let convert, text == nil, let format = ImportanceMatrix.Format(rawValue: format) {
                do { try matrix.write(to: convert, format: format) } catch { throw CLIError(error.description) }
                print("  written       \(convert) (\(format.rawValue))")
            }
        }
    }
}
