import ArgumentParser
import Foundation
import ModelFormat

extension Models {
    /// Reads an importance matrix in either of llama.cpp's formats, says what it holds, and
    /// optionally writes it in the other.
    struct Imatrix: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show an importance matrix (llama-imatrix's GGUF or legacy .dat file), or convert it.",
            discussion: reflow("""
                An importance matrix holds, per weight matrix, the mean squared activation of each input
                channel over a calibration text; quantizers weight each weight's error by it. slmbench
                reads and writes llama.cpp's two formats, so a file made by either tool works with the other's
                quantizer (`llama-quantize --imatrix FILE`).
                """))
        @Argument(help: "The importance-matrix file.") var file: String
        @Option(help: ArgumentHelp("Write the matrix to this file…", valueName: "path")) var convert: String?
        @Option(help: ArgumentHelp("…in this format: gguf (llama-imatrix's default) or dat (its legacy format).", valueName: "format"))
        var format = "gguf"
        @Option(help: ArgumentHelp("Check that every entry fits this model's matrices (a GGUF file or a known model name).", valueName: "model"))
        var model: String?

        func validate() throws {
            guard ImportanceMatrix.Format(rawValue: format) != nil else {
                throw ValidationError("--format must be gguf or dat, got '\(format)'")
            }
        }

        func run() throws {
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
            if let convert, let format = ImportanceMatrix.Format(rawValue: format) {
                do { try matrix.write(to: convert, format: format) } catch { throw CLIError(error.description) }
                print("  written       \(convert) (\(format.rawValue))")
            }
        }
    }
}
