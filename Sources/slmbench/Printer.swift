import Foundation
import Reporter

// The printer glue: errors, progress on stderr, JSON documents on stdout.

/// A failure with a message for the user; exits 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Progress and diagnostics on stderr, so stdout carries only results.
enum Console {
    static func progress(_ line: String) {
        FileHandle.standardError.write(Data(("slmbench: " + line + "\n").utf8))
    }
    static func warn(_ line: String) {
        FileHandle.standardError.write(Data(("slmbench: " + line + "\n").utf8))
    }
}

/// `--json` output: one document as `JSONDocument` encodes them (snake_case keys, sorted, pretty).
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        FileHandle.standardOutput.write(try JSONDocument.encode(value) + Data("\n".utf8))
    }
}
