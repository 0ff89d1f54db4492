/// Quantization with an importance matrix's per-column weights (see `ImportanceMatrix`).
extension Quantization {
    /// True when `type`'s scale search weighs each element's error by its column's importance:
    /// Q2_K…Q6_K, IQ4_NL, Q4_0, Q4_1, Q5_0, Q5_1 and the per-group and per-row lab types. The
    /// others (F32, F16, BF16, Q8_0 and the per-tensor lab types) quantize as without a matrix.
    public static func usesImportance(_ type: TensorType) -> Bool {
        if let lab = LabType(id: type.id) { return !lab.isTensorWise }
        if LabScaledType(id: type.id) != nil { return true }
        return [TensorType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .q4_0, .q4_1, .q5_0, .q5_1].contains(type)
    }

    /// Quantizes `x` like `quantize(_:to:into:)`, weighting each element's squared error in the
    /// scale search by `importance` (one value per element of `x`: the importance of the input
    /// column it multiplies). nil, or a type without a weighted search, gives the unweighted bytes.
    public static func quantize(_ x: UnsafeBufferPointer<Float>, to type: TensorType, into out: UnsafeMutableRawBufferPointer,
                                importance: UnsafeBufferPointer<Float>?) throws(Failure) {
        guard let imp = importance, usesImportance(type) else { return try quantize(x, to: type, into: out) }
        precondition(imp.count == x.count, "importance has \(imp.count) values for \(x.count) elements")
        guard let bytes = type.rowBytes(x.count), bytes == out.count else {
            throw .lengthMismatch(type: type, elements: x.count, bytes: out.count)
        }
        switch type {
        case .q4_0: LegacyQuants.quantizeSymmetric(x, out, bits: 4, importance: imp)
        case .q5_0: LegacyQuants.quantizeSymmetric(x, out, bits: 5, importance: imp)
        case .q4_1: LegacyQuants.quantizeAffine(x, out, bits: 4, importance: imp)
        case .q5_1: LegacyQuants.quantizeAffine(x, out, bits: 5, importance: imp)
        case .iq4_NL: IQ4NL.quantize(x, out, importance: imp)
        case .q2_K: KQuantizer.q2_K(x, out, importance: imp)
        case .q3_K: KQuantizer.q3_K(x, out, importance: imp)
        case .q4_K: KQuantizer.q4_K(x, out, bits: 4, importance: imp)
        case .q5_K: KQuantizer.q4_K(x, out, bits: 5, importance: imp)
        case .q6_K: KQuantizer.q6_K(x, out, importance: imp)
        default:
            if let lab = LabType(id: type.id) { LabQuants.quantize(x, out, lab, importance: imp) }
            else if let scaled = LabScaledType(id: type.id) { LabScaledQuants.quantize(x, out, scaled, importance: imp) }
            else { try quantize(x, to: type, into: out) }
        }
    }

    /// Convenience for arrays; `importance` must have `x.count` values.
    public static func quantize(_ x: [Float], to type: TensorType, importance: [Float]?) throws(Failure) -> [UInt8] {
        guard let importance else { return try quantize(x, to: type) }
        guard let count = type.rowBytes(x.count) else { throw .lengthMismatch(type: type, elements: x.count, bytes: 0) }
        var out = [UInt8](repeating: 0, count: count)
        var failure: Failure?
        x.withUnsafeBufferPointer { src in
            importance.withUnsafeBufferPointer { imp in
                out.withUnsafeMutableBytes { dst in
                    do throws(Failure) { try quantize(src, to: type, into: dst, importance: imp) } catch { failure = error }
                }
            }
        }
        if let failure { throw failure }
        return out
    }
}
