extension Architecture {
    /// Phi-3 / Phi-3.5: the Llama graph with fused QKV and gate-up matrices and RoPE in halves.
    /// Files with LongRoPE factors (`rope_factors_long`/`_short`) are refused at load.
    public static let phi3 = Architecture(name: "phi3", rope: .halves, attentionBiases: false, fusedProjections: true,
                                          scalesQueries: true)
}
