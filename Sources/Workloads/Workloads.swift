/// Sweep specs, plans, the measurement protocol and the orchestrator.
/// Filled by the sweeps issue (#6); nothing here works yet.
public enum Workloads {
    public static let plannedIn = 6
}
