import ArgumentParser
import Backends
import Engine
import Foundation

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt with a model, to see what it says.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var engine: EngineArguments
    @Option(help: "Backend: \(BackendRegistry.names.joined(separator: " or ")).") var backend = "native"
    @Option(help: "The text to continue.") var prompt: String
    @Option(help: "Most tokens to generate.") var maxTokens = 32
    @Flag(help: "Always take the most likely token (same as --temperature 0).") var greedy = false
    @Option(help: "Sampling temperature (0: greedy).") var temperature = 0.8
    @Option(help: "Keep the k most likely tokens (0: all).") var topK = 40
    @Option(help: "Keep the most likely tokens up to this probability mass.") var topP = 0.95
    @Option(help: "Sampling seed.") var seed: UInt64 = 1

    func validate() throws {
        guard BackendRegistry.names.contains(backend) else {
            throw ValidationError("--backend '\(backend)' is not \(BackendRegistry.names.joined(separator: " or "))")
        }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
        do { try sampling.validate() } catch { throw ValidationError(error.description) }
    }

    var sampling: SamplingOptions {
        greedy ? .greedy : SamplingOptions(temperature: temperature, topK: topK, topP: topP, seed: seed)
    }

    func run() throws {
        let path = try model.resolve()
        try Generation.run(backend: BackendRegistry.make(backend)!, modelPath: path, prompt: prompt, maxTokens: maxTokens,
                           sampling: sampling, options: engine.loadOptions) { FileHandle.standardOutput.write(Data($0.utf8)) }
        print()
    }
}
