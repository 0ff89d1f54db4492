/// The native Swift inference engine (Llama family, quantized kernels, pinned thread pool).
/// Filled by the native engine issue (#4); nothing here works yet.
public enum Engine {
    public static let plannedIn = 4
}
