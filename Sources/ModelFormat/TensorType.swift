/// A tensor element type as GGUF stores it: ggml's type ids for the types llama.cpp knows,
/// and slmbench's own "lab" ids for uniform b-bit group quantization.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    /// The id written in the GGUF tensor directory.
    public let id: UInt32

    public init(id: UInt32) { self.id = id }

    // ggml type ids (ggml.h). Ids with no entry here are valid ggml types that slmbench
    // reads the layout of but cannot compute with; unknown ids are refused by the reader.
    public static let f32 = TensorType(id: 0)
    public static let f16 = TensorType(id: 1)
    public static let q4_0 = TensorType(id: 2)
    public static let q4_1 = TensorType(id: 3)
    public static let q5_0 = TensorType(id: 6)
    public static let q5_1 = TensorType(id: 7)
    public static let q8_0 = TensorType(id: 8)
    public static let q8_1 = TensorType(id: 9)
    public static let q2_K = TensorType(id: 10)
    public static let q3_K = TensorType(id: 11)
    public static let q4_K = TensorType(id: 12)
    public static let q5_K = TensorType(id: 13)
    public static let q6_K = TensorType(id: 14)
    public static let q8_K = TensorType(id: 15)
    public static let iq4_NL = TensorType(id: 20)
    public static let i8 = TensorType(id: 24)
    public static let i16 = TensorType(id: 25)
    public static let i32 = TensorType(id: 26)
    public static let i64 = TensorType(id: 27)
    public static let f64 = TensorType(id: 28)
    public static let bf16 = TensorType(id: 30)

    /// Block layout: elements per block and bytes per block.
    public struct Layout: Sendable, Equatable {
        public let name: String
        public let blockElements: Int
        public let blockBytes: Int
    }

    /// ggml's layouts (ggml-common.h block structs; QK_K = 256). The i-quants and ternary
    /// types are listed so files holding them can be inspected, not computed with.
    static let ggmlLayouts: [UInt32: Layout] = [
        0: Layout(name: "F32", blockElements: 1, blockBytes: 4),
        1: Layout(name: "F16", blockElements: 1, blockBytes: 2),
        2: Layout(name: "Q4_0", blockElements: 32, blockBytes: 18),
        3: Layout(name: "Q4_1", blockElements: 32, blockBytes: 20),
        6: Layout(name: "Q5_0", blockElements: 32, blockBytes: 22),
        7: Layout(name: "Q5_1", blockElements: 32, blockBytes: 24),
        8: Layout(name: "Q8_0", blockElements: 32, blockBytes: 34),
        9: Layout(name: "Q8_1", blockElements: 32, blockBytes: 36),
        10: Layout(name: "Q2_K", blockElements: 256, blockBytes: 84),
        11: Layout(name: "Q3_K", blockElements: 256, blockBytes: 110),
        12: Layout(name: "Q4_K", blockElements: 256, blockBytes: 144),
        13: Layout(name: "Q5_K", blockElements: 256, blockBytes: 176),
        14: Layout(name: "Q6_K", blockElements: 256, blockBytes: 210),
        15: Layout(name: "Q8_K", blockElements: 256, blockBytes: 292),
        16: Layout(name: "IQ2_XXS", blockElements: 256, blockBytes: 66),
        17: Layout(name: "IQ2_XS", blockElements: 256, blockBytes: 74),
        18: Layout(name: "IQ3_XXS", blockElements: 256, blockBytes: 98),
        19: Layout(name: "IQ1_S", blockElements: 256, blockBytes: 50),
        20: Layout(name: "IQ4_NL", blockElements: 32, blockBytes: 18),
        21: Layout(name: "IQ3_S", blockElements: 256, blockBytes: 110),
        22: Layout(name: "IQ2_S", blockElements: 256, blockBytes: 82),
        23: Layout(name: "IQ4_XS", blockElements: 256, blockBytes: 136),
        24: Layout(name: "I8", blockElements: 1, blockBytes: 1),
        25: Layout(name: "I16", blockElements: 1, blockBytes: 2),
        26: Layout(name: "I32", blockElements: 1, blockBytes: 4),
        27: Layout(name: "I64", blockElements: 1, blockBytes: 8),
        28: Layout(name: "F64", blockElements: 1, blockBytes: 8),
        29: Layout(name: "IQ1_M", blockElements: 256, blockBytes: 56),
        30: Layout(name: "BF16", blockElements: 1, blockBytes: 2),
        34: Layout(name: "TQ1_0", blockElements: 256, blockBytes: 54),
        35: Layout(name: "TQ2_0", blockElements: 256, blockBytes: 66),
        39: Layout(name: "MXFP4", blockElements: 32, blockBytes: 17),
    ]

    /// The block layout, or nil for an id neither ggml nor slmbench defines.
    public var layout: Layout? {
        if let ggml = Self.ggmlLayouts[id] { return ggml }
        return LabType(id: id)?.layout ?? LabScaledType(id: id)?.layout
    }

    public var name: String { layout?.name ?? "type#\(id)" }
    public var description: String { name }

    /// True for slmbench's own lab types, which other backends cannot run.
    public var isLab: Bool { LabType(id: id) != nil || LabScaledType(id: id) != nil }

    /// Bytes a row of `elements` occupies, or nil when the row is not a whole number of blocks.
    public func rowBytes(_ elements: Int) -> Int? {
        if let lab = LabType(id: id), lab.isRowWise { return elements > 0 ? lab.groupBytes(elements) : nil }
        if let scaled = LabScaledType(id: id) { return scaled.rowBytes(elements) }
        guard let layout, elements % layout.blockElements == 0 else { return nil }
        let (bytes, overflow) = (elements / layout.blockElements).multipliedReportingOverflow(by: layout.blockBytes)
        return overflow ? nil : bytes
    }

    /// Bits per weight of the layout (block bytes × 8 ÷ block elements); nil for row-wise lab
    /// types, whose overhead depends on the row length.
    public var bitsPerWeight: Double? {
        if let lab = LabType(id: id), lab.isRowWise { return nil }
        if LabScaledType(id: id) != nil { return nil }
        return layout.map { Double($0.blockBytes * 8) / Double($0.blockElements) }
    }

    /// Looks a type up by its name as users write it: `q4_0`, `Q4_K`, `f16`, `lab4g32a`.
    public init?(name: String) {
        let upper = name.uppercased()
        if let (id, _) = Self.ggmlLayouts.first(where: { $0.value.name == upper }) {
            self.init(id: id)
        } else if let lab = LabType(name: name) {
            self.init(id: lab.id)
        } else if let scaled = LabScaledType(name: name) {
            self.init(id: scaled.id)
        } else {
            return nil
        }
    }

    /// Names of the types slmbench can quantize to, for help texts and errors.
    public static var quantizableNames: [String] {
        ["F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K", "Q5_1", "Q5_0", "Q4_K", "Q4_1", "Q4_0", "IQ4_NL", "Q3_K", "Q2_K"] + ["lab<2-8>g<32|64|128|row|tensor><s|a>", "lab<2-8>g<32|64|128>q"]
    }
}

/// slmbench's lab family: uniform b-bit weights (b = 2…8) in groups of 32, 64 or 128
/// elements, one group per row, or one set of parameters for the whole tensor; symmetric
/// (scale only) or asymmetric (scale and minimum), with f16 parameters.
///
/// Per-tensor types (`lab8gtensors`) use the row-wise layout: every row stores the same
/// parameters, computed from the whole tensor (its largest |x|, or its minimum and maximum),
/// so the row-wise kernels run them unchanged and each row costs the same 2 or 4 bytes of
/// parameters as a row-wise type's.
///
/// Ids live at 0x4C00 and above ('L' << 8), far from ggml's range (which ends below 64).
/// Layout of one group: f16 scale, then f16 minimum when asymmetric, then the group's
/// b-bit codes packed little-endian, low bits first, padded to a whole byte.
public struct LabType: Hashable, Sendable {
    public static let base: UInt32 = 0x4C00
    /// Group sizes in id order; 0 means one group per row, `tensorGroup` one for the whole tensor.
    public static let groupSizes = [32, 64, 128, 0, tensorGroup]
    /// The `group` of per-tensor types.
    public static let tensorGroup = -1

    public let bits: Int
    public let group: Int
    public let asymmetric: Bool

    public init?(bits: Int, group: Int, asymmetric: Bool) {
        guard (2...8).contains(bits), Self.groupSizes.contains(group) else { return nil }
        self.bits = bits; self.group = group; self.asymmetric = asymmetric
    }

    public var id: UInt32 {
        Self.base + UInt32(bits) * 16 + UInt32(Self.groupSizes.firstIndex(of: group)!) * 2 + (asymmetric ? 1 : 0)
    }

    public init?(id: UInt32) {
        guard id >= Self.base, id < Self.base + 9 * 16 else { return nil }
        let rest = Int(id - Self.base)
        let groupIndex = (rest % 16) / 2
        guard groupIndex < Self.groupSizes.count, rest % 16 < 2 * Self.groupSizes.count else { return nil }
        self.init(bits: rest / 16, group: Self.groupSizes[groupIndex], asymmetric: rest % 2 == 1)
    }

    /// `lab4g32a`, `lab3grows`, `lab8gtensors`: bits, group (`row` for one per row, `tensor` for
    /// one per tensor), `s` symmetric or `a` asymmetric.
    public init?(name: String) {
        let lower = name.lowercased()
        guard lower.hasPrefix("lab"), let g = lower.firstIndex(of: "g"), let last = lower.last,
              last == "s" || last == "a" else { return nil }
        let bitsText = lower[lower.index(lower.startIndex, offsetBy: 3)..<g]
        let groupText = lower[lower.index(after: g)..<lower.index(before: lower.endIndex)]
        let group = groupText == "row" ? 0 : groupText == "tensor" ? Self.tensorGroup : Int(groupText)
        guard let bits = Int(bitsText), let group, group != Self.tensorGroup || groupText == "tensor" else { return nil }
        self.init(bits: bits, group: group, asymmetric: last == "a")
    }

    public var name: String {
        "lab\(bits)g\(isTensorWise ? "tensor" : isRowWise ? "row" : String(group))\(asymmetric ? "a" : "s")"
    }

    /// Parameters are stored per row: one group per row, or the per-tensor layout (which repeats
    /// the tensor's parameters in every row).
    public var isRowWise: Bool { group <= 0 }

    /// One set of parameters for the whole tensor, repeated in every row.
    public var isTensorWise: Bool { group == Self.tensorGroup }

    /// Bytes of one group of `elements` codes with its parameters.
    public func groupBytes(_ elements: Int) -> Int { (asymmetric ? 4 : 2) + (elements * bits + 7) / 8 }

    /// Fixed-group layout; row-wise types report one-element blocks (their row size comes
    /// from `TensorType.rowBytes`).
    public var layout: TensorType.Layout {
        TensorType.Layout(name: name.uppercased(), blockElements: isRowWise ? 1 : group,
                          blockBytes: isRowWise ? 0 : groupBytes(group))
    }
}
