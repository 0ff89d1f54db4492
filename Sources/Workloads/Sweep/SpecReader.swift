import Foundation
import Worker
import Yams

/// A problem in a sweep spec, located by file, line, column and key path.
public struct SpecError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// Dotted key path, e.g. `axes.threads[1]` (empty for the document).
    public var key: String
    public var message: String

    public var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        return key.isEmpty ? "\(where_): \(message)" : "\(where_): \(key): \(message)"
    }
}


/// Typed, located reads from a YAML node tree. Every failure names the file, the line and the key.
struct SpecNode {
    let node: Node
    let file: String
    let path: String

    func error(_ message: String) -> SpecError {
        SpecError(file: file, line: node.mark.map(\.line), column: node.mark.map(\.column), key: path, message: message)
    }

    /// What the node holds, for "got …" in messages.
    var shown: String {
        switch node {
        case let .scalar(s): return s.style == .plain ? s.string : "\"\(s.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    var isNull: Bool { if case let .scalar(s) = node { return s.style == .plain && ["", "~", "null"].contains(s.string) } else { return false } }

    func child(_ key: String, _ value: Node) -> SpecNode {
        SpecNode(node: value, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    /// Mapping entries in order; rejects keys outside `allowed`, naming the closest allowed key.
    func mapping(allowed: [String]) throws(SpecError) -> [(String, SpecNode)] {
        guard case let .mapping(m) = node else { throw error("expected a mapping of keys, got \(shown)") }
        var seen = Set<String>()
        var out: [(String, SpecNode)] = []
        for (k, v) in m {
            let keyNode = SpecNode(node: k, file: file, path: path)
            guard let key = k.string else { throw keyNode.error("keys must be strings, got \(keyNode.shown)") }
            guard allowed.contains(key) else {
                let at = SpecNode(node: k, file: file, path: path.isEmpty ? key : "\(path).\(key)")
                throw at.error("unknown key; expected one of \(allowed.joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else { throw child(key, k).error("given twice") }
            out.append((key, child(key, v)))
        }
        return out
    }

    /// Mapping entries in order, any key accepted (for data files whose entries carry notes).
    func entries() throws(SpecError) -> [(String, SpecNode)] {
        guard case let .mapping(m) = node else { throw error("expected a mapping of keys, got \(shown)") }
        var out: [(String, SpecNode)] = []
        for (k, v) in m {
            guard let key = k.string else { throw SpecNode(node: k, file: file, path: path).error("keys must be strings") }
            out.append((key, child(key, v)))
        }
        return out
    }

    /// The node as a list (a single scalar counts as a one-element list).
    func list() -> [SpecNode] {
        if case let .sequence(s) = node {
            return s.enumerated().map { SpecNode(node: $0.element, file: file, path: "\(path)[\($0.offset)]") }
        }
        return [self]
    }

    func string() throws(SpecError) -> String {
        guard case let .scalar(s) = node, !isNull else { throw error("expected a string, got \(shown)") }
        return s.string
    }

    func int(min: Int? = nil, max: Int? = nil) throws(SpecError) -> Int {
        guard case let .scalar(s) = node, s.style == .plain, let v = Int(s.string) else {
            throw error("expected an integer, got \(shown)")
        }
        if let min, v < min { throw error("must be at least \(min), got \(v)") }
        if let max, v > max { throw error("must be at most \(max), got \(v)") }
        return v
    }

    func bool() throws(SpecError) -> Bool {
        guard case let .scalar(s) = node, s.style == .plain else { throw error("expected true or false, got \(shown)") }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, got \(shown)")
        }
    }

    /// A fraction written as `2%` or `0.02`.
    func fraction() throws(SpecError) -> Double {
        guard case let .scalar(s) = node else { throw error("expected a percentage like 2%, got \(shown)") }
        let text = s.string.trimmingCharacters(in: .whitespaces)
        let value = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
        guard let value, value >= 0, value < 10 else { throw error("expected a percentage like 2% or a fraction like 0.02, got \(shown)") }
        return value
    }

    /// A size written as `512MiB`, `2GiB`, `500MB`, `64KiB` or a number of bytes; at least 1 MiB.
    func bytes() throws(SpecError) -> Int {
        guard case let .scalar(s) = node else { throw error("expected a size like 512MiB or 2GiB, got \(shown)") }
        let text = s.string.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("B", 1)]
        var value: Double? = Double(text)
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            value = Double(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)).map { $0 * scale }
            break
        }
        guard let value, value.isFinite, value >= 1_048_576, value < 1e15 else {
            throw error("expected a size of at least 1MiB like 512MiB or 2GiB, got \(shown)")
        }
        return Int(value)
    }

    /// Seconds written as `90`, `90s`, `5m` or `1h`, from 0 up to `max` seconds.
    func seconds(max: Double) throws(SpecError) -> Double {
        guard case let .scalar(s) = node else { throw error("expected a duration like 90s or 5m, got \(shown)") }
        let text = s.string.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var value: Double?
        if let v = Double(text) { value = v }
        for (suffix, scale) in units where value == nil && text.hasSuffix(suffix) {
            value = Double(text.dropLast(suffix.count)).map { $0 * scale }
        }
        // NaN fails both comparisons; infinity and 1e300 fail the second.
        guard let value, value >= 0, value <= max else {
            throw error("expected a duration from 0 to \(SpecLimits.duration(max)) like 90s or 5m, got \(shown)")
        }
        return value
    }

    /// Integers from `min` to `max` as a list, a single value, `a..b`, or `{from, to, step}` /
    /// `{from, to, times}`; at most `SpecLimits.valuesPerAxis` of them. Every bound is checked
    /// before a value is made, so `0..9223372036854775807` is an error, not an attempt.
    func integers(min: Int, max: Int) throws(SpecError) -> [Int] {
        func within(_ what: String, _ v: Int) throws(SpecError) {
            guard v >= min, v <= max else { throw error("\(what) \(v) is outside \(min)...\(max)") }
        }
        func tooMany() -> SpecError {
            error("gives more than \(SpecLimits.valuesPerAxis) values; an axis holds at most \(SpecLimits.valuesPerAxis)")
        }
        if case let .scalar(s) = node, s.style == .plain, s.string.contains("..") {
            let parts = s.string.components(separatedBy: "..")
            guard parts.count == 2, let a = Int(parts[0].trimmingCharacters(in: .whitespaces)),
                  let b = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
                throw error("expected a range like 1..4, got \(shown)")
            }
            guard b >= a else { throw error("range \(a)..\(b) must run upwards") }
            try within("range start", a)
            try within("range end", b)
            guard b - a < SpecLimits.valuesPerAxis else { throw tooMany() }
            return Array(a...b)
        }
        if case .mapping = node {
            var from: Int?, to: Int?, step: Int?, times: Int?
            for (key, value) in try mapping(allowed: ["from", "to", "step", "times"]) {
                switch key {
                case "from": from = try value.int(min: min, max: max)
                case "to": to = try value.int(min: min, max: max)
                case "step": step = try value.int(min: 1, max: max)
                default: times = try value.int(min: 2, max: max)
                }
            }
            guard let from, let to else { throw error("a range needs both from and to") }
            guard to >= from else { throw error("to (\(to)) is below from (\(from))") }
            guard step == nil || times == nil else { throw error("give step or times, not both") }
            if times != nil && from == 0 { throw error("a range with times cannot start from 0 (it would never grow)") }
            var values: [Int] = []
            var v = from
            while v <= to {
                guard values.count < SpecLimits.valuesPerAxis else { throw tooMany() }
                values.append(v)
                let (next, overflow) = times.map { v.multipliedReportingOverflow(by: $0) } ?? v.addingReportingOverflow(step ?? 1)
                if overflow { break }
                v = next
            }
            return values
        }
        var out: [Int] = []
        for item in list() { out.append(try item.int(min: min, max: max)) }
        guard !out.isEmpty else { throw error("the list is empty") }
        guard out.count <= SpecLimits.valuesPerAxis else { throw tooMany() }
        return out
    }

    func strings() throws(SpecError) -> [String] {
        var out: [String] = []
        for item in list() { out.append(try item.string()) }
        guard !out.isEmpty else { throw error("the list is empty") }
        return out
    }
}

enum SpecYAML {
    /// Parses `text` into its root node; a YAML syntax error becomes a located `SpecError`.
    static func root(_ text: String, file: String) throws(SpecError) -> SpecNode {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw SpecError(file: file, line: nil, column: nil, key: "", message: "the file is empty")
            }
            return SpecNode(node: node, file: file, path: "")
        } catch let error as SpecError {
            throw error
        } catch let error as YamlError {
            throw located(error, file: file)
        } catch {
            throw SpecError(file: file, line: nil, column: nil, key: "", message: "not YAML: \(error)")
        }
    }

    private static func located(_ error: YamlError, file: String) -> SpecError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return SpecError(file: file, line: mark.line, column: mark.column, key: "", message: "YAML syntax: \(what)")
        case let .composer(context, problem, mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return SpecError(file: file, line: mark.line, column: mark.column, key: "", message: "YAML: \(what)")
        default:
            return SpecError(file: file, line: nil, column: nil, key: "", message: "YAML: \(error)")
        }
    }
}
