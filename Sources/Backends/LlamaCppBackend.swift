import CLlamaCpp
import Engine
import Foundation
import ModelFormat

/// llama.cpp as a backend: the pinned libllama, built by scripts/tools/build-llamacpp.sh into the
/// cache and loaded at run time (`SLMBENCH_LLAMACPP_LIB` names another lib folder).
public final class LlamaCppBackend: InferenceBackend {
    public static let pinnedPackage = "llama-cpp-python-" + ModelCache.llamaCppPythonVersion
    private var run: OpaquePointer?
    private var vocabulary = 0
    private var kvBytes: Int?
    private var options = LoadOptions()
    private var lengths: [Int32] = []
    private var buildInfo: [String: String] = [:]

    public init() {}

    /// The folder holding libllama.so and libggml-base.so.
    public static func libraryFolder(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let lib = environment["SLMBENCH_LLAMACPP_LIB"], !lib.isEmpty { return lib }
        return ModelCache.fromEnvironment(environment).root
            .appendingPathComponent("llama.cpp").appendingPathComponent(pinnedPackage).appendingPathComponent("lib").path
    }

    /// Build number and commit as scripts/tools/build-llamacpp.sh recorded them.
    static func recordedBuild(libraryFolder: String) -> [String: String] {
        let path = URL(fileURLWithPath: libraryFolder).deletingLastPathComponent().appendingPathComponent("build-info.txt").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var info: [String: String] = [:]
        for line in text.split(separator: "\n").map(String.init) {
            // The generated build-info.cpp declares `int LLAMA_BUILD_NUMBER = N;` and
            // `char const * LLAMA_COMMIT = "…";`; the script adds the package's name and version.
            if line.hasPrefix("int LLAMA_BUILD_NUMBER = "), let n = line.split(separator: "=").last {
                info["build_number"] = n.trimmingCharacters(in: CharacterSet(charactersIn: " ;"))
            }
            if line.hasPrefix("char const * LLAMA_COMMIT = "), let c = line.split(separator: "\"").dropFirst().first { info["commit"] = String(c) }
            if line.hasPrefix("llama-cpp-python") { info["package"] = line }
        }
        return info
    }

    public var identity: BackendIdentity {
        var build = buildInfo
        build["ggml_version"] = String(cString: slm_llama_ggml_version())
        build["ggml_commit"] = String(cString: slm_llama_ggml_commit())
        build["system_info"] = String(cString: slm_llama_system_info()).trimmingCharacters(in: .whitespaces)
        // See slm_llama_start: off, the cache type asked for is the one attention uses; a quantized
        // cache needs it on (llama.cpp reads a quantized V only in its flash-attention path).
        build["flash_attn"] = options.kvType.isBlock ? "on" : "off"
        return BackendIdentity(name: "llama.cpp", version: "b\(build["build_number"] ?? "?")-\(build["commit"] ?? SLM_LLAMA_COMMIT)", build: build)
    }

    public var capabilities: BackendCapabilities {
        BackendCapabilities(types: ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"],
                            maxSequences: 64, kvTypes: KVType.allCases.map(\.rawValue), threads: true, perTokenTimes: true, logits: true)
    }

    public func load(modelPath: String, options: LoadOptions) throws(BackendError) {
        if let quant = options.activationQuant, quant != .none {
            throw BackendError("bad-option", "8-bit activations (\(quant.rawValue)) are a native-engine option; llama.cpp runs its own activation formats")
        }
        let folder = Self.libraryFolder()
        var message = [CChar](repeating: 0, count: 1024)
        guard FileManager.default.fileExists(atPath: folder + "/libllama.so") else {
            throw BackendError("backend-missing", "llama.cpp is not built: no \(folder)/libllama.so; run scripts/bootstrap.sh (or scripts/tools/build-llamacpp.sh)")
        }
        // On a failed GGML_ASSERT, ggml attaches gdb for a backtrace, which writes to stdout (the
        // protocol's channel) and buries the assertion under its dump; the message alone is kept.
        setenv("GGML_NO_BACKTRACE", "1", 0)
        guard slm_llama_open(folder, &message, message.count) == 0 else {
            throw BackendError("backend-version", Self.text(message))
        }
        buildInfo = Self.recordedBuild(libraryFolder: folder)
        // Read the header once: lab types are refused before llama.cpp sees them, and the
        // hyperparameters give the KV cache's size after the context is made.
        let file = try? GGUFFile(path: modelPath)
        if let file {
            let unsupported = Set(file.tensors.map(\.type)).filter { $0.isLab }
            if let lab = unsupported.first {
                throw BackendError("unsupported-type", "\(modelPath) holds \(lab.name) tensors, an slmbench lab type llama.cpp cannot run")
            }
        }
        guard options.cpus.isEmpty else { throw BackendError("bad-option", "the llama.cpp backend cannot pin threads to chosen CPUs (its OpenMP threads place themselves)") }
        // llama.cpp takes these as 32-bit counts; a larger request is refused, not truncated (or a trap here).
        let (positions, overflow) = options.context.multipliedReportingOverflow(by: options.sequences)
        guard !overflow, options.context >= 1, options.sequences >= 1, positions <= Int(UInt32.max), options.batchTokens >= 1,
              options.batchTokens <= Int(UInt32.max), options.threads >= 1, options.threads <= Int(Int32.max) else {
            throw BackendError("bad-option", "context \(options.context) × \(options.sequences) sequences, batch \(options.batchTokens) and \(options.threads) threads must each fit llama.cpp's 32-bit counts")
        }
        guard let run = slm_llama_start(modelPath, UInt32(options.context * options.sequences), UInt32(options.batchTokens), UInt32(options.sequences),
                                        Int32(options.threads), options.kvType.ggmlType, options.kvType.isBlock ? 1 : 0,
                                        &message, message.count) else {
            throw BackendError("load-failed", Self.text(message))
        }
        self.run = run
        self.options = options
        vocabulary = Int(slm_llama_n_vocab(run))
        lengths = Array(repeating: 0, count: options.sequences)
        if let file, let arch = file["general.architecture"]?.string,
           let layers = file["\(arch).block_count"]?.int, let heads = file["\(arch).attention.head_count"]?.int,
           let width = file["\(arch).embedding_length"]?.int, heads > 0 {
            let kvHeads = file["\(arch).attention.head_count_kv"]?.int ?? heads
            // In floating point: the metadata may claim anything llama.cpp did not look at.
            let bytes = 2 * Double(layers) * Double(slm_llama_n_ctx(run)) * Double(kvHeads) * Double(width / heads) * options.kvType.bytesPerElement
            if bytes >= 0 && bytes < Double(Int.max) { kvBytes = Int(bytes) }
        }
    }

    public var vocabularySize: Int { vocabulary }

    /// The BOS, EOS and padding token ids llama.cpp settled on for the loaded model (nil where
    /// it has none), which may differ from the file's metadata where llama.cpp applies its own rules.
    public var specialTokens: (bos: Int?, eos: Int?, padding: Int?)? {
        guard let run else { return nil }
        func id(_ which: Int32) -> Int? { let t = slm_llama_special_token(run, which); return t >= 0 ? Int(t) : nil }
        return (id(0), id(1), id(2))
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func decode(tokens: [Int32], positions: [Int32], sequences: [Int32], outputs: [Int8]) throws(BackendError) -> CallTiming {
        guard let run else { throw BackendError("not-loaded", "no model is loaded") }
        let start = MonotonicClock.now()
        let status = slm_llama_decode(run, tokens, positions, sequences, outputs, Int32(tokens.count))
        let end = MonotonicClock.now()
        guard status == 0 else { throw BackendError("decode-failed", "llama_decode returned \(status)") }
        for s in sequences { lengths[Int(s)] += 1 }
        return CallTiming(startNanoseconds: start, endNanoseconds: end)
    }

    public func prefill(_ tokens: [Int32], sequence: Int, allLogits: Bool) throws(BackendError) -> CallTiming {
        let start = lengths[sequence]
        return try decode(tokens: tokens, positions: tokens.indices.map { start + Int32($0) },
                          sequences: Array(repeating: Int32(sequence), count: tokens.count),
                          outputs: tokens.indices.map { allLogits || $0 == tokens.count - 1 ? 1 : 0 })
    }

    public func decode(_ steps: [(sequence: Int, token: Int32)]) throws(BackendError) -> CallTiming {
        try decode(tokens: steps.map(\.token), positions: steps.map { lengths[$0.sequence] },
                   sequences: steps.map { Int32($0.sequence) }, outputs: Array(repeating: 1, count: steps.count))
    }

    public func logits(_ i: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: slm_llama_logits(run, Int32(i)), count: vocabulary)
    }

    public func clear(sequence: Int) {
        guard let run else { return }
        slm_llama_clear(run, Int32(sequence))
        lengths[sequence] = 0
    }

    public var memory: BackendMemory {
        guard let run else { return BackendMemory() }
        return BackendMemory(weightsBytes: Int(slm_llama_model_bytes(run)), kvCacheBytes: kvBytes, scratchBytes: nil)
    }

    public func unload() {
        slm_llama_stop(run)
        run = nil
    }
}
