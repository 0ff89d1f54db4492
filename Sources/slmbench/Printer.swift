import Foundation
import Worker

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

/// `--json` output: one pretty, key-sorted document with the protocol's snake_case keys.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = ProtocolJSON.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
    }
}
