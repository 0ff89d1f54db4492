import Foundation

/// Reading and writing profiles as JSON, with validation whose errors name the file and field.
extension HardwareProfile {
    /// Why a profile file cannot be used.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let field: String?
        public let reason: String
        public var description: String {
            "\(path)\(field.map { ": field '\($0)'" } ?? ""): \(reason)"
        }
    }

    /// Pretty, key-sorted JSON with a trailing newline (stable diffs for checked-in profiles).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Writes the profile atomically, creating the folder if needed.
    public func save(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try jsonData().write(to: url, options: .atomic)
    }

    /// Reads and validates a profile file.
    public static func load(path: String) throws(LoadError) -> HardwareProfile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw LoadError(path: path, field: nil, reason: "cannot be read (\(error.localizedDescription))")
        }
        return try decode(data, path: path)
    }

    /// Decodes and validates profile JSON; `path` names the source in errors.
    public static func decode(_ data: Data, path: String) throws(LoadError) -> HardwareProfile {
        let profile: HardwareProfile
        do { profile = try JSONDecoder().decode(HardwareProfile.self, from: data) } catch let error as DecodingError {
            throw describe(error, path: path)
        } catch {
            throw LoadError(path: path, field: nil, reason: "is not valid JSON (\(error))")
        }
        try profile.validate(path: path)
        return profile
    }

    /// Checks what the type system cannot: version, counts, and sources for spec profiles.
    public func validate(path: String) throws(LoadError) {
        func fail(_ field: String, _ reason: String) -> LoadError { LoadError(path: path, field: field, reason: reason) }
        guard schemaVersion == Self.currentSchemaVersion else {
            throw fail("schemaVersion", "is \(schemaVersion); this slmbench reads version \(Self.currentSchemaVersion)")
        }
        guard !name.isEmpty else { throw fail("name", "must not be empty") }
        guard cpu.physicalCores >= 1, cpu.logicalCPUs >= cpu.physicalCores, cpu.packages >= 1 else {
            throw fail("cpu", "needs packages ≥ 1, physicalCores ≥ 1 and logicalCPUs ≥ physicalCores")
        }
        guard memory.totalBytes > 0 else { throw fail("memory.totalBytes", "must be positive") }
        guard isa.vectorWidthBits >= 64 else { throw fail("isa.vectorWidthBits", "must be at least 64") }
        let known = Set(ISAFeature.allCases.map(\.rawValue))
        if let unknown = isa.features.first(where: { !known.contains($0) }) {
            throw fail("isa.features", "'\(unknown)' is not a known feature (\(known.sorted().joined(separator: ", ")))")
        }
        for (i, cache) in caches.enumerated() {
            guard cache.level >= 1, cache.sizeBytes > 0, cache.instances >= 1 else {
                throw fail("caches[\(i)]", "needs level ≥ 1, sizeBytes > 0 and instances ≥ 1")
            }
            guard ["data", "instruction", "unified"].contains(cache.type) else {
                throw fail("caches[\(i)].type", "must be data, instruction or unified, not '\(cache.type)'")
            }
        }
        for point in bandwidth?.points ?? [] where point.threads < 1 {
            throw fail("bandwidth.points", "thread counts must be ≥ 1")
        }
        if !measured {
            guard sources["cpu"] != nil else {
                throw fail("sources.cpu", "a spec profile (measured: false) must cite where its CPU facts come from")
            }
            for (field, present) in [("memory", true), ("memory.theoreticalBandwidthGBps", memory.theoreticalBandwidthGBps != nil),
                                     ("bandwidth", bandwidth != nil), ("economics", economics != nil)] where present {
                guard sources[field] != nil else {
                    throw fail("sources.\(field)", "a spec profile must cite a source for every figure it gives")
                }
            }
        }
        let expected = Fingerprint.of(self)
        guard fingerprint == expected else {
            throw fail("fingerprint", "is \(fingerprint) but the profile's properties hash to \(expected); recompute it with `slmbench probe --validate --update-fingerprint FILE`")
        }
    }

    /// The profile with its fingerprint recomputed (after hand edits to a spec profile).
    public func refingerprinted() -> HardwareProfile {
        var copy = self
        copy.fingerprint = Fingerprint.of(copy)
        return copy
    }

    static func describe(_ error: DecodingError, path: String) -> LoadError {
        func field(_ codingPath: [CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: ".")
        }
        switch error {
        case let .keyNotFound(key, context):
            return LoadError(path: path, field: field(context.codingPath + [key]), reason: "is missing")
        case let .typeMismatch(type, context):
            return LoadError(path: path, field: field(context.codingPath), reason: "should be \(type)")
        case let .valueNotFound(type, context):
            return LoadError(path: path, field: field(context.codingPath), reason: "is null but should be \(type)")
        case let .dataCorrupted(context):
            return LoadError(path: path, field: context.codingPath.isEmpty ? nil : field(context.codingPath),
                             reason: context.debugDescription)
        @unknown default:
            return LoadError(path: path, field: nil, reason: "\(error)")
        }
    }
}
