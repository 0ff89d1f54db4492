extension Architecture {
    /// Llama (and SmolLM2, TinyLlama, Llama 3.x): RMSNorm, GQA, SwiGLU, no biases.
    public static let llama = Architecture(name: "llama", rope: .adjacent, attentionBiases: false)
}
