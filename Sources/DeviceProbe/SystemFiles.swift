#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The C `read(2)`, named apart from `SystemFiles.read`.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

/// Reads `/proc` and `/sys` files below a root directory, so that tests can replay a captured
/// tree (`root` = a fixture folder) through the same code that reads the live system (`root` = `/`).
public struct SystemFiles: Sendable {
    public let root: String

    public init(root: String = "/") {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// True when reading the running system rather than a captured tree.
    public var isLive: Bool { root.isEmpty }

    /// The real path of an absolute system path under this root.
    public func resolve(_ path: String) -> String { root + path }

    /// The whole file as text, or why it could not be read. Sysfs files are small; reads are
    /// capped at 1 MiB so a hostile or unexpected file cannot exhaust memory.
    public func read(_ path: String) throws(ProbeError) -> String {
        let full = resolve(path)
        let fd = open(full, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: full, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: full, errno: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The file's first line without surrounding white space.
    public func line(_ path: String) throws(ProbeError) -> String {
        let text = try read(path)
        return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            .trimmingWhitespace()
    }

    /// The file's first line as an integer.
    public func integer(_ path: String, field: String) throws(ProbeError) -> Int {
        let text = try line(path)
        guard let value = Int(text) else {
            throw .malformed(path: resolve(path), field: field, content: text)
        }
        return value
    }

    public func exists(_ path: String) -> Bool {
        access(resolve(path), F_OK) == 0
    }

    /// Names in a directory, or nil when it cannot be listed.
    public func list(_ path: String) -> [String]? {
        guard let dir = opendir(resolve(path)) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }),
              let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}

/// Parses a Linux CPU list ("0-3,8,10-11") into sorted OS indexes; nil on malformed input.
public func parseCPUList(_ text: String) -> [Int]? {
    let trimmed = text.trimmingWhitespace()
    if trimmed.isEmpty { return [] }
    var cpus: [Int] = []
    for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
        let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
        switch bounds.count {
        case 1:
            guard let cpu = Int(bounds[0]), cpu >= 0 else { return nil }
            cpus.append(cpu)
        case 2:
            guard let lo = Int(bounds[0]), let hi = Int(bounds[1]), lo >= 0, lo <= hi,
                  hi - lo < 1 << 16 else { return nil }
            cpus.append(contentsOf: lo...hi)
        default:
            return nil
        }
    }
    return Array(Set(cpus)).sorted()
}

/// Formats OS indexes as a compact Linux CPU list ("0-3,8").
public func formatCPUList(_ cpus: [Int]) -> String {
    let sorted = Array(Set(cpus)).sorted()
    var parts: [String] = []
    var i = 0
    while i < sorted.count {
        var j = i
        while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
        parts.append(j == i ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
        i = j + 1
    }
    return parts.joined(separator: ",")
}
