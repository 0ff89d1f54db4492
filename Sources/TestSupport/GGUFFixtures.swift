import ModelFormat

/// Small GGUF files built in code for tests.
public enum GGUFFixtures {
    /// Deterministic pseudo-random floats in [-scale, scale) (xorshift; the same on every machine).
    public static func values(_ count: Int, seed: UInt64 = 1, scale: Float = 1) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    /// A valid two-tensor file with metadata of several types.
    public static func small() throws -> [UInt8] {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("general.name", .string("fixture"))
        writer.set("llama.block_count", .uint32(1))
        writer.set("test.float", .float32(0.5))
        writer.set("test.bool", .bool(true))
        writer.set("test.tokens", .array(.string(["<s>", "</s>", "hello", "wörld"])))
        writer.set("test.ints", .array(.int32([1, -2, 3])))
        writer.tensors.append(GGUFTensorSpec(name: "a.weight", shape: [64, 2], type: .f32,
                                             bytes: values(128).withUnsafeBytes { Array($0) }))
        writer.tensors.append(GGUFTensorSpec(name: "b.weight", shape: [64, 3], type: .q8_0,
                                             bytes: try Quantization.quantize(values(192, seed: 2), to: .q8_0)))
        return try writer.bytes()
    }
}

extension GGUFFixtures {
    /// The shape of a small Llama-family model the native engine loads.
    public struct ModelShape: Sendable {
        public var architecture = "llama"
        public var layers = 1
        public var width = 32
        public var heads = 2
        public var kvHeads = 1
        public var feedForward = 64
        public var vocabulary = 64
        public var tied = true
        public var type = TensorType.q8_0
        public init() {}
    }

    /// A whole model file with no tokenizer (the engine does not read one): every tensor the
    /// engine loads, matrices in `shape.type`, norms and biases in F32, then `metadata` laid
    /// over the hyperparameters (to make them lie). A few kilobytes: a fuzzing seed as well.
    public static func model(_ shape: ModelShape = ModelShape(), metadata: [(String, GGUFValue)] = []) throws -> [UInt8] {
        let a = shape.architecture
        let headDim = shape.width / shape.heads
        var writer = GGUFWriter()
        writer.set("general.architecture", .string(a))
        writer.set("general.name", .string("slmbench fixture"))
        writer.set("\(a).block_count", .uint32(UInt32(shape.layers)))
        writer.set("\(a).context_length", .uint32(256))
        writer.set("\(a).embedding_length", .uint32(UInt32(shape.width)))
        writer.set("\(a).feed_forward_length", .uint32(UInt32(shape.feedForward)))
        writer.set("\(a).attention.head_count", .uint32(UInt32(shape.heads)))
        writer.set("\(a).attention.head_count_kv", .uint32(UInt32(shape.kvHeads)))
        writer.set("\(a).rope.freq_base", .float32(10000))
        writer.set("\(a).rope.dimension_count", .uint32(UInt32(headDim)))
        writer.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-5))
        for (key, value) in metadata { writer.set(key, value) }
        var seed: UInt64 = 1
        func add(_ name: String, _ dims: [Int], vector: Bool = false) throws {
            seed += 1
            let count = dims.reduce(1, *)
            let type = vector ? TensorType.f32 : shape.type
            let bytes = vector ? [Float](repeating: 1, count: count).withUnsafeBytes { Array($0) }
                               : try Quantization.quantize(values(count, seed: seed, scale: 0.05), to: type)
            writer.tensors.append(GGUFTensorSpec(name: name, shape: dims, type: type, bytes: bytes))
        }
        let (w, kv) = (shape.width, shape.kvHeads * headDim)
        try add("token_embd.weight", [w, shape.vocabulary])
        for layer in 0..<shape.layers {
            let p = "blk.\(layer)."
            try add(p + "attn_norm.weight", [w], vector: true)
            try add(p + "attn_q.weight", [w, w])
            try add(p + "attn_k.weight", [w, kv])
            try add(p + "attn_v.weight", [w, kv])
            if a == "qwen2" {
                try add(p + "attn_q.bias", [w], vector: true)
                try add(p + "attn_k.bias", [kv], vector: true)
                try add(p + "attn_v.bias", [kv], vector: true)
            }
            try add(p + "attn_output.weight", [w, w])
            try add(p + "ffn_norm.weight", [w], vector: true)
            try add(p + "ffn_gate.weight", [w, shape.feedForward])
            try add(p + "ffn_up.weight", [w, shape.feedForward])
            try add(p + "ffn_down.weight", [shape.feedForward, w])
        }
        try add("output_norm.weight", [w], vector: true)
        if !shape.tied { try add("output.weight", [w, shape.vocabulary]) }
        return try writer.bytes()
    }
}

extension GGUFFixtures {
    /// A model file of `preset` with pseudo-random weights and its family's tokenizer that does not
    /// say it is synthetic, so slmbench treats it as a real model (quality included): for tests of
    /// what slmbench does with an architecture only llama.cpp runs. Needs the tokenizer's file
    /// (`ArchitecturePreset.vocabularySource`).
    public static func unmarkedModel(preset name: String, type: TensorType, output: String) throws {
        guard let preset = ArchitecturePreset.named(name) else { throw FixtureError("no preset '\(name)'") }
        let tokenizer: GGUFFile
        do { tokenizer = try preset.vocabularySource.open(cache: .fromEnvironment(), for: name) } catch { throw FixtureError(error.description) }
        do { try SyntheticModel.generate(preset: preset, type: type, seed: 5, tokenizer: tokenizer, output: output, marked: false) }
        catch { throw FixtureError("\(error)") }
    }

    public struct FixtureError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
