/// slmbench's lab types with quantized group parameters (`lab4g32q`): asymmetric b-bit codes in
/// groups of 32, 64 or 128, each group's scale and minimum stored in 8 bits against two f16
/// values per row — the arrangement of Q4_K's sub-block scales, for rows that are not whole
/// 256-element super-blocks (SmolLM2's 576-wide rows).
///
/// Row layout: f16 `D` (the scales' step), f16 `M` (the minimums' step), then per group an
/// unsigned 8-bit `sc`, a signed 8-bit `mn` and the group's codes packed as the lab types pack
/// them (little-endian, low bits first). A group decodes as value = code · d + m with
/// d = f16(D · sc) and m = f16(M · mn): the products are rounded to f16 as part of the format,
/// so the engine can widen each row into the plain `lab<b>g<g>a` layout (f16 d and m per group)
/// exactly. Four bits in groups of 32 on a row of 576 take 4 + 18 × 18 bytes: 4.56 bits per weight.
///
/// Ids live at 0x4D00 ('M' << 8) + bits · 16 + the group's index, apart from `LabType`'s, so
/// code that reads `LabType`'s layout never mistakes one for the other.
public struct LabScaledType: Hashable, Sendable {
    public static let base: UInt32 = 0x4D00
    public static let groupSizes = [32, 64, 128]

    public let bits: Int
    public let group: Int

    public init?(bits: Int, group: Int) {
        guard (2...8).contains(bits), Self.groupSizes.contains(group) else { return nil }
        self.bits = bits; self.group = group
    }

    public init?(id: UInt32) {
        guard id >= Self.base, id < Self.base + 9 * 16 else { return nil }
        let rest = Int(id - Self.base)
        guard rest % 16 < Self.groupSizes.count else { return nil }
        self.init(bits: rest / 16, group: Self.groupSizes[rest % 16])
    }

    /// `lab4g32q`: bits, group, `q` for quantized group parameters.
    public init?(name: String) {
        let lower = name.lowercased()
        guard lower.hasPrefix("lab"), lower.hasSuffix("q"), let g = lower.firstIndex(of: "g") else { return nil }
        let bitsText = lower[lower.index(lower.startIndex, offsetBy: 3)..<g]
        let groupText = lower[lower.index(after: g)..<lower.index(before: lower.endIndex)]
        guard let bits = Int(bitsText), let group = Int(groupText) else { return nil }
        self.init(bits: bits, group: group)
    }

    public var id: UInt32 { Self.base + UInt32(bits) * 16 + UInt32(Self.groupSizes.firstIndex(of: group)!) }
    public var name: String { "lab\(bits)g\(group)q" }

    /// The plain lab type the engine widens rows into (same codes, f16 group parameters).
    public var widened: LabType { LabType(bits: bits, group: group, asymmetric: true)! }

    /// Bytes of one group: `sc`, `mn` and the codes.
    public var groupBytes: Int { 2 + group * bits / 8 }

    /// Bytes of a row of `elements`, nil unless the row is whole groups.
    public func rowBytes(_ elements: Int) -> Int? {
        guard elements > 0, elements % group == 0 else { return nil }
        let (groups, overflow) = (elements / group).multipliedReportingOverflow(by: groupBytes)
        return overflow || groups > Int.max - 4 ? nil : 4 + groups
    }

    /// The layout as `TensorType` reports it: groups as blocks (rows must be whole ones), with no
    /// fixed block size in bytes since the row carries its own header (`rowBytes`).
    var layout: TensorType.Layout { TensorType.Layout(name: name.uppercased(), blockElements: group, blockBytes: 0) }
}

/// Quantizing and decoding `LabScaledType` rows.
enum LabScaledQuants {
    /// Quantizes one row. Each group's target (d, m) is round to nearest's (or, with `importance`,
    /// the weighted search's of `LabQuants`); D and M are the largest d ÷ 255 and |m| ÷ 127, and
    /// each group then tries the neighbouring 8-bit values of d ÷ D and m ÷ M, keeping the pair
    /// whose decoded group has the least (weighted) squared error.
    static func quantize(_ x: UnsafeBufferPointer<Float>, _ out: UnsafeMutableRawBufferPointer, _ type: LabScaledType,
                         importance: UnsafeBufferPointer<Float>? = nil) {
        let g = type.group, groups = x.count / g, maxCode = (1 << type.bits) - 1
        var targets: [(d: Float, m: Float)] = []
        targets.reserveCapacity(groups)
        let ones = [Float](repeating: 1, count: g)
        for b in 0..<groups {
            let v = UnsafeBufferPointer(rebasing: x[(b * g)..<(b * g + g)])
            if let importance {
                targets.append(LabQuants.weightedAffine(v, UnsafeBufferPointer(rebasing: importance[(b * g)..<(b * g + g)]), maxCode: maxCode))
            } else {
                var lo = v[0], hi = v[0]
                for value in v { lo = min(lo, value); hi = max(hi, value) }
                targets.append(((hi - lo) / Float(maxCode), lo))
            }
        }
        let dMax = targets.map(\.d).max() ?? 0, mMax = targets.map { abs($0.m) }.max() ?? 0
        let D = Float(Float16(dMax / 255)), M = Float(Float16(mMax / 127))
        Quantization.storeHalf(D, out, 0)
        Quantization.storeHalf(M, out, 2)
        var codes = [Int](repeating: 0, count: g)
        ones.withUnsafeBufferPointer { unit in
            for b in 0..<groups {
                let v = UnsafeBufferPointer(rebasing: x[(b * g)..<(b * g + g)])
                let w = importance.map { UnsafeBufferPointer(rebasing: $0[(b * g)..<(b * g + g)]) } ?? unit
                let sc0 = D > 0 ? min(255, max(0, Quantization.truncate((targets[b].d / D).rounded(.down)))) : 0
                let mn0 = M > 0 ? min(127, max(-127, Quantization.truncate((targets[b].m / M).rounded(.down)))) : 0
                var best = (error: Float.infinity, sc: 0, mn: 0)
                for sc in max(0, sc0 - 1)...min(255, sc0 + 2) {
                    for mn in max(-127, mn0 - 1)...min(127, mn0 + 2) {
                        let (d, m) = decode(D: D, M: M, sc: sc, mn: mn)
                        let error = LabQuants.affineError(v, w, d: d, m: m, maxCode: maxCode)
                        if error < best.error { best = (error, sc, mn) }
                    }
                }
                let base = 4 + b * type.groupBytes
                out[base] = UInt8(best.sc)
                out[base + 1] = UInt8(bitPattern: Int8(best.mn))
                let (d, m) = decode(D: D, M: M, sc: best.sc, mn: best.mn)
                LabQuants.affineCodes(v, d: d, m: m, maxCode: maxCode, into: &codes)
                LabQuants.pack(codes, bits: type.bits, into: out, at: base + 2)
            }
        }
    }

    /// A group's decoded scale and minimum: the products rounded to f16 (the format's definition).
    @inline(__always) static func decode(D: Float, M: Float, sc: Int, mn: Int) -> (d: Float, m: Float) {
        (Float(Float16(D * Float(sc))), Float(Float16(M * Float(mn))))
    }

    /// The group parameters of group `b` of a row.
    @inline(__always) static func parameters(_ bytes: UnsafeRawBufferPointer, _ type: LabScaledType, group b: Int) -> (d: Float, m: Float) {
        let base = 4 + b * type.groupBytes
        return decode(D: Quantization.half(bytes, 0), M: Quantization.half(bytes, 2), sc: Int(bytes[base]),
                      mn: Int(Int8(bitPattern: bytes[base + 1])))
    }

    static func dequantize(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableBufferPointer<Float>, _ type: LabScaledType) {
        let g = type.group
        for b in 0..<out.count / g {
            let (d, m) = parameters(bytes, type, group: b)
            let codes = 4 + b * type.groupBytes + 2
            for j in 0..<g { out[b * g + j] = Float(LabQuants.unpack(j, bits: type.bits, from: bytes, at: codes)) * d + m }
        }
    }

    /// One row rewritten in `type.widened`'s layout (f16 d and m per group, the same codes), which
    /// decodes to the same values bit for bit. `out` holds `type.widened`'s bytes for the row.
    static func widen(_ bytes: UnsafeRawBufferPointer, _ out: UnsafeMutableRawBufferPointer, _ type: LabScaledType, elements: Int) {
        let g = type.group, codeBytes = g * type.bits / 8, plain = 4 + codeBytes
        for b in 0..<elements / g {
            let (d, m) = parameters(bytes, type, group: b)
            Quantization.storeHalf(d, out, b * plain)
            Quantization.storeHalf(m, out, b * plain + 2)
            let from = 4 + b * type.groupBytes + 2
            for i in 0..<codeBytes { out[b * plain + 4 + i] = bytes[from + i] }
        }
    }
}

extension Quantization {
    /// Rewrites one `LabScaledType` row in its widened plain lab layout (see `LabScaledType`).
    public static func widen(_ bytes: UnsafeRawBufferPointer, type: LabScaledType, elements: Int,
                             into out: UnsafeMutableRawBufferPointer) throws(Failure) {
        guard let expected = TensorType(id: type.id).rowBytes(elements), expected == bytes.count else {
            throw .lengthMismatch(type: TensorType(id: type.id), elements: elements, bytes: bytes.count)
        }
        let plain = TensorType(id: type.widened.id)
        guard let wide = plain.rowBytes(elements), wide == out.count else {
            throw .lengthMismatch(type: plain, elements: elements, bytes: out.count)
        }
        LabScaledQuants.widen(bytes, out, type, elements: elements)
    }
}
