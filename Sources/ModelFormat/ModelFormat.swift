/// GGUF reading and writing, tensor types and block quantization, tokenizers, architecture
/// presets and synthetic models. Filled by the models issue (#3); nothing here works yet.
public enum ModelFormat {
    /// The issue that builds this module, for "not built yet" messages.
    public static let plannedIn = 3
}
