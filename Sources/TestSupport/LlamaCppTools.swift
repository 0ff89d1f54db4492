import Foundation
import ModelFormat

/// llama.cpp's own command-line tools (llama-imatrix, llama-quantize, …), built by
/// `scripts/tools/build-llamacpp.sh --tools` into the cache; scripts/test.sh builds them. A test
/// that needs one fails with `missingMessage` when it is not there.
public enum LlamaCppTools {
    /// `$SLMBENCH_CACHE/llama.cpp/llama-cpp-python-VERSION/bin/NAME`.
    public static func path(_ name: String) -> URL {
        ModelCache.fromEnvironment().root
            .appendingPathComponent("llama.cpp/llama-cpp-python-\(LlamaCppVocabularies.version)/bin/\(name)")
    }

    public static func isPresent(_ name: String) -> Bool { FileManager.default.isExecutableFile(atPath: path(name).path) }

    public static func missingMessage(_ name: String) -> String {
        "\(name) is not built (\(path(name).path)); run scripts/tools/build-llamacpp.sh --tools (scripts/test.sh does)"
    }

    /// Runs a tool to its end: exit status and everything it printed (stdout and stderr together).
    public static func run(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = path(name)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
