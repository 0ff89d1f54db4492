import Foundation

/// How a model's weights are rounded to their types.
public enum QuantMethod: String, Sendable, CaseIterable, Codable {
    /// Round to nearest: each type's own quantizer on the weights alone.
    case rtn
    /// The scale search weighted by an importance matrix collected on a calibration text.
    case imatrix
    /// GPTQ error compensation against a calibration text's Hessians.
    case gptq
    /// AWQ's activation-aware per-channel scaling: per shared input, factors mean|x|^α with α
    /// searched on the calibration activations' output error, folded into the preceding norms
    /// (Engine's `AWQ`), then round to nearest.
    case awq
    /// SmoothQuant: activation outliers moved into the weights by per-channel factors folded
    /// into the preceding norms (Engine's `SmoothQuant`), then round to nearest.
    case smoothquant

    /// Methods that need a calibration text.
    public var needsCalibration: Bool { self != .rtn }
}

/// What a calibrated quantization did, tensor by tensor.
public struct CalibratedQuantization: Sendable {
    public var method: QuantMethod
    public var assignment: MixAssignment
    /// Matrices the method quantized, with the dampening fraction GPTQ used (raised above the
    /// request when a Hessian needed it).
    public var calibrated: [String: Double] = [:]
    /// Matrices quantized by round-to-nearest instead, with the reason (no input group in the
    /// calibration, e.g. the token embedding and a tied output; or a type the method cannot fill).
    public var roundedToNearest: [String: String] = [:]
    /// What else the method reports (SmoothQuant, AWQ: the matrices they could not scale, and why).
    public var notes: [String] = []
    /// AWQ: the α chosen per group of matrices that share an input ("blk.3 q/k/v").
    public var alphas: [String: Float] = [:]

    public init(method: QuantMethod, assignment: MixAssignment) {
        self.method = method; self.assignment = assignment
    }
}

extension ModelQuantizer {
    /// Metadata keys naming how a file's weights were rounded and on what text.
    public static let methodKey = "slmbench.quant.method"
    public static let calibrationKey = "slmbench.quant.calibration"
    public static let calibrationTokensKey = "slmbench.quant.calibration_tokens"

    /// Writes `source` to `output` with each matrix in the type `mix` gives it, quantized by GPTQ
    /// against `hessians` (from `HessianCollector` over a calibration text). Matrices without a
    /// Hessian (token embedding, output) or in a type GPTQ cannot fill keep round-to-nearest; the
    /// result lists them. The file records the method and the calibration text's name.
    @discardableResult
    public static func quantizeGPTQ(_ source: GGUFFile, mix: QuantMix, output: String, hessians: HessianSet,
                                    options: GPTQ.Options = GPTQ.Options(),
                                    progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> CalibratedQuantization {
        if case let .type(type) = mix.base, !Quantization.canQuantize(to: type) { throw Failure.cannotQuantize(type) }
        let assignment = mix.assign(MixModel(file: source))
        var writer = GGUFWriter()
        writer.metadata = source.metadata.filter { $0.key != "general.file_type" }
        if case let .recipe(recipe) = mix.base { writer.set("general.file_type", .uint32(recipe.llamaFileType)) }
        writer.set("slmbench.quantized_from", .string(URL(fileURLWithPath: source.path).lastPathComponent))
        writer.set("slmbench.quantized_to", .string(mix.uniformType?.name ?? mix.description))
        writer.set(methodKey, .string(QuantMethod.gptq.rawValue))
        writer.set(calibrationKey, .string(hessians.dataset))
        writer.set(calibrationTokensKey, .uint32(UInt32(clamping: hessians.chunkCount * hessians.chunkSize)))
        let record = CalibrationRecord()
        for tensor in source.tensors {
            let target = assignment.types[tensor.name] ?? .f32
            if assignment.kept.contains(tensor.name) {
                writer.tensors.append(GGUFTensorSpec(name: tensor.name, shape: tensor.shape, type: tensor.type) { out in
                    out.copyMemory(from: source.data(for: tensor))
                })
                continue
            }
            guard Quantization.canDequantize(tensor.type) else { throw Failure.cannotRead(tensor: tensor.name, type: tensor.type) }
            guard Quantization.canQuantize(to: target) else { throw Failure.cannotQuantize(target) }
            let bytes = tensor.type.rowBytes(tensor.rowLength)! // the reader checked rows are whole blocks
            let readRow: @Sendable (Int, UnsafeMutableBufferPointer<Float>) throws -> Void = { row, buffer in
                let raw = UnsafeRawBufferPointer(rebasing: source.data(for: tensor)[(row * bytes)..<((row + 1) * bytes)])
                try Quantization.dequantize(raw, type: tensor.type, into: buffer)
            }
            let hessian = tensor.shape.count == 2 ? hessians.hessian(for: tensor.name) : nil
            guard let hessian, GPTQFormat.supports(target) else {
                if tensor.shape.count >= 2, target != .f32, target != .f16 {
                    record.rounded(tensor.name, GPTQFormat.supports(target) ? "no calibration input group" : "GPTQ cannot fill \(target.name)")
                }
                writer.tensors.append(GGUFTensorSpec(name: tensor.name, shape: tensor.shape, type: target) { out in
                    try convertRows(rows: tensor.rowCount, rowLength: tensor.rowLength, to: target, into: out, readRow)
                })
                continue
            }
            writer.tensors.append(GGUFTensorSpec(name: tensor.name, shape: tensor.shape, type: target) { out in
                var weights = [Float](repeating: 0, count: tensor.rowCount * tensor.rowLength)
                try weights.withUnsafeMutableBufferPointer { w in
                    for r in 0..<tensor.rowCount {
                        try readRow(r, UnsafeMutableBufferPointer(rebasing: w[(r * tensor.rowLength)..<((r + 1) * tensor.rowLength)]))
                    }
                }
                progress("gptq: \(tensor.name) \(tensor.rowCount)×\(tensor.rowLength) → \(target.name)")
                let result: (bytes: [UInt8], dampening: Double)
                do {
                    result = try GPTQ.quantize(weights, rows: tensor.rowCount, columns: tensor.rowLength, hessian: hessian,
                                               type: target, tensor: tensor.name, options: options)
                } catch let failure as GPTQ.Failure { record.fail(failure); throw failure }
                record.calibrated(tensor.name, result.dampening)
                result.bytes.withUnsafeBytes { out.copyMemory(from: $0) }
            })
        }
        progress("writing \(writer.tensors.count) tensors to \(output)…")
        do { try writer.write(to: output) } catch {
            // A GPTQ failure inside a tensor's fill is the cause; say it rather than "write failed".
            if let failure = record.failure { throw failure }
            throw Failure.gguf(error)
        }
        var result = CalibratedQuantization(method: .gptq, assignment: assignment)
        result.calibrated = record.calibratedTensors
        result.roundedToNearest = record.roundedTensors
        return result
    }
}

/// Collects per-tensor outcomes from the writer's fill closures.
final class CalibrationRecord: @unchecked Sendable {
    private let lock = NSLock()
    private var calibratedStore: [String: Double] = [:]
    private var roundedStore: [String: String] = [:]
    private var failureStore: GPTQ.Failure?
    func fail(_ failure: GPTQ.Failure) { lock.lock(); if failureStore == nil { failureStore = failure }; lock.unlock() }
    var failure: GPTQ.Failure? { lock.lock(); defer { lock.unlock() }; return failureStore }
    func calibrated(_ name: String, _ dampening: Double) { lock.lock(); calibratedStore[name] = dampening; lock.unlock() }
    func rounded(_ name: String, _ reason: String) { lock.lock(); roundedStore[name] = reason; lock.unlock() }
    var calibratedTensors: [String: Double] { lock.lock(); defer { lock.unlock() }; return calibratedStore }
    var roundedTensors: [String: String] { lock.lock(); defer { lock.unlock() }; return roundedStore }
}
