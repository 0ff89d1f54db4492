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
        do { return try open() } catch { throw failure(error) }
    }

    /// A store's error as the command line reports it: `--store LOCATION: what went wrong`
    /// (store errors usually begin with the location already; it is not repeated).
    func failure(_ error: StoreError) -> CLIError {
        let text = error.description.hasPrefix(description) ? error.description : "\(description): \(error.description)"
        return CLIError("--store \(text)")
    }
}
