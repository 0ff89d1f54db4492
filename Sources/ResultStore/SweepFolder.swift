import Foundation
import Measures

/// A sweep folder as `slmbench sweep` writes it: `sweep.json` (the header) and `journal.jsonl`
/// (one line per finished entry; a later line of a key replaces an earlier one). Reading one
/// recomputes the drift flags from its references, in the order the entries ran.
public struct SweepFolder: Sendable {
    public var url: URL
    public var header: SweepHeader
    /// The last line of each key, in plan order.
    public var entries: [StoredRun]

    public static func read(_ url: URL) throws(StoreError) -> SweepFolder {
        let headerURL = url.appendingPathComponent("sweep.json")
        let header: SweepHeader
        do { header = try StoreJSON.decoder().decode(SweepHeader.self, from: Data(contentsOf: headerURL)) } catch {
            throw StoreError("\(headerURL.path): not a sweep folder's header: \(error.localizedDescription)")
        }
        let (entries, _) = try Journal.read(path: url.appendingPathComponent("journal.jsonl").path)
        var latest = Journal.latest(entries)
        // Drift is judged within each shard, in the order its runs executed.
        _ = Drift.apply(to: &latest, journalOrder: entries, threshold: header.driftThreshold ?? Drift.defaultThreshold)
        return SweepFolder(url: url, header: header, entries: latest.values.sorted { ($0.seq, $0.key) < ($1.seq, $1.key) })
    }

    /// The newest folder under `root` that a sweep of this spec (digest) and shard started in.
    public static func latest(under root: URL, specDigest: String, shard: String?) -> URL? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        var best: (String, URL)?
        for name in names {
            let url = root.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url.appendingPathComponent("sweep.json")),
                  let header = try? StoreJSON.decoder().decode(SweepHeader.self, from: data),
                  header.specDigest == specDigest, header.shard == shard else { continue }
            if best == nil || header.startedAt > best!.0 { best = (header.startedAt, url) }
        }
        return best?.1
    }

    /// Writes a file through a temporary sibling and a rename, so readers never see half of it.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try data.write(to: temporary)
        let fd = open(temporary.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(temporary.path, url.path) == 0 else { throw StoreError("\(url.path): rename failed: \(String(cString: strerror(errno)))") }
    }
}

extension Journal {
    /// The last journal line of each key (later lines update flags).
    public static func latest(_ runs: [StoredRun]) -> [String: StoredRun] {
        var out: [String: StoredRun] = [:]
        for r in runs { out[r.key] = r }
        return out
    }
}

/// The `drift` flag: a sweep's reference runs, repeated through it, show whether the machine
/// itself changed speed while it ran.
public enum Drift {
    /// `reference.drift` when a spec does not set it, and for sweep folders written before the
    /// header recorded the spec's threshold.
    public static let defaultThreshold = 0.05

    /// Keys flagged `drift`: each reference whose primary metric is more than `threshold` from
    /// the median of all the sweep's references, and the runs executed next to it (between it
    /// and the references before and after it). The median, not the first reference, is the
    /// baseline, so one odd reference — the first included — marks only its own neighbourhood.
    public static func flags(journalOrder: [StoredRun], threshold: Double) -> Set<String> {
        var references: [(key: String, value: Double?)] = []
        var segments: [[String]] = [[]] // segments[i]: runs after reference i − 1 and before reference i
        var seen = Set<String>()
        for entry in journalOrder where seen.insert(entry.key).inserted {
            switch entry.kind {
            case .reference:
                references.append((entry.key, entry.status == .ok ? entry.avgTs.flatMap { $0 > 0 ? $0 : nil } : nil))
                segments.append([])
            case .run: if entry.status == .ok { segments[segments.count - 1].append(entry.key) }
            default: break
            }
        }
        let values = references.compactMap(\.value).sorted()
        guard values.count >= 2 else { return [] }
        let median = Percentile.of(sorted: values, 0.5)
        var flagged = Set<String>()
        for (i, reference) in references.enumerated() {
            guard let value = reference.value, abs(value / median - 1) > threshold else { continue }
            flagged.insert(reference.key)
            flagged.formUnion(segments[i])      // the runs just before it
            flagged.formUnion(segments[i + 1])  // and just after it
        }
        return flagged
    }

    /// Sets or clears the `drift` flag of each entry; returns the entries that changed.
    public static func apply(to entries: inout [String: StoredRun], journalOrder: [StoredRun], threshold: Double) -> [StoredRun] {
        let flagged = flags(journalOrder: journalOrder, threshold: threshold)
        var changed: [StoredRun] = []
        for (key, value) in entries {
            let wantsDrift = flagged.contains(key)
            guard wantsDrift != value.runFlags.contains(.drift) else { continue }
            var updated = value
            updated.flags = wantsDrift ? updated.flags + [RunFlag.drift.rawValue] : updated.flags.filter { $0 != RunFlag.drift.rawValue }
            entries[key] = updated
            changed.append(updated)
        }
        return changed.sorted { $0.seq < $1.seq }
    }
}
