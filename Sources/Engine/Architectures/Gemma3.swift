extension Architecture {
    /// Gemma 3 (text): per-head Q/K norms and RoPE in halves, the embedding scaled by √width,
    /// post-attention and post-FFN norms, GeGLU, and five sliding-window layers for each global
    /// one. The norm weights in GGUF already include Gemma's +1.
    public static let gemma3 = Architecture(name: "gemma3", rope: .halves, attentionBiases: false, queryKeyNorms: true, gemma: true,
                                            scalesQueries: true)
}
