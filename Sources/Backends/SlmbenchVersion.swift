/// slmbench's own version: printed by `--version` and recorded with native results.
public enum SlmbenchVersion {
    public static let string = "0.1.0"
}
