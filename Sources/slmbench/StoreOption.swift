import ArgumentParser
import Foundation
import ResultStore

/// `--store`, shared by every command that reads or writes results.
struct StoreOption: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Results store: a SQLite file, or postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…] with the password in $PGPASSWORD (default: $SLMBENCH_STORE, else results/slmbench.sqlite).",
        valueName: "path-or-url"))
    var store: String?

    var location: StoreLocation {
        get throws {
            do { return try StoreLocation.resolve(store) } catch { throw CLIError(error.description) }
        }
    }
}

extension StoreLocation {
    /// The store to read results from; a SQLite file that does not exist yet is an error.
    func openForReading() throws -> any ResultsStore {
        guard mayHoldResults else {
            throw CLIError("--store \(description): no results database there yet; run a sweep first (slmbench sweep profiles/sweeps/quick.yaml)")
        }
        return try openForWriting()
    }

    func openForWriting() throws -> any ResultsStore {
        do { return try open() } catch {
            // Store errors begin with the store's printable name already.
            let text = error.description.hasPrefix(description) ? error.description : "\(description): \(error.description)"
            throw CLIError("--store \(text)")
        }
    }
}
