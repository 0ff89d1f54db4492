import Foundation
import ModelFormat
import Worker

/// A model file ready to run, with the facts results carry about it.
public struct PreparedModel: Sendable, Equatable {
    public var path: String
    /// Name in results: the known model's name, the preset's name, or the file's stem.
    public var name: String
    public var sha256: String
    public var sizeBytes: Int
    public var parameters: Int
    public var synthetic: Bool

    public init(path: String, name: String, sha256: String, sizeBytes: Int, parameters: Int, synthetic: Bool) {
        self.path = path; self.name = name; self.sha256 = sha256; self.sizeBytes = sizeBytes; self.parameters = parameters
        self.synthetic = synthetic
    }
}

/// Produces (once, cached) the file each run needs: a known model's conversion to a type, a
/// synthetic preset generated in a type, or a file as given; remembers what it made.
public final class ModelPreparer: @unchecked Sendable {
    let cache: ModelCache
    private var made: [String: PreparedModel] = [:]
    private let lock = NSLock()

    public init(cache: ModelCache = .fromEnvironment()) { self.cache = cache }

    /// The shape facts of a model without producing any file (for planning).
    public func shape(_ reference: ModelReference) throws -> ModelShape {
        switch reference {
        case let .known(model):
            let path = cache.path(of: model).path
            if let file = try? GGUFFile(path: path) {
                do { return try ModelShape(file: file) } catch { throw PrepareError("\(path): \(error)") }
            }
            guard let preset = ArchitecturePreset.named(model.name) else { throw PrepareError("\(model.name) is not in the cache; run `slmbench models fetch \(model.name)`") }
            return ModelShape(preset: preset)
        case let .synthetic(preset): return ModelShape(preset: preset)
        case let .file(path):
            do { return try ModelShape(file: GGUFFile(path: path)) } catch { throw PrepareError("\(path): \(error)") }
        }
    }

    /// `method` other than rtn quantizes with a calibration text (`calibration`, default
    /// `Corpus.calibrationPath`) through `QuantizedFiles.makeFile`.
    public func prepare(_ model: String, type: String, method: QuantMethod = .rtn, calibration: String? = nil,
                        progress: (String) -> Void = { _ in }) throws -> PreparedModel {
        let key = "\(model)|\(type)|\(method.rawValue)|\(calibration ?? "")"
        if let done = lock.withLock({ made[key] }) { return done }
        let reference = try ModelReference.parse(model)
        var mix: QuantMix?
        if type != "stored" {
            do { mix = try QuantMix.named(type, flag: "type") } catch { throw PrepareError(error.description) }
        }
        if method != .rtn {
            guard mix != nil, mix?.uniformType != .f32 else { throw PrepareError("quant_method \(method.rawValue) needs a quantized type, not \(type)") }
            if case .synthetic = reference { throw PrepareError("quant_method \(method.rawValue) calibrates on real weights; \(model) is synthetic") }
        }
        func quantized(_ source: URL, _ mix: QuantMix) throws -> URL {
            try QuantizedFiles.makeFile(source: source, mix: mix, method: method, calibration: calibration, cache: cache, progress: progress)
        }
        let path: URL
        let name: String
        var synthetic = false
        switch reference {
        case let .known(known):
            let source = cache.path(of: known)
            guard FileManager.default.fileExists(atPath: source.path) else {
                throw PrepareError("\(known.name) is not in the cache (\(source.path)); run `slmbench models fetch \(known.name)`")
            }
            path = try mix.map { try quantized(source, $0) } ?? source
            name = known.name
        case let .synthetic(preset):
            guard let mix else { throw PrepareError("synthetic \(preset.name) needs a type") }
            let tokenizer: GGUFFile
            do { tokenizer = try preset.vocabularySource.open(cache: cache, for: preset.name) } catch { throw PrepareError(error.description) }
            path = try SyntheticModel.ensure(preset: preset, mix: mix, tokenizer: tokenizer, cache: cache, progress: progress)
            name = preset.name
            synthetic = true
        case let .file(file):
            let source = URL(fileURLWithPath: file)
            guard FileManager.default.fileExists(atPath: file) else { throw PrepareError("\(file): no such file") }
            path = try mix.map { try quantized(source, $0) } ?? source
            name = source.deletingPathExtension().lastPathComponent
            synthetic = (try? GGUFFile(path: file))?["slmbench.synthetic"]?.bool == true
        }
        let file: GGUFFile
        do { file = try GGUFFile(path: path.path) } catch { throw PrepareError("\(path.path): \(error)") }
        let digest: String
        do { digest = try ModelFetcher.sha256(of: path) } catch { throw PrepareError(error.description) } // names the file
        let prepared = PreparedModel(path: path.path, name: name, sha256: digest, sizeBytes: file.fileSize,
                                     parameters: file.tensors.map(\.elementCount).reduce(0, +), synthetic: synthetic)
        lock.withLock { made[key] = prepared }
        return prepared
    }
}

public struct PrepareError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
