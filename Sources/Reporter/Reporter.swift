/// Tables, the HTML report, compare and regression verdicts, cost model and recommendations.
/// Filled by the reports issue (#7); nothing here works yet.
public enum Reporter {
    public static let plannedIn = 7
}
