#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why part of the probe could not be read, or why the probe cannot start.
///
/// Most of these never escape `DeviceProbe.probe`: a capability that cannot be read becomes
/// an entry in `HardwareProfile.unavailable` with this error's description as the reason.
public enum ProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file could not be opened or read (errno from the failing call).
    case unreadable(path: String, errno: Int32)
    /// A file was read but its content is not what the kernel documents.
    case malformed(path: String, field: String, content: String)
    /// An hwloc call failed (errno where hwloc sets it).
    case hwloc(call: String, errno: Int32)
    /// A capability this build or system does not offer.
    case unsupported(String)
    /// Bad probe options (a thread count beyond the usable CPUs, a path that cannot be written).
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .unreadable(path, code):
            return "cannot read \(path): \(Self.errnoText(code))"
        case let .malformed(path, field, content):
            let shown = content.count > 60 ? String(content.prefix(60)) + "…" : content
            return "\(path): \(field) has unexpected content \"\(shown)\""
        case let .hwloc(call, code):
            return "hwloc \(call) failed: \(Self.errnoText(code))"
        case let .unsupported(what):
            return what
        case let .invalidOption(what):
            return what
        }
    }

    static func errnoText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: text)) (errno \(code))"
    }
}
