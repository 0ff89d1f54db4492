extension Architecture {
    /// Qwen3: the Llama graph without biases, with an RMSNorm over each query and key head
    /// (`attn_q_norm`, `attn_k_norm`, one weight per head dimension) before RoPE in halves.
    public static let qwen3 = Architecture(name: "qwen3", rope: .halves, attentionBiases: false, queryKeyNorms: true)
}
