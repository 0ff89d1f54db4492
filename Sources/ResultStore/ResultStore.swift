/// Versioned result schema, JSONL journal, SQLite and PostgreSQL stores.
/// Filled by the sweeps issue (#6) and the fleet issue (#9); nothing here works yet.
public enum ResultStore {
    public static let plannedIn = 6
}
