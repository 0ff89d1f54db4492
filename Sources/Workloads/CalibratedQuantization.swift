import Crypto
import Foundation
import ModelFormat
import Engine
import Worker

/// The one place a sweep's (model, type or mix, method, calibration text) becomes a file.
///
/// `rtn` is `ModelQuantizer.ensure`. `imatrix`, `awq`, `gptq` and `smoothquant` are made by
/// `CalibratedQuantizer.quantize` (Engine) on the calibration text, with its defaults (chunks of
/// 512 tokens, all the text holds); `gptq` also compensates the output head (`--process-output`:
/// with a tied head, the embedding), which on SmolLM2-135M holds most of a 4.5-bit mix's loss.
/// Files are cached by source content, mix, method and the calibration text's SHA-256
/// (`cacheName`), so a method never reuses another text's file.
public enum QuantizedFiles {
    /// The calibration text a method reads: `path`, or `Corpus.calibrationPath`.
    public static func calibration(_ path: String?) throws(QualityError) -> Corpus {
        try Corpus.loadCalibration(path, flag: "calibration")
    }

    /// The cache name of a method's file: `rtn` adds nothing (the files `models quantize` makes);
    /// another method adds its name and the first 12 hex digits of the text's SHA-256.
    public static func cacheName(mix: QuantMix, method: QuantMethod, calibrationText: String?) -> String {
        guard method != .rtn else { return mix.cacheName }
        let digest = SHA256.hash(data: Data((calibrationText ?? "").utf8)).map { String(format: "%02x", $0) }.joined()
        // A sweep's GPTQ also compensates the output head (`-head`: files made before it did are not
        // reused), with the diag(H)-weighted range search (`-wc`: nor files made before that default).
        return "\(mix.cacheName)-\(method.rawValue)\(method == .gptq ? "-head-wc" : "")-c\(digest.prefix(12))"
    }

    /// The model file for `source` quantized to `mix` by `method`.
    public static func makeFile(source: URL, mix: QuantMix, method: QuantMethod, calibration: String?, cache: ModelCache,
                                progress: (String) -> Void = { _ in }) throws -> URL {
        switch method {
        case .rtn:
            return try ModelQuantizer.ensure(source: source, mix: mix, cache: cache, progress: progress)
        case .imatrix, .awq, .gptq, .smoothquant:
            let text = try self.calibration(calibration)
            let digest = try ModelFetcher.sha256(of: source)
            let stem = source.deletingPathExtension().lastPathComponent
            let name = cacheName(mix: mix, method: method, calibrationText: text.text).replacingOccurrences(of: "recipe:", with: "recipe-")
            let folder = cache.models.appendingPathComponent("derived")
            let path = folder.appendingPathComponent("\(stem)-\(digest.prefix(16))-\(name)-q\(ModelQuantizer.quantizerVersion).gguf")
            if FileManager.default.fileExists(atPath: path.path), (try? GGUFFile(path: path.path)) != nil { return path }
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            // Written beside its final name and moved there whole: an interrupted run leaves no file the cache would take.
            let partial = folder.appendingPathComponent(".\(path.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).partial")
            defer { try? FileManager.default.removeItem(at: partial) }
            progress("\(method.rawValue): calibrating on \(URL(fileURLWithPath: text.path).lastPathComponent)")
            try withoutActuallyEscaping(progress) { report in
                let box = ProgressBox(call: report)
                _ = try CalibratedQuantizer.quantize(method: method, source: source.path, mix: mix, output: partial.path,
                                                     calibration: text.path, threads: max(1, ProcessInfo.processInfo.activeProcessorCount),
                                                     processOutput: method == .gptq, progress: { box.call($0) })
            }
            _ = try? FileManager.default.removeItem(at: path)
            try FileManager.default.moveItem(at: partial, to: path)
            return path
        }
    }
}

extension QuantizedFiles {
    /// `source` quantized to `mix` with each scale search weighted by the importance matrix in
    /// `importancePath` (as `models quantize --imatrix` makes it), cached by the source's and the
    /// matrix's content.
    public static func weightedFile(source: URL, mix: QuantMix, importancePath: String, cache: ModelCache,
                                    progress: (String) -> Void = { _ in }) throws -> URL {
        let matrix = try ImportanceMatrix(path: importancePath)
        let digest = try ModelFetcher.sha256(of: source), matrixDigest = try ModelFetcher.sha256(of: URL(fileURLWithPath: importancePath))
        let stem = source.deletingPathExtension().lastPathComponent
        let name = mix.cacheName.replacingOccurrences(of: "recipe:", with: "recipe-")
        let folder = cache.models.appendingPathComponent("derived")
        let path = folder.appendingPathComponent("\(stem)-\(digest.prefix(16))-\(name)-imx\(matrixDigest.prefix(12))-q\(ModelQuantizer.quantizerVersion).gguf")
        if FileManager.default.fileExists(atPath: path.path), (try? GGUFFile(path: path.path)) != nil { return path }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let partial = folder.appendingPathComponent(".\(path.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).partial")
        defer { try? FileManager.default.removeItem(at: partial) }
        _ = try ModelQuantizer.quantize(try GGUFFile(path: source.path), mix: mix, output: partial.path, importance: matrix,
                                        importanceFile: URL(fileURLWithPath: importancePath).lastPathComponent, progress: progress)
        _ = try? FileManager.default.removeItem(at: path)
        try FileManager.default.moveItem(at: partial, to: path)
        return path
    }
}

/// The caller's progress handler, handed to the calibrated quantizer for the length of the call
/// only (its lines arrive while `makeFile` runs).
private struct ProgressBox: @unchecked Sendable {
    let call: (String) -> Void
}
