extension Architecture {
    /// Qwen2 / Qwen2.5: the Llama graph with Q/K/V biases and half-split rotary pairs.
    public static let qwen2 = Architecture(name: "qwen2", rope: .halves, attentionBiases: true)
}
