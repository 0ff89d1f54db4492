import Foundation

/// The per-sweep append-only journal (`journal.jsonl`): one `StoredRun` per line, each line
/// written with a single `write` and made durable with `fsync` before the sweep moves on. It is
/// the source of truth; the database is rebuilt from it when they disagree.
public final class Journal {
    public let path: String
    private let fd: Int32

    /// Opens (creating) the journal for appending. A torn last line — the process killed in
    /// the middle of a write — is cut off first so the next line starts clean.
    public init(path: String) throws(StoreError) {
        self.path = path
        let (_, validBytes) = try Journal.read(path: path, tolerateTornTail: true)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError("\(path): cannot open the journal: \(String(cString: strerror(errno)))") }
        if let validBytes, ftruncate(fd, off_t(validBytes)) != 0 {
            close(fd)
            throw StoreError("\(path): cannot cut the torn last line: \(String(cString: strerror(errno)))")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Appends one entry and waits until it is on disk.
    public func append(_ run: StoredRun) throws(StoreError) {
        var data: Data
        do { data = try StoreJSON.encoder().encode(run) } catch { throw StoreError("cannot encode run \(run.key): \(error)") }
        data.append(0x0A)
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else {
            let reason = written < 0 ? String(cString: strerror(errno)) : "short write (\(written) of \(data.count) bytes)"
            throw StoreError("\(path): cannot append run \(run.key): \(reason); stored results before it are intact")
        }
        guard fsync(fd) == 0 else { throw StoreError("\(path): fsync failed: \(String(cString: strerror(errno)))") }
    }

    /// Every entry of a journal. A malformed line is an error naming the file and line, except
    /// an unterminated last line (a write cut short by a kill), which is ignored; its byte
    /// offset is returned so a writer can cut it.
    public static func read(path: String, tolerateTornTail: Bool = true) throws(StoreError) -> ([StoredRun], Int?) {
        guard FileManager.default.fileExists(atPath: path) else { return ([], nil) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw StoreError("\(path): cannot read: \(error.localizedDescription)") }
        return try read(bytes: [UInt8](data), path: path, tolerateTornTail: tolerateTornTail)
    }

    /// The entries of a journal's bytes, as `read(path:)` reads them; `path` names it in errors.
    public static func read(bytes: [UInt8], path: String, tolerateTornTail: Bool = true) throws(StoreError) -> ([StoredRun], Int?) {
        var runs: [StoredRun] = []
        var lineStart = 0
        var lineNumber = 0
        let decoder = StoreJSON.decoder()
        while lineStart < bytes.count {
            lineNumber += 1
            guard let end = bytes[lineStart...].firstIndex(of: 0x0A) else {
                if tolerateTornTail { return (runs, lineStart) }
                throw StoreError("\(path):\(lineNumber): the last line is incomplete (no newline)")
            }
            let line = Data(bytes[lineStart..<end])
            if !line.isEmpty {
                do { runs.append(try decoder.decode(StoredRun.self, from: line)) } catch {
                    throw StoreError("\(path):\(lineNumber): not a stored run: \(describe(error))")
                }
            }
            lineStart = end + 1
        }
        return (runs, nil)
    }

    static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case let .keyNotFound(key, _): return "missing field '\(key.stringValue)'"
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "field '\(path)': \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
