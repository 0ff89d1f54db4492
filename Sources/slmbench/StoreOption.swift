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
            try StoreLocation.resolve(store)
        }
    }
}
