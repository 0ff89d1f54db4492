import Foundation
import ModelFormat

/// Per-input-channel scaling folded exactly into a model: the machinery SmoothQuant and AWQ share.
///
/// A block matrix's input X is divided by a factor s_j per channel and the matrix's column j
/// multiplied by it, which leaves X·Wᵀ unchanged. The division is folded into whatever writes X,
/// where that is exact:
/// - q/k/v's input: into `attn_norm` (an RMSNorm's weights scale each channel);
/// - gate/up's input: into `ffn_norm`;
/// - attn_output's input (attention's output, linear in V per channel): into V's rows and bias;
///   with grouped-query attention one V channel feeds several query heads, so those heads'
///   channels share a factor;
/// - down's input (act(gate)·up, element-wise): into up's rows and bias.
/// A fused tensor (Phi-3's `attn_qkv`; its `ffn_up`, gate and up in one) is rescaled part by
/// part in place. What decides the factors (SmoothQuant's maxima, AWQ's search) is the caller's;
/// a group it gives no factors for is left as it is, and the plan says so.
public enum ChannelScaling {
    /// The rescaling of each tensor a method touches, and what it left alone.
    public struct Plan: Sendable {
        public var edits: [String: ModelQuantizer.TensorEdit] = [:]
        /// One line per group of matrices left unscaled, and why.
        public var skipped: [String] = []
        /// Matrices whose input is scaled.
        public var scaled: [String] = []
    }

    /// Block matrices that read one input, and how its channels map to factors.
    public struct SharedInput {
        public enum Kind: String, Sendable, CaseIterable {
            case attentionInput = "q/k/v", ffnInput = "gate/up", attentionOutput = "attn_output", ffnDown = "ffn_down"
        }
        public var layer: Int
        public var kind: Kind
        /// The matrices whose columns the factors multiply (parts of a fused tensor as their own matrices).
        public var matrices: [WeightMatrix]
        /// Input column j takes factor `channel[j]`: the identity, except attn_output under
        /// grouped-query attention, where the query heads one V channel feeds share its factor.
        public var channel: [Int]
        public var factorCount: Int

        /// Per input column, its factor.
        public func expand(_ factors: [Float]) -> [Float] { channel.map { factors[$0] } }
    }

    /// Per column, the largest |w| over the rows of every matrix in `matrices` (which share an input).
    static func columnMax(_ matrices: [WeightMatrix]) -> [Float] {
        guard let first = matrices.first else { return [] }
        var m = [Float](repeating: 0, count: first.columns)
        var row = [Float](repeating: 0, count: first.columns)
        for w in matrices {
            for r in 0..<w.rows {
                row.withUnsafeMutableBufferPointer { w.fastDequantizedRow(r, into: $0) }
                for c in 0..<w.columns { m[c] = max(m[c], abs(row[c])) }
            }
        }
        return m
    }

    /// The scaling of every block of `weights`, with `factors` deciding each shared input's
    /// (`factorCount` values, or nil to leave the group as it is).
    public static func plan(weights: ModelWeights, factors: (SharedInput) throws -> [Float]?) rethrows -> Plan {
        var plan = Plan()
        let c = weights.config
        func tensor(_ name: String) -> GGUFTensorInfo? { weights.file.tensor(named: ImportanceCollector.tensorName(name)) }
        func scaleColumns(_ name: String, _ factors: [Float]) {
            let name = ImportanceCollector.tensorName(name)
            var edit = plan.edits[name] ?? ModelQuantizer.TensorEdit()
            edit.columnScale = zip(edit.columnScale ?? Array(repeating: 1, count: factors.count), factors).map(*)
            plan.edits[name] = edit
        }
        /// Rows `offset…` of the tensor that holds `name` (a part of a fused tensor starts past the parts before it).
        func scaleRows(_ name: String, _ factors: [Float], offset: Int) {
            guard let info = tensor(name) else { return }
            let whole = ImportanceCollector.tensorName(name)
            var edit = plan.edits[whole] ?? ModelQuantizer.TensorEdit()
            var rows = edit.rowScale ?? Array(repeating: 1, count: info.rowCount)
            for (r, f) in factors.enumerated() { rows[offset + r] *= f }
            edit.rowScale = rows
            plan.edits[whole] = edit
        }
        func valid(_ s: [Float]?, _ count: Int) -> [Float]? {
            guard let s, s.count == count, s.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
            return s
        }
        for (i, layer) in weights.layers.enumerated() {
            let p = "blk.\(i)."
            // Inputs of q/k/v and gate/up: an RMSNorm's weights divide, the matrices' columns multiply.
            for (norm, kind, group) in [("attn_norm.weight", SharedInput.Kind.attentionInput, [layer.query, layer.key, layer.value]),
                                        ("ffn_norm.weight", .ffnInput, [layer.gate, layer.up])] {
                let names = group.map(\.name)
                let input = SharedInput(layer: i, kind: kind, matrices: group, channel: Array(0..<c.width), factorCount: c.width)
                guard tensor(p + norm) != nil, group.allSatisfy({ $0.columns == c.width }),
                      let s = valid(try factors(input), c.width) else {
                    plan.skipped.append("\(names.joined(separator: ", ")): no factors (no calibration activations, or nothing of it is rounded) or no \(p + norm); left unscaled")
                    continue
                }
                scaleColumns(p + norm, s.map { 1 / $0 })
                for name in Set(names.map(ImportanceCollector.tensorName)) { scaleColumns(name, s) }
                plan.scaled += names
            }
            // attn_output's input: each V channel feeds the same channel of every query head of its group.
            let o = layer.attentionOutput, v = layer.value
            let group = c.heads / max(1, c.kvHeads), hd = c.headDim
            let vOffset = v.name.hasSuffix("]") ? layer.query.rows + layer.key.rows : 0
            let channel = (0..<o.columns).map { j in (j / hd) / group * hd + j % hd }
            if o.columns == c.heads * hd, v.rows == c.kvHeads * hd, c.heads % max(1, c.kvHeads) == 0,
               let s = valid(try factors(SharedInput(layer: i, kind: .attentionOutput, matrices: [o], channel: channel, factorCount: v.rows)), v.rows) {
                scaleRows(v.name, s.map { 1 / $0 }, offset: vOffset)
                if tensor(p + "attn_v.bias") != nil { scaleColumns(p + "attn_v.bias", s.map { 1 / $0 }) }
                scaleColumns(o.name, channel.map { s[$0] })
                plan.scaled.append(o.name)
            } else {
                plan.skipped.append("\(o.name): no factors (no calibration activations, or it is not rounded), or V shaped unlike the heads; left unscaled")
            }
            // down's input is act(gate)·up element by element: up's rows divide.
            let down = layer.down, up = layer.up
            let upOffset = up.name.hasSuffix("]") ? layer.gate.rows : 0
            if down.columns == up.rows,
               let s = valid(try factors(SharedInput(layer: i, kind: .ffnDown, matrices: [down], channel: Array(0..<up.rows), factorCount: up.rows)), up.rows) {
                scaleRows(up.name, s.map { 1 / $0 }, offset: upOffset)
                if upOffset == 0, tensor(p + "ffn_up.bias") != nil { scaleColumns(p + "ffn_up.bias", s.map { 1 / $0 }) }
                scaleColumns(down.name, s)
                plan.scaled.append(down.name)
            } else {
                plan.skipped.append("\(down.name): no factors (no calibration activations, or it is not rounded); left unscaled")
            }
        }
        return plan
    }
}
