import Foundation
import Measures
import Worker

/// A device in use by one command: copies models into its cache (once, keyed by SHA-256,
/// checked there), turns a worker command into the same command run on the device, and says in
/// words what a transport failure means.
public final class RemoteSession: @unchecked Sendable {
    public let device: Device
    public let transport: Transport
    private let lock = NSLock()
    private var placed: [String: String] = [:]

    public init(_ device: Device) { self.device = device; self.transport = Transport(device) }

    /// The model's path in the device's cache: `<cache>/<sha256>.gguf`.
    public func remotePath(sha256: String) -> String { "\(device.cache)/\(sha256).gguf" }

    /// Makes sure the device holds the file with this SHA-256 and returns its path there. A file
    /// already in the cache is checked (its SHA-256 computed on the device) once per session; a
    /// missing or different one is copied to a temporary name, checked, then renamed into place.
    public func place(localPath: String, sha256: String, progress: (String) -> Void = { _ in }) throws(InputError) -> String {
        guard sha256.count == 64, sha256.allSatisfy(\.isHexDigit) else { throw InputError("\(localPath): no SHA-256 to key the remote cache by") }
        if let done = lock.withLock({ placed[sha256] }) { return done }
        let target = remotePath(sha256: sha256)
        if try remoteDigest(target) == sha256 {
            lock.withLock { placed[sha256] = target }
            return target
        }
        progress("copying \(URL(fileURLWithPath: localPath).lastPathComponent) to \(device.name):\(target)…")
        let made = transport.run(["mkdir", "-p", device.cache], timeout: device.connectTimeoutSeconds + 30)
        guard made.status == 0 else { throw transport.failure(made, doing: "mkdir -p \(device.cache)") }
        let partial = "\(target).partial-\(UUID().uuidString.prefix(8))"
        let (program, arguments) = transport.copy(local: localPath, remote: partial)
        let copied = Captured.run(program, arguments, timeout: device.copyTimeoutSeconds, input: nil)
        guard copied.status == 0 else {
            _ = transport.run(["rm", "-f", partial], timeout: device.connectTimeoutSeconds + 30)
            throw transport.failure(copied, doing: "copying \(localPath)")
        }
        let digest = try remoteDigest(partial)
        guard digest == sha256 else {
            _ = transport.run(["rm", "-f", partial], timeout: device.connectTimeoutSeconds + 30)
            throw InputError("\(device.name): the copy of \(localPath) has SHA-256 \(digest ?? "none") on the device, not \(sha256)")
        }
        let moved = transport.run(["mv", "-f", partial, target], timeout: device.connectTimeoutSeconds + 30)
        guard moved.status == 0 else { throw transport.failure(moved, doing: "mv \(partial) \(target)") }
        lock.withLock { placed[sha256] = target }
        return target
    }

    /// The SHA-256 of a file on the device (nil when it does not exist).
    func remoteDigest(_ path: String) throws(InputError) -> String? {
        // sha256sum is in coreutils, busybox and Android's toybox.
        let result = transport.run(["sh", "-c", "if [ -f \"$1\" ]; then sha256sum \"$1\"; fi", "sh", path],
                                   timeout: device.copyTimeoutSeconds)
        guard result.status == 0 else { throw transport.failure(result, doing: "sha256sum \(path)") }
        let word = result.text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first.map(String.init)
        guard let word else { return nil }
        guard word.count == 64, word.allSatisfy(\.isHexDigit) else {
            throw InputError("\(device.name): sha256sum printed \(String(result.text.prefix(80)).debugDescription), not a digest")
        }
        return word.lowercased()
    }

    /// One file in the device's model cache.
    public struct CacheEntry: Sendable, Equatable {
        public var path: String
        public var bytes: Int
        /// Seconds since 1970 of its last change (when it was copied).
        public var modified: Int
        /// The SHA-256 its name says it has (`<sha256>.gguf`), or nil for a file that is not a
        /// cache entry (a `.partial-…` left by an interrupted copy, or anything else).
        public var sha256: String? {
            let name = URL(fileURLWithPath: path).lastPathComponent
            guard name.hasSuffix(".gguf") else { return nil }
            let stem = name.dropLast(5)
            return stem.count == 64 && stem.allSatisfy(\.isHexDigit) ? stem.lowercased() : nil
        }
    }

    /// The files in the device's model cache (none when it does not exist). `stat -c` is in
    /// coreutils, busybox and toybox; what the device prints is checked line by line.
    public func cacheEntries() throws(InputError) -> [CacheEntry] {
        let script = "for f in \"$1\"/*; do if [ -f \"$f\" ]; then stat -c '%s %Y %n' \"$f\"; fi; done; exit 0"
        let result = transport.run(["sh", "-c", script, "sh", device.cache], timeout: device.connectTimeoutSeconds + 30)
        guard result.status == 0 else { throw transport.failure(result, doing: "listing \(device.cache)") }
        return try Self.parseCacheListing(result.text, cache: device.cache, device: device.name)
    }

    static func parseCacheListing(_ text: String, cache: String, device: String) throws(InputError) -> [CacheEntry] {
        var entries: [CacheEntry] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let bytes = Int(parts[0]), bytes >= 0, let modified = Int(parts[1]),
                  parts[2].hasPrefix(cache + "/"), !parts[2].dropFirst(cache.count + 1).contains("/") else {
                throw InputError("\(device): listing \(cache) printed \(String(line.prefix(120)).debugDescription), not '<bytes> <mtime> \(cache)/<file>'")
            }
            entries.append(CacheEntry(path: String(parts[2]), bytes: bytes, modified: modified))
        }
        return entries.sorted { $0.path < $1.path }
    }

    /// Removes files from the device's cache (paths as `cacheEntries` gave them).
    public func remove(_ entries: [CacheEntry]) throws(InputError) {
        guard !entries.isEmpty else { return }
        let result = transport.run(["rm", "-f", "--"] + entries.map(\.path), timeout: device.connectTimeoutSeconds + 30)
        guard result.status == 0 else { throw transport.failure(result, doing: "rm in \(device.cache)") }
        lock.withLock { for e in entries { if let sha = e.sha256 { placed[sha] = nil } } }
    }

    /// The worker command that runs `command` on the device: slmbench's own worker, or an
    /// external program (the device's), both speaking the worker protocol over the channel.
    public func remote(_ command: WorkerCommand) -> WorkerCommand {
        let words: [String]
        switch command {
        case .builtIn: words = [device.slmbench, "worker"]
        case let .external(program, arguments): words = [program] + arguments
        }
        // Through `sh -c '…; exit $?'` the shell does not exec the worker, so a worker killed by a
        // signal comes back as exit status 128+N (ssh turns a signal it sees into 255).
        let (program, arguments) = transport.command(["sh", "-c", "\"$0\" \"$@\"; exit $?"] + words)
        return .external(program: program, arguments: arguments)
    }

    /// A record of a run made through the transport, with what the local figures cannot say
    /// removed (the peak resident set measured is ssh's, not the worker's) and transport exits
    /// explained.
    public func interpret(_ record: RunRecord) -> RunRecord {
        var record = record
        record.peakRssBytes = nil
        record.metrics?.peakRssBytes = nil
        guard record.status != .ok else { return record }
        let tail = record.stderrTail.last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { ": \($0.prefix(300))" } ?? ""
        if record.status == .crashed, let reason = record.reason, reason.hasPrefix("exited with status ") {
            let status = Int(reason.dropFirst("exited with status ".count).prefix { $0.isNumber }) ?? -1
            switch status {
            case 255:
                record.reason = "the connection to \(device.name) failed or was lost (ssh exit 255)\(tail)"
            case 137:
                record.reason = "the worker on \(device.name) was killed by SIGKILL (exit 137): the device's out-of-memory killer, most likely\(tail)"
            case 129..<192:
                record.reason = "the worker on \(device.name) was killed by signal \(status - 128) (exit \(status))\(tail)"
            case 126, 127:
                record.reason = "\(device.name) cannot run the worker program (exit \(status))\(tail)"
            default: break
            }
        } else if record.status == .timeout {
            record.reason = (record.reason ?? "") + " (the ssh channel was closed; the worker on \(device.name) stops at its next output line)"
        }
        return record
    }
}
