import Foundation
import Measures

/// Results named on the command line, loaded one way for every command: a sweep folder (its
/// journal, with drift flags recomputed), a sweep id in the store, or everything in the store.
public struct ResultSet: Sendable {
    public var entries: [StoredRun]
    /// Where reports about these results go: the sweep folder, or results/ID for a sweep id.
    public var folder: URL?

    /// One sweep: `name` is a sweep folder or a sweep id in `store`; `flag` names the argument in errors.
    public static func load(_ name: String, store: StoreLocation, kinds: [EntryKind], flag: String) throws(StoreError) -> ResultSet {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: name, isDirectory: &isDirectory), isDirectory.boolValue {
            do { return ResultSet(entries: try SweepFolder.read(URL(fileURLWithPath: name)).entries.filter { kinds.contains($0.kind) },
                                  folder: URL(fileURLWithPath: name)) } catch {
                throw StoreError("\(flag) \(name): \(error)")
            }
        }
        guard store.mayHoldResults else {
            throw StoreError("\(flag) '\(name)' is not a sweep folder, and --store \(store.description) does not exist to look it up as a sweep id")
        }
        let entries: [StoredRun]
        let db = try store.openForReading()
        do { entries = try db.runs(sweep: name, kinds: kinds) } catch { throw store.failure(error) }
        guard !entries.isEmpty else { throw StoreError("\(flag) '\(name)': no such sweep folder, and no sweep with that id in \(store.description)") }
        return ResultSet(entries: entries, folder: URL(fileURLWithPath: "results").appendingPathComponent(name))
    }

    /// Every entry of `kinds` in the sweep folders `folders` (the `--results` flag), or in `store`
    /// when no folder is given.
    public static func load(folders: [String], store: StoreLocation, kinds: [EntryKind]) throws(StoreError) -> ResultSet {
        if folders.isEmpty {
            let db = try store.openForReading()
            do { return ResultSet(entries: try db.runs(kinds: kinds), folder: nil) } catch { throw store.failure(error) }
        }
        var entries: [StoredRun] = []
        for folder in folders {
            do { entries += try SweepFolder.read(URL(fileURLWithPath: folder)).entries.filter { kinds.contains($0.kind) } } catch {
                throw StoreError("--results \(folder): \(error)")
            }
        }
        return ResultSet(entries: entries, folder: folders.count == 1 ? URL(fileURLWithPath: folders[0]) : nil)
    }

    /// Measurements in a sweep folder or a journal file; nil for any other file (the caller may
    /// know other formats). `flag` names the argument in errors.
    public static func load(measurements path: String, flag: String) throws(StoreError) -> [StoredRun]? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw StoreError("\(flag) \(path): no such file") }
        if isDirectory.boolValue {
            do { return try SweepFolder.read(URL(fileURLWithPath: path)).entries } catch { throw StoreError("\(flag) \(path): \(error)") }
        }
        guard path.hasSuffix("journal.jsonl") else { return nil }
        do { return try Journal.read(path: path, tolerateTornTail: false).0 } catch { throw StoreError("\(flag) \(path): \(error)") }
    }
}

extension StoreLocation {
    /// The store to read results from; a SQLite file that does not exist yet is an error.
    public func openForReading() throws(StoreError) -> any ResultsStore {
        guard mayHoldResults else {
            throw StoreError("--store \(description): no results database there yet; run a sweep first (slmbench sweep profiles/sweeps/quick.yaml)")
        }
        return try openForWriting()
    }

    public func openForWriting() throws(StoreError) -> any ResultsStore {
        do { return try open() } catch { throw failure(error) }
    }

    /// A store's error as the command line reports it: `--store LOCATION: what went wrong`
    /// (store errors usually begin with the location already; it is not repeated).
    public func failure(_ error: StoreError) -> StoreError {
        if error.description.hasPrefix("--store ") { return error }
        let text = error.description.hasPrefix(description) ? error.description : "\(description): \(error.description)"
        return StoreError("--store \(text)")
    }
}
