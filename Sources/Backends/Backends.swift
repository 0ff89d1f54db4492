/// The `InferenceBackend` protocol, worker processes, and the llama.cpp, external-command and
/// roofline backends. Filled by the backends issue (#5); nothing here works yet.
public enum Backends {
    public static let plannedIn = 5
}
