import ArgumentParser
import Engine
import Foundation
import ModelFormat
import Worker

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt with a model, to see what it says.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var engine: EngineArguments
    @Option(help: "Backend: native.") var backend = "native"
    @Option(help: "The text to continue.") var prompt: String
    @Option(help: "Most tokens to generate.") var maxTokens = 32
    @Flag(help: "Always take the most likely token (same as --temperature 0).") var greedy = false
    @Option(help: "Sampling temperature (0: greedy).") var temperature = 0.8
    @Option(help: "Keep the k most likely tokens (0: all).") var topK = 40
    @Option(help: "Keep the most likely tokens up to this probability mass.") var topP = 0.95
    @Option(help: "Sampling seed.") var seed: UInt64 = 1

    func validate() throws {
        guard backend == "native" else { throw ValidationError("--backend: generate runs the native engine; '\(backend)' is not one it knows") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
        do { try sampling.validate() } catch { throw ValidationError(error.description) }
    }

    var sampling: SamplingOptions {
        greedy ? .greedy : SamplingOptions(temperature: temperature, topK: topK, topP: topP, seed: seed)
    }

    func run() throws {
        let path = try model.resolve()
        let weights: ModelWeights
        let tokenizer: Tokenizer
        do {
            weights = try ModelWeights(path: path)
            tokenizer = try Tokenizer(file: weights.file)
        } catch let error as EngineError { throw CLIError("\(path): \(error)") }
        catch { throw CLIError("\(path): \(error)") }
        let ids = tokenizer.encode(prompt).map(Int32.init)
        guard !ids.isEmpty else { throw CLIError("--prompt encodes to no tokens") }
        do {
            let transformer = try Transformer(weights: weights, options: engine.options(context: ids.count + maxTokens))
            var sampler = Sampler(sampling)
            var logits = try transformer.prefill(ids)
            FileHandle.standardOutput.write(Data(prompt.utf8))
            var generated: [Int] = []
            var shown = ""
            for _ in 0..<maxTokens {
                let next = sampler.next(logits[0])
                if let eos = tokenizer.eos, Int(next) == eos { break }
                generated.append(Int(next))
                // Print whole characters as they complete (a token may end mid-character).
                let text = (try? tokenizer.decode(generated)) ?? shown
                if text.count > shown.count, text.hasPrefix(shown) {
                    FileHandle.standardOutput.write(Data(text.dropFirst(shown.count).utf8))
                    shown = text
                }
                logits = try transformer.decode([(slot: 0, token: next)])
            }
            print()
        } catch { throw CLIError(error.description) }
    }
}
