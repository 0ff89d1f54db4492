import Backends
import Engine
import Foundation
import ModelFormat
import TestSupport
import Testing
import Worker

/// The real, pinned llama.cpp through slmbench's run-time binding.
@Suite("llama.cpp backend", .serialized)
struct LlamaCppBackendTests {
    static func requireLibrary() throws {
        let lib = LlamaCppBackend.libraryFolder() + "/libllama.so"
        try #require(FileManager.default.fileExists(atPath: lib),
                     "\(lib) is missing: run scripts/bootstrap.sh (it builds the pinned llama.cpp into the cache)")
    }

    static func variant(_ type: TensorType) throws -> String {
        try #require(FileManager.default.fileExists(atPath: RealModel.path.path), Comment(rawValue: RealModel.missingMessage))
        return try ModelQuantizer.ensure(source: RealModel.path, type: type, cache: .fromEnvironment()).path
    }

    @Test func theSwiftPinIsTheScriptsPin() throws {
        let pins = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("scripts/pins.env"), encoding: .utf8)
        let line = try #require(pins.split(separator: "\n").first { $0.hasPrefix("LLAMA_CPP_PYTHON_VERSION=") })
        #expect(LlamaCppBackend.pinnedPackage == "llama-cpp-python-" + line.dropFirst("LLAMA_CPP_PYTHON_VERSION=".count))
    }

    @Test func identityRecordsThePinnedBuild() throws {
        try Self.requireLibrary()
        let backend = LlamaCppBackend()
        try backend.load(modelPath: try Self.variant(.q8_0), options: LoadOptions(threads: 1, context: 64))
        defer { backend.unload() }
        let id = backend.identity
        #expect(id.build["ggml_version"] == "0.25.3")
        #expect(id.build["ggml_commit"]?.hasPrefix("0c1e570") == true)
        #expect(id.build["commit"] == "0c1e570" && id.build["build_number"] != nil, "\(id.build)")
        #expect(id.version.hasPrefix("b\(id.build["build_number"] ?? "?")-0c1e570"))
        #expect(backend.vocabularySize == 49152)
        #expect(backend.memory.weightsBytes ?? 0 > 100_000_000)
    }

    /// llama.cpp takes the total context as a 32-bit count: more is refused, not a trap.
    @Test func aContextPast32BitsIsRefused() throws {
        try Self.requireLibrary()
        let backend = LlamaCppBackend(), path = try Self.variant(.q8_0)
        do {
            try backend.load(modelPath: path, options: LoadOptions(threads: 1, context: 1 << 21, sequences: 4096))
            backend.unload()
            Issue.record("loaded with 2^33 positions")
        } catch {
            #expect(error.code == "bad-option" && error.message.contains("context"), "\(error)")
        }
    }

    /// The real model as llama-quantize writes it from slmbench's F32 conversion with one of its
    /// per-tensor recipes (`Q4_K_M`, `IQ4_NL`, …), made once next to the F32 file in the cache.
    static func llamaQuantized(_ recipe: String) throws -> String {
        try requireLibrary()
        // The native build's tool, also when SLMBENCH_LLAMACPP_LIB selects the AVX2-only libraries
        // (which come without tools): the file it writes does not depend on the ISA.
        var environment = ProcessInfo.processInfo.environment
        environment["SLMBENCH_LLAMACPP_LIB"] = nil
        let tool = URL(fileURLWithPath: LlamaCppBackend.libraryFolder(environment)).deletingLastPathComponent()
            .appendingPathComponent("bin/llama-quantize").path
        try #require(FileManager.default.isExecutableFile(atPath: tool),
                     "\(tool) is missing: run scripts/tools/build-llamacpp.sh --tools (it adds llama.cpp's tools to the cached build)")
        let f32 = URL(fileURLWithPath: try variant(.f32))
        let output = f32.deletingPathExtension().appendingPathExtension("llama-quantize-\(recipe).gguf").path
        if !FileManager.default.fileExists(atPath: output) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = [f32.path, output + ".part", recipe]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "llama-quantize \(f32.path) \(recipe) exited \(process.terminationStatus)")
            try FileManager.default.moveItem(atPath: output + ".part", toPath: output)
        }
        return output
    }

    /// llama.cpp (row 0) and the native engine (row 1) on one variant's file: two chunks of 256
    /// tokens of the corpus, 254 scored positions.
    static func llamaCppThenNative(_ type: TensorType) throws -> QualityEvaluation.Report {
        try llamaCppThenNative(path: try variant(type))
    }

    static func llamaCppThenNative(path: String) throws -> QualityEvaluation.Report {
        try requireLibrary()
        let file = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let tokens = try Tokenizer(file: file).encode(try Corpus.load(nil).text).map(Int32.init)
        return try QualityEvaluation(context: 256, chunks: 2).run(
            tokens: tokens, corpus: "GPL-3",
            variants: [.init(label: "llama.cpp", backend: LlamaCppBackend(), path: path), .init(label: "native", backend: NativeBackend(), path: path)],
            threads: 2)
    }

    /// The q8_0 and q4_0 caches (llama.cpp's -ctk/-ctv, with the flash attention it needs for
    /// them and its Hadamard turn of Q, K and V) on F32 weights, so neither engine rounds
    /// activations. Two evaluations over 254 positions of the corpus:
    ///  1. against llama.cpp with an f32 cache: the cache's loss in llama.cpp and in the native
    ///     engine must be the same size (the same algorithm: within a factor 4/3 either way);
    ///  2. the native engine against llama.cpp, both with the quantized cache: mean KL below
    ///     twice llama.cpp's own loss. Why that bound: the engines quantize K and V from values
    ///     that differ by float roundings, so some block roundings flip and their quantization
    ///     noise is not the same draw; two independent draws of a perturbation of KL L are about
    ///     2L apart (KL grows as the squared distance). Measured here (2026-12-04): q8_0 4.2e-4
    ///     against a loss of 3.6e-4, q4_0 0.045 against 0.089: the engines share most of the noise.
    @Test(arguments: [KVType.q8_0, .q4_0])
    func nativeAndLlamaCppAgreeWithAQuantizedCache(kv: KVType) throws {
        try Self.requireLibrary()
        let path = try Self.variant(.f32)
        let file = try #require(try RealModel.open(), Comment(rawValue: RealModel.missingMessage))
        let tokens = try Tokenizer(file: file).encode(try Corpus.load(nil).text).map(Int32.init)
        let evaluation = QualityEvaluation(context: 256, chunks: 2)
        let losses = try evaluation.run(
            tokens: tokens, corpus: "GPL-3",
            variants: [.init(label: "llama.cpp f32 cache", backend: LlamaCppBackend(), path: path, kvType: .f32),
                       .init(label: "llama.cpp", backend: LlamaCppBackend(), path: path, kvType: kv),
                       .init(label: "native", backend: NativeBackend(), path: path, kvType: kv)],
            threads: 2)
        let between = try evaluation.run(
            tokens: tokens, corpus: "GPL-3",
            variants: [.init(label: "llama.cpp", backend: LlamaCppBackend(), path: path, kvType: kv),
                       .init(label: "native", backend: NativeBackend(), path: path, kvType: kv)],
            threads: 2)
        let llamaLoss = losses.rows[1].meanKLD ?? 0, nativeLoss = losses.rows[2].meanKLD ?? 1, engines = between.rows[1].meanKLD ?? 1
        print("kv \(kv.rawValue) on F32 weights over \(between.scoredPositions) positions: the cache's loss (mean KL against llama.cpp's f32 cache) llama.cpp \(llamaLoss), native \(nativeLoss); native vs llama.cpp with the same cache \(engines), top-1 \(between.rows[1].top1Agreement ?? -1)")
        #expect(between.scoredPositions >= 250)
        #expect(llamaLoss > 0 && nativeLoss > 0.75 * llamaLoss && nativeLoss < llamaLoss / 0.75,
                "\(kv): the cache costs llama.cpp \(llamaLoss), the native engine \(nativeLoss)")
        #expect(engines < 2 * llamaLoss, "\(kv): native vs llama.cpp \(engines), llama.cpp's own loss \(llamaLoss)")
    }

    @Test func nativeAndLlamaCppAgreeOnHalfPrecisionWeights() throws {
        // Without 8-bit activations both engines compute the same function in float; the
        // distributions must agree closely (llama.cpp rounds activations to f16 for f16 weights,
        // the native engine keeps them f32, so not to the rounding).
        let report = try Self.llamaCppThenNative(.f16)
        let native = report.rows[1]
        #expect((native.meanKLD ?? 1) < 1e-4, "mean KL \(native.meanKLD ?? -1)")
        #expect((native.top1Agreement ?? 0) >= 0.99, "top-1 \(native.top1Agreement ?? -1)")
        #expect(abs(native.deltaPerplexity ?? 1) / report.rows[0].perplexity < 1e-3)
    }

    @Test(arguments: [TensorType.q8_0, .q4_0, .q4_1])
    func nativeAndLlamaCppAgreeWithEightBitActivations(type: TensorType) throws {
        // Each engine rounds activations to 8 bits before every quantized matrix product; a
        // one-ulp difference upstream flips some roundings and the flips compound (to a mean KL
        // of ~4e-3). The native engine computes with llama.cpp's float steps (CKernels scalar.c, RoPE,
        // Q4_0 block order), so the logits agree to the rounding: a single flip would show here.
        // (The issue's bar, KL < 1e-3 and 99% top-1 over 512+ positions, is met by far: README.)
        //
        // Those float steps are the ones llama.cpp's AVX2 build takes. Built for an AVX-512 CPU
        // (GGML_NATIVE), llama.cpp sums its f16/f32 vectors 16 lanes wide (on Arm, 4), so its
        // own logits move by an ulp and the flips compound as above: on an AVX-512 Xeon, mean KL
        // 3.5e-3–4.0e-3 and top-1 95–96% for the three types, while on the same machine a
        // llama.cpp built with AVX-512 off met the bar below. There the test asks for the
        // distance between two float orders (KL < 1e-2, top-1 ≥ 90%) and no more.
        let report = try Self.llamaCppThenNative(type)
        let native = report.rows[1]
        // llama.cpp is loaded by now (the evaluation ran it), so its CPU features are known.
        let systemInfo = LlamaCppBackend().identity.build["system_info"] ?? ""
        let sameOrders = systemInfo.contains("AVX2 = 1") && !systemInfo.contains("AVX512 = 1")
        #expect(report.scoredPositions >= 250)
        if sameOrders {
            #expect((native.meanKLD ?? 1) < 1e-6, "\(type.name): mean KL \(native.meanKLD ?? -1)")
            #expect((native.top1Agreement ?? 0) >= 0.99, "\(type.name): top-1 \(native.top1Agreement ?? -1)")
        } else {
            #expect((native.meanKLD ?? 1) < 1e-2, "\(type.name) against llama.cpp's other float orders: mean KL \(native.meanKLD ?? -1)")
            #expect((native.top1Agreement ?? 0) >= 0.9, "\(type.name) against llama.cpp's other float orders: top-1 \(native.top1Agreement ?? -1)")
        }
    }

    /// The types people ship, in llama-quantize's own files: its five K recipes and IQ4_NL. On
    /// SmolLM2-135M only the FFN down projections (1536 wide) take K types; the 576-wide matrices
    /// fall back (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, …), so each file also runs those kernels.
    /// The native engine takes llama.cpp's float steps for every K type: its repacked Q4_K
    /// (gemv, and gemm by fours), its tiled K product from eight tokens on, and its dot products
    /// below that (avx2.c, row_dot_k). Against an AVX2-only build of llama.cpp
    /// (`scripts/tools/build-llamacpp.sh --isa avx2`, selected with SLMBENCH_LLAMACPP_LIB; test.sh
    /// runs these tests a second time so) the logits must be the same to the rounding: a mean KL
    /// under 1e-6, where one flipped activation rounding shows as ~1e-3. Against a build with
    /// other float orders (AVX-512, Arm), the distance of two orders, as above.
    @Test(arguments: ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL"])
    func nativeAndLlamaCppAgreeOnLlamaQuantizeRecipes(recipe: String) throws {
        let report = try Self.llamaCppThenNative(path: try Self.llamaQuantized(recipe))
        let native = report.rows[1]
        print("agreement smollm2-135m \(recipe): mean KL \(native.meanKLD ?? -1), top-1 \(native.top1Agreement ?? -1) over \(report.scoredPositions) positions")
        #expect(report.scoredPositions >= 250)
        let systemInfo = LlamaCppBackend().identity.build["system_info"] ?? ""
        if systemInfo.contains("AVX2 = 1") && !systemInfo.contains("AVX512 = 1") {
            #expect((native.meanKLD ?? 1) < 1e-6, "\(recipe): mean KL \(native.meanKLD ?? -1)")
            #expect((native.top1Agreement ?? 0) >= 0.99, "\(recipe): top-1 \(native.top1Agreement ?? -1)")
        } else {
            #expect((native.meanKLD ?? 1) < 1e-2, "\(recipe) against llama.cpp's other float orders: mean KL \(native.meanKLD ?? -1)")
            #expect((native.top1Agreement ?? 0) >= 0.9, "\(recipe) against llama.cpp's other float orders: top-1 \(native.top1Agreement ?? -1)")
        }
    }

    /// The architectures the native engine learned after Llama and Qwen2, each on a synthetic
    /// file of its own: llama.cpp (row 0) and the native engine (row 1) over two chunks of 256
    /// tokens of the corpus, as the file's own tokenizer (its family's) reads it: 254 scored
    /// positions.
    static func syntheticAgreement(_ preset: String, _ type: TensorType) throws -> QualityEvaluation.Report {
        try requireLibrary()
        let shape = try #require(ArchitecturePreset.named(preset))
        let vocabulary = try shape.vocabularySource.open(cache: .fromEnvironment(), for: preset)
        let folder = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("\(preset)-\(type.name).gguf").path
        try SyntheticModel.generate(preset: shape, type: type, seed: 7, tokenizer: vocabulary, output: path)
        let text = try Tokenizer(file: try GGUFFile(path: path)).encode(try Corpus.load(nil).text)
        try #require(text.count >= 512, "the corpus is \(text.count) tokens of \(preset)'s vocabulary")
        return try QualityEvaluation(context: 256, chunks: 2).run(
            tokens: text.prefix(512).map(Int32.init), corpus: "GPL-3",
            variants: [.init(label: "llama.cpp", backend: LlamaCppBackend(), path: path), .init(label: "native", backend: NativeBackend(), path: path)],
            threads: 2)
    }

    @Test(arguments: ["qwen3-0.6b", "gemma3-270m", "mini-gemma3", "mini-smollm3", "mini-phi3"], [TensorType.f32, .q8_0])
    func newArchitecturesAgreeWithLlamaCpp(preset: String, type: TensorType) throws {
        try Self.expectAgreement(preset, type)
    }

    /// The 3–4B presets at their published shapes: 12–15 GB as F32, so they run when
    /// SLMBENCH_AGREEMENT_LARGE=1 asks for them (and are reported skipped otherwise).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SLMBENCH_AGREEMENT_LARGE"] == "1",
                   "12–15 GB files: set SLMBENCH_AGREEMENT_LARGE=1"),
          arguments: ["smollm3-3b", "phi-3.5-mini"], [TensorType.f32, .q8_0])
    func largePresetsAgreeWithLlamaCpp(preset: String, type: TensorType) throws {
        let systemInfo = LlamaCppBackend().identity.build["system_info"] ?? ""
        guard type == .q8_0, !(systemInfo.contains("AVX2 = 1") && !systemInfo.contains("AVX512 = 1")) else {
            return try Self.expectAgreement(preset, type)
        }
        // Against llama.cpp's AVX2 build both presets' Q8_0 logits are identical to the engine's
        // (mean KL 0.0, top-1 100%; Zen 4 c8528d7ee623e599, 2026-12-04). Against its AVX-512
        // build, 32–36 layers compound the other float order's flipped 8-bit roundings: smollm3-3b
        // mean KL 9.2e-4, top-1 86%; phi-3.5-mini 1.6e-3, 91% (same day and machine).
        withKnownIssue("Q8_0 at 32-36 layers against llama.cpp's AVX-512 float order", isIntermittent: true) {
            try Self.expectAgreement(preset, type)
        }
    }

    static func expectAgreement(_ preset: String, _ type: TensorType) throws {
        let start = Date()
        let report = try Self.syntheticAgreement(preset, type)
        let native = report.rows[1]
        print("agreement \(preset) \(type.name): mean KL \(native.meanKLD ?? -1), top-1 \(native.top1Agreement ?? -1) over \(report.scoredPositions) positions in \(Int(Date().timeIntervalSince(start))) s")
        #expect(report.scoredPositions >= 254)
        #expect((native.meanKLD ?? 1) < 1e-3, "\(preset) \(type.name): mean KL \(native.meanKLD ?? -1)")
        // With 8-bit activations the top-1 bar holds where llama.cpp sums in the native engine's
        // float order (its AVX2 build). Built for AVX-512 it sums 16 lanes wide, and on random
        // weights, whose logits are nearly flat, a one-ulp difference flips near-ties: on an
        // AVX-512 Xeon, qwen3-0.6b Q8_0 agreed at top-1 98.4% (4 of 254) with mean KL 3.2e-5; on a
        // Zen 4 EPYC, with the corpus read by Qwen's own tokenizer, 96.5% (9 of 254), mean KL 3.5e-5,
        // every flip at a top-1/top-2 margin under 0.02 (README, "the native engine").
        let systemInfo = LlamaCppBackend().identity.build["system_info"] ?? ""
        let sameOrders = type == .f32 || (systemInfo.contains("AVX2 = 1") && !systemInfo.contains("AVX512 = 1"))
        #expect((native.top1Agreement ?? 0) >= (sameOrders ? 0.99 : 0.95), "\(preset) \(type.name): top-1 \(native.top1Agreement ?? -1)")
    }

    /// A synthetic file of a preset carries its family's vocabulary (llama.cpp's vocabulary file):
    /// its size, token types and special tokens, as slmbench reads them and as llama.cpp, which
    /// loads the file, settles them.
    @Test(arguments: ["qwen3-0.6b", "gemma3-270m", "llama-3.2-1b"])
    func syntheticPresetsCarryTheirFamilysVocabulary(preset: String) throws {
        try Self.requireLibrary()
        let shape = try #require(ArchitecturePreset.named(preset))
        let source = try shape.vocabularySource.open(cache: .fromEnvironment(), for: preset)
        let folder = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("\(preset).gguf").path
        try SyntheticModel.generate(preset: shape, type: .q4_0, tokenizer: source, output: path)
        let file = try GGUFFile(path: path)
        let tokens = try #require(file["tokenizer.ggml.tokens"]?.array?.strings)
        #expect(tokens.count == shape.vocabulary && tokens == source["tokenizer.ggml.tokens"]?.array?.strings)
        #expect(file["tokenizer.ggml.token_type"] == source["tokenizer.ggml.token_type"])
        for key in ["model", "pre", "bos_token_id", "eos_token_id", "padding_token_id", "unknown_token_id", "add_bos_token"] {
            #expect(file["tokenizer.ggml.\(key)"] == source["tokenizer.ggml.\(key)"], "\(preset): tokenizer.ggml.\(key)")
        }
        #expect(file["tokenizer.ggml.bos_token_id"] != nil && file["tokenizer.ggml.eos_token_id"] != nil)
        let text = "Hello, world! 1234 ünïcode"
        #expect(try Tokenizer(file: file).encode(text, addSpecial: true) == (try Tokenizer(file: source).encode(text, addSpecial: true)))

        let backend = LlamaCppBackend()
        try backend.load(modelPath: path, options: LoadOptions(threads: 2, context: 64))
        defer { backend.unload() }
        #expect(backend.vocabularySize == shape.vocabulary)
        let special = try #require(backend.specialTokens)
        #expect(special.bos == file["tokenizer.ggml.bos_token_id"]?.int, "\(preset): llama.cpp's BOS \(special.bos ?? -1)")
        #expect(special.eos == file["tokenizer.ggml.eos_token_id"]?.int, "\(preset): llama.cpp's EOS \(special.eos ?? -1)")
        #expect(special.padding == file["tokenizer.ggml.padding_token_id"]?.int, "\(preset): llama.cpp's padding \(special.padding ?? -1)")
    }

    @Test func sequencesDecodedTogetherMatchEachAlone() throws {
        try Self.requireLibrary()
        let path = try Self.variant(.q8_0)
        let prompts: [[Int32]] = [[504, 3575, 282, 4649, 314], [1, 2, 3, 4, 5, 6, 7]]
        func greedy(_ backend: LlamaCppBackend, _ sequences: [Int]) throws -> [[Int32]] {
            var last: [Int32] = []
            for s in sequences {
                _ = try backend.prefill(prompts[s], sequence: sequences.count == 1 ? 0 : s, allLogits: false)
                last.append(Measurement.argmax(backend.logits(0)))
            }
            var out = Array(repeating: [Int32](), count: sequences.count)
            for _ in 0..<6 {
                _ = try backend.decode(last.indices.map { (sequence: $0, token: last[$0]) })
                for i in last.indices {
                    last[i] = Measurement.argmax(backend.logits(i))
                    out[i].append(last[i])
                }
            }
            return out
        }
        let together = LlamaCppBackend()
        try together.load(modelPath: path, options: LoadOptions(threads: 2, context: 32, sequences: 2, batchTokens: 16))
        let both = try greedy(together, [0, 1])
        together.unload()
        for s in 0..<2 {
            let alone = LlamaCppBackend()
            try alone.load(modelPath: path, options: LoadOptions(threads: 2, context: 32, sequences: 1, batchTokens: 16))
            #expect(try greedy(alone, [s])[0] == both[s], "sequence \(s)")
            alone.unload()
        }
    }

    @Test func batchedDecodeFromBOSRuns() throws {
        // Four sequences from BOS (no prompt): each decode step hands llama.cpp 4 tokens at once,
        // more than a 0-token prompt's batch; llama.cpp asserted (and aborted) before the run's
        // batch size counted the sequences.
        try Self.requireLibrary()
        let spec = RunSpec(backend: .llamaCpp, model: try Self.variant(.q8_0), modelName: "m", batch: 4, promptTokens: 0, genTokens: 3,
                           warmup: 0, repetitions: 1)
        #expect(spec.loadOptions.batchTokens == 4)
        let samples = try Measurement.run(spec, on: LlamaCppBackend())
        #expect(samples.repetitions.first?.stepSeconds.count == 3, "\(samples.repetitions)")
    }

    @Test func labTypesAreRefusedByName() throws {
        try Self.requireLibrary()
        let path = try Self.variant(TensorType(name: "lab4g32a")!)
        #expect(throws: BackendError.self) {
            try LlamaCppBackend().load(modelPath: path, options: LoadOptions())
        }
        do { try LlamaCppBackend().load(modelPath: path, options: LoadOptions()) } catch {
            #expect(error.code == "unsupported-type" && error.message.lowercased().contains("lab4g32a"), "\(error.message)")
        }
    }
}
