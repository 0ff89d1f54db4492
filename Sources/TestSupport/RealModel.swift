import Foundation
import ModelFormat

/// The real SmolLM2-135M file, for tests that need real weights. When it is missing the
/// caller fails with instructions; such tests never pass silently.
public enum RealModel {
    public static var path: URL { ModelCache.fromEnvironment().path(of: .smollm2_135m) }

    public static var missingMessage: String {
        "the real model is not in the cache (\(path.path)); run scripts/bootstrap.sh, or `slmbench models fetch smollm2-135m`"
    }

    /// The opened file, or nil when it is missing (the caller records `missingMessage`).
    public static func open() throws -> GGUFFile? {
        guard FileManager.default.fileExists(atPath: path.path) else { return nil }
        return try GGUFFile(path: path.path)
    }
}
