import Foundation
import ResultStore
import Worker

/// Combines the folders of a sweep's shards (`--shard i/n`, possibly run on different machines)
/// into one sweep folder and stores it.
public enum SweepMerge {
    /// Checks the folders are shards of one plan, then writes the union to `out` with id `id`.
    public static func merge(_ folders: [SweepFolder], into out: URL, id: String) throws(StoreError) -> (SweepHeader, [StoredRun]) {
        guard let first = folders.first else { throw StoreError("nothing to merge") }
        for f in folders where f.header.specDigest != first.header.specDigest {
            throw StoreError("\(f.url.path) was made from a different spec than \(first.url.path) (spec digests differ)")
        }
        var shards: [Int: URL] = [:]
        var count: Int?
        for f in folders {
            guard let shard = f.header.shard else { throw StoreError("\(f.url.path) is a whole sweep, not a shard") }
            let parts = shard.split(separator: "/").compactMap { Int($0) }
            guard parts.count == 2 else { throw StoreError("\(f.url.path): shard '\(shard)' is not i/n") }
            if let count, count != parts[1] { throw StoreError("\(f.url.path) is shard \(shard), the others are of \(count)") }
            count = parts[1]
            if let other = shards[parts[0]] { throw StoreError("shard \(shard) appears twice: \(other.path) and \(f.url.path)") }
            shards[parts[0]] = f.url
        }
        let missing = (1...(count ?? 1)).filter { shards[$0] == nil }
        guard missing.isEmpty else {
            throw StoreError("shards \(missing.map { "\($0)/\(count!)" }.joined(separator: ", ")) are missing; merge all \(count!) shards")
        }
        var byKey: [String: StoredRun] = [:]
        for f in folders {
            for var e in f.entries {
                e.sweepId = id
                if byKey[e.key] != nil { throw StoreError("\(f.url.path): entry \(e.key) is also in another shard") }
                byKey[e.key] = e
            }
        }
        let entries = byKey.values.sorted { ($0.seq, $0.key) < ($1.seq, $1.key) }
        var header = first.header
        header.id = id
        header.shard = nil
        header.planned = folders.map(\.header.planned).reduce(0, +)
        header.fingerprint = Set(folders.map(\.header.fingerprint)).sorted().joined(separator: ",")
        header.hostname = Set(folders.map(\.header.hostname)).sorted().joined(separator: ",")
        let fm = FileManager.default
        guard !fm.fileExists(atPath: out.appendingPathComponent("sweep.json").path) else {
            throw StoreError("\(out.path) already holds a sweep; choose another --out")
        }
        do {
            try fm.createDirectory(at: out, withIntermediateDirectories: true)
            try SweepFolder.writeAtomically(try StoreJSON.encoder().encode(header), to: out.appendingPathComponent("sweep.json"))
        } catch let e as StoreError { throw e } catch { throw StoreError("\(out.path): \(error)") }
        let journal = try Journal(path: out.appendingPathComponent("journal.jsonl").path)
        for e in entries { try journal.append(e) }
        return (header, entries)
    }
}
