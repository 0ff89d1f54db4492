import Foundation
import Measures

/// Where a device is reached: `ssh://[USER@]HOST[:PORT]` or `adb://SERIAL`.
///
/// Every part is checked against a narrow character set and may not begin with `-`, so no part
/// can be read as an option by ssh, scp or adb, and none needs quoting in their arguments.
public enum DeviceAddress: Sendable, Equatable, CustomStringConvertible {
    case ssh(user: String?, host: String, port: Int?)
    case adb(serial: String)

    /// Parses a device URL; the error names `flag` and says what is wrong.
    public static func parse(_ text: String, flag: String) throws(InputError) -> DeviceAddress {
        if text.hasPrefix("ssh://") {
            var rest = Substring(text.dropFirst("ssh://".count))
            if rest.hasSuffix("/") { rest = rest.dropLast() }
            var user: String?
            if let at = rest.lastIndex(of: "@") {
                user = String(rest[..<at])
                rest = rest[rest.index(after: at)...]
                guard let u = user, isName(u, extra: "._-") else {
                    throw InputError("\(flag) '\(text)': the user name may hold letters, digits, '.', '_' and '-' and may not start with '-'")
                }
            }
            var port: Int?
            if let colon = rest.lastIndex(of: ":") {
                let digits = rest[rest.index(after: colon)...]
                guard let p = Int(digits), (1...65535).contains(p) else {
                    throw InputError("\(flag) '\(text)': the port must be a number from 1 to 65535, got '\(digits)'")
                }
                port = p
                rest = rest[..<colon]
            }
            let host = String(rest)
            guard isName(host, extra: ".-_") else {
                throw InputError("\(flag) '\(text)': the host must be a name or IPv4 address (letters, digits, '.', '-', '_'), got '\(host)'")
            }
            return .ssh(user: user, host: host, port: port)
        }
        if text.hasPrefix("adb://") {
            let serial = String(text.dropFirst("adb://".count))
            guard isName(serial, extra: ".:_-") else {
                throw InputError("\(flag) '\(text)': the serial may hold letters, digits, '.', ':', '_' and '-' and may not start with '-'")
            }
            return .adb(serial: serial)
        }
        throw InputError("\(flag) '\(text)' is not ssh://[USER@]HOST[:PORT], adb://SERIAL or a device named in the devices file")
    }

    static func isName(_ text: String, extra: String) -> Bool {
        guard let first = text.first, first != "-", text.count <= 253 else { return false }
        return text.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || extra.contains($0) }
    }

    public var description: String {
        switch self {
        case let .ssh(user, host, port): return "ssh://\(user.map { "\($0)@" } ?? "")\(host)\(port.map { ":\($0)" } ?? "")"
        case let .adb(serial): return "adb://\(serial)"
        }
    }
}

/// A device slmbench measures on: its address and how to use it.
public struct Device: Sendable, Equatable {
    /// The name results carry (the devices file's name, else the URL).
    public var name: String
    public var address: DeviceAddress
    /// Folder on the device for copied models (relative paths are from the login's home folder).
    public var cache: String
    /// The slmbench program on the device (a name on the remote PATH, or a path).
    public var slmbench: String
    /// The llama-bench program on the device.
    public var llamaBench: String
    public var connectTimeoutSeconds: Double
    public var copyTimeoutSeconds: Double
    public var notes: String?

    public static let defaultCache = ".cache/slmbench/remote-models"

    public init(name: String, address: DeviceAddress, cache: String = Device.defaultCache, slmbench: String = "slmbench",
                llamaBench: String = "llama-bench", connectTimeoutSeconds: Double = 10, copyTimeoutSeconds: Double = 1800,
                notes: String? = nil) {
        self.name = name; self.address = address; self.cache = cache; self.slmbench = slmbench; self.llamaBench = llamaBench
        self.connectTimeoutSeconds = connectTimeoutSeconds; self.copyTimeoutSeconds = copyTimeoutSeconds; self.notes = notes
    }

    /// The devices file: `$SLMBENCH_DEVICES`, else `profiles/devices.yaml`.
    public static var defaultFile: String {
        ProcessInfo.processInfo.environment["SLMBENCH_DEVICES"].flatMap { $0.isEmpty ? nil : $0 } ?? "profiles/devices.yaml"
    }

    /// `--on` (or a spec's `device:`): a URL, or a name in the devices file.
    public static func resolve(_ text: String, flag: String, file: String = Device.defaultFile) throws(InputError) -> Device {
        if text.contains("://") {
            let address = try DeviceAddress.parse(text, flag: flag)
            return Device(name: address.description, address: address)
        }
        guard FileManager.default.fileExists(atPath: file) else {
            throw InputError("\(flag) '\(text)' is not a URL (ssh://…, adb://…) and there is no devices file \(file) to name it")
        }
        let devices: [Device]
        do { devices = try load(path: file) } catch { throw InputError("\(error)") }
        guard let device = devices.first(where: { $0.name == text }) else {
            throw InputError("\(flag) '\(text)' is not in \(file) (devices there: \(devices.map(\.name).joined(separator: ", ")))")
        }
        return device
    }

    static let paths = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-~+")

    /// Reads a devices file: `devices:` a list of {name, url, cache, slmbench, llama_bench,
    /// connect_timeout, copy_timeout, notes}.
    public static func load(path: String) throws(SpecError) -> [Device] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SpecError(file: path, line: nil, column: nil, key: "", message: "cannot read: \(error.localizedDescription)")
        }
        let root = try SpecYAML.root(text, file: path)
        var devices: [Device] = []
        for (key, value) in try root.mapping(allowed: ["devices"]) where key == "devices" {
            for item in value.list() {
                var name: String?, url: (String, SpecNode)?
                var device = Device(name: "", address: .adb(serial: "x"))
                for (field, node) in try item.mapping(allowed: ["name", "url", "cache", "slmbench", "llama_bench", "connect_timeout", "copy_timeout", "notes"]) {
                    switch field {
                    case "name":
                        let n = try node.string()
                        guard !n.contains("://"), !n.isEmpty, !n.contains("/") else { throw node.error("a name may not be empty or hold '/'") }
                        name = n
                    case "url": url = (try node.string(), node)
                    case "cache", "slmbench", "llama_bench":
                        let p = try node.string()
                        guard !p.isEmpty, !p.hasPrefix("-"), p.unicodeScalars.allSatisfy(paths.contains) else {
                            throw node.error("a path of letters, digits and / . _ - ~ +, not starting with '-', got '\(p)'")
                        }
                        if field == "cache" { device.cache = p } else if field == "slmbench" { device.slmbench = p } else { device.llamaBench = p }
                    case "connect_timeout": device.connectTimeoutSeconds = try node.seconds(max: 600)
                    case "copy_timeout": device.copyTimeoutSeconds = try node.seconds(max: 86400)
                    default: device.notes = try node.string()
                    }
                }
                guard let name else { throw item.error("a device needs a name") }
                guard let url else { throw item.error("device '\(name)' needs a url (ssh://… or adb://…)") }
                do { device.address = try DeviceAddress.parse(url.0, flag: "url") } catch { throw url.1.error("\(error)") }
                guard !devices.contains(where: { $0.name == name }) else { throw item.error("device '\(name)' is named twice") }
                device.name = name
                devices.append(device)
            }
        }
        return devices
    }
}
