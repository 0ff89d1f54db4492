import Foundation

/// slmbench's own version: printed by `--version` and recorded with native results.
public enum SlmbenchVersion {
    public static let string = "0.1.0"
}

/// Version and build configuration, stamped into every profile and result.
public enum BuildInfo {
    public static let version = SlmbenchVersion.string
    #if DEBUG
    public static let configuration = "debug"
    #else
    public static let configuration = "release"
    #endif
    public static var producer: String { "slmbench \(version) (\(configuration) build)" }

    /// The source commit, for results' context blocks: $SLMBENCH_COMMIT, else `git describe` in
    /// the source tree this binary was built from (with -dirty for local changes); nil when neither answers.
    public static let commit: String? = {
        if let fromEnvironment = ProcessInfo.processInfo.environment["SLMBENCH_COMMIT"], !fromEnvironment.isEmpty { return fromEnvironment }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent(".git").path) else { return nil }
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", source.path, "describe", "--always", "--dirty", "--abbrev=12"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        do { try git.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        git.waitUntilExit()
        guard git.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }()
}
