/// The backends slmbench runs in its own worker process, by the name `--backend` takes.
/// (`cmd:PROGRAM` is not here: an external program is its own worker.)
public enum BackendRegistry {
    public static let names = ["native", "llama.cpp"]

    public static func make(_ name: String) -> InferenceBackend? {
        switch name {
        case "native": return NativeBackend()
        case "llama.cpp": return LlamaCppBackend()
        default: return nil
        }
    }
}
