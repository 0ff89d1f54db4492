import Crypto
import Foundation
import ModelFormat
import Worker

/// How a model's weights are quantized: round to nearest (slmbench's quantizers as they are), or
/// one of the calibration-aware methods, which see activations on a calibration text first.
public enum QuantMethod: String, Sendable, CaseIterable, Codable {
    case rtn, imatrix, awq, gptq, smoothquant

    /// Whether the method reads a calibration text.
    public var needsCalibration: Bool { self != .rtn }
}

/// The one place a sweep's (model, type or mix, method, calibration text) becomes a file.
///
/// `rtn` is `ModelQuantizer.ensure`. The calibrated methods are made by their own drivers
/// (importance matrices, AWQ, GPTQ, SmoothQuant), which this function will call; until a method
/// is wired here it throws "quant_method X is not available in this build", so a sweep that asks
/// for it records that reason against each of its runs instead of running something else.
/// Files are cached by source content, mix, method and the calibration text's SHA-256
/// (`cacheName`), so a method never reuses another text's file.
public enum CalibratedQuantization {
    /// A method that cannot be used, in one sentence.
    public struct Unavailable: Error, Sendable, CustomStringConvertible, Equatable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The calibration text a method reads: `path`, or `Corpus.calibrationPath`.
    public static func calibration(_ path: String?) throws(QualityError) -> Corpus {
        try Corpus.loadCalibration(path, flag: "calibration")
    }

    /// The cache name of a method's file: `rtn` adds nothing (the files `models quantize` makes);
    /// another method adds its name and the first 12 hex digits of the text's SHA-256.
    public static func cacheName(mix: QuantMix, method: QuantMethod, calibrationText: String?) -> String {
        guard method != .rtn else { return mix.cacheName }
        let digest = SHA256.hash(data: Data((calibrationText ?? "").utf8)).map { String(format: "%02x", $0) }.joined()
        return "\(mix.cacheName)-\(method.rawValue)-c\(digest.prefix(12))"
    }

    /// The model file for `source` quantized to `mix` by `method`.
    public static func makeFile(source: URL, mix: QuantMix, method: QuantMethod, calibration: String?, cache: ModelCache,
                                progress: (String) -> Void = { _ in }) throws -> URL {
        switch method {
        case .rtn:
            return try ModelQuantizer.ensure(source: source, mix: mix, cache: cache, progress: progress)
        case .imatrix, .awq, .gptq, .smoothquant:
            throw Unavailable("quant_method \(method.rawValue) is not available in this build")
        }
    }
}
