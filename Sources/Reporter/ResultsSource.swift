import DeviceProbe
import Foundation
import Measures
import ResultStore

/// Where measured results come from for predictions, recommendations and costs: the store, or
/// sweep folders; and the hardware profiles of the machines they ran on.
public struct ResultsSource: Sendable {
    public var store: StoreLocation
    public var folders: [String]
    /// Profiles given explicitly (`--machine`); they win over the store's and the library's.
    public var machines: [HardwareProfile]

    public init(store: StoreLocation, folders: [String] = [], machines: [HardwareProfile] = []) {
        self.store = store; self.folders = folders; self.machines = machines
    }

    public func load(kinds: [EntryKind] = [.run, .quality]) throws(StoreError) -> [StoredRun] {
        try ResultSet.load(folders: folders, store: store, kinds: kinds).entries
    }

    /// Whether there is anything to load (a store that does not exist yet holds nothing).
    public var isEmpty: Bool { folders.isEmpty && !store.mayHoldResults }

    public var described: String { folders.isEmpty ? store.description : folders.joined(separator: ", ") }

    /// The profiles of the machines these results were measured on, by fingerprint: from the store,
    /// then from profiles/hardware/*.json; a profile with measured bandwidth wins.
    public func profiles(for entries: [StoredRun]) -> [String: HardwareProfile] {
        var found = ProfileLibrary.profiles(fingerprints: Set(entries.compactMap { $0.environment("fingerprint") }), store: store)
        for p in machines { found[p.fingerprint] = p }
        return found
    }
}

/// Hardware profiles: named on the command line, found by fingerprint, or probed here.
public enum ProfileLibrary {
    public static let folder = "profiles/hardware"

    /// Profiles named by `flag`; a bad file is an error naming the flag and the file.
    public static func load(_ paths: [String], flag: String) throws(InputError) -> [HardwareProfile] {
        var out: [HardwareProfile] = []
        for path in paths { out.append(try load(path, flag: flag)) }
        return out
    }

    public static func load(_ path: String, flag: String) throws(InputError) -> HardwareProfile {
        do { return try HardwareProfile.load(path: path) } catch { throw InputError("\(flag) \(path): \(error)") }
    }

    /// The profile in `path`, or this machine's, probed without the slow bandwidth measurement.
    public static func machine(_ path: String?, flag: String, producer: String) throws(InputError) -> HardwareProfile {
        if let path { return try load(path, flag: flag) }
        do { return try DeviceProbe.probe(ProbeOptions(producer: producer)) } catch { throw InputError("probe: \(error)") }
    }

    /// The profiles with these fingerprints: from the store, then from profiles/hardware/*.json;
    /// a profile with measured bandwidth wins over one without.
    public static func profiles(fingerprints: Set<String>, store: StoreLocation) -> [String: HardwareProfile] {
        var found: [String: HardwareProfile] = [:]
        func offer(_ p: HardwareProfile) {
            guard fingerprints.contains(p.fingerprint) else { return }
            if let have = found[p.fingerprint], have.bandwidth != nil || p.bandwidth == nil { return }
            found[p.fingerprint] = p
        }
        if !fingerprints.isEmpty, store.mayHoldResults, let db = try? store.open() {
            for f in fingerprints {
                if let json = try? db.profileJSON(fingerprint: f), let p = try? HardwareProfile.decode(Data(json.utf8), path: store.description) { offer(p) }
            }
        }
        let library = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for name in library.sorted() where name.hasSuffix(".json") {
            if let p = try? HardwareProfile.load(path: "\(folder)/\(name)") { offer(p) }
        }
        return found
    }

    /// The profile of the machine `entries` ran on, for a report's roofline and hardware section:
    /// one with measured bandwidth if there is one.
    public static func reportProfile(for entries: [StoredRun], store: StoreLocation) -> HardwareProfile? {
        let found = profiles(fingerprints: Set(entries.compactMap { $0.environment("fingerprint") }), store: store)
            .values.sorted { $0.name < $1.name }
        return found.first { $0.bandwidth != nil } ?? found.first
    }
}

extension ImportedResults {
    /// Measurements taken on a device, in any form slmbench reads: a sweep folder, a journal, or
    /// llama-bench output (JSON, JSONL, CSV, SQL). `flag` names the argument in errors.
    public static func measurements(_ path: String, flag: String) throws -> [StoredRun] {
        if let runs = try ResultSet.load(measurements: path, flag: flag) { return runs }
        do { return try read(URL(fileURLWithPath: path)) } catch { throw InputError("\(flag) \(error)") }
    }
}
