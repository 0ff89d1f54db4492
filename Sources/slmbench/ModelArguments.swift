import ArgumentParser
import Backends
import Engine
import Foundation
import ModelFormat

/// `--model` and `--type`, shared by the commands that run a model.
struct ModelOptions: ParsableArguments {
    @Option(help: "A known model name (\(KnownModel.all.map(\.name).joined(separator: ", "))) or a GGUF file.")
    var model: String

    @Option(help: "Convert the weights to this type, recipe (q4_k_m, …) or mix:FILE first (cached); default: run the file as it is.")
    var type: String?

    func validate() throws {
        if let type { _ = try Models.mix(type, flag: "--type") }
    }

    /// The file to run: the model itself, or its cached conversion to `--type`.
    func resolve() throws -> String {
        let path = try Models.resolve(model)
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError("--model: no such file \(path)") }
        guard let type else { return path }
        do {
            return try ModelQuantizer.ensure(source: URL(fileURLWithPath: path), mix: try Models.mix(type, flag: "--type"),
                                             cache: .fromEnvironment()) { Console.progress($0) }.path
        } catch let error as ModelQuantizer.Failure { throw CLIError(error.description) }
    }
}

/// Thread, cache and kernel options of a backend.
struct EngineArguments: ParsableArguments {
    @Option(help: "Threads.") var threads = 1
    @Option(help: "KV-cache element type.") var kv: KVType = .f32
    @Option(help: "Kernel set (default: the best this CPU runs).") var kernels: KernelLevel?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// A backend's load options (context and batch are the caller's).
    var loadOptions: LoadOptions { LoadOptions(threads: threads, kvType: kv, kernels: kernels) }
}
