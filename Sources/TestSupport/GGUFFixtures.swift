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
