extension Architecture {
    /// SmolLM3: Llama's tensors and adjacent-pair RoPE, except that every fourth layer (the 4th,
    /// 8th, …) applies no rotary embedding at all (llama.cpp's `n_no_rope_layer_step`, fixed at 4).
    public static let smollm3 = Architecture(name: "smollm3", rope: .adjacent, attentionBiases: false, noRopeLayerStep: 4)
}
