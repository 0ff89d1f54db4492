/// llama.cpp's per-tensor recipes (its "file types" Q2_K, Q3_K_M, Q4_K_M, Q5_K_M, Q6_K and
/// IQ4_NL): a default type, and rules by tensor kind, layer and model shape that give some
/// tensors more bits. The rules are the facts of llama.cpp's `llama_tensor_get_type_impl`
/// (src/llama-quant.cpp of the pinned version) for dense models without an importance matrix;
/// the fallbacks for rows that are not whole blocks are `ModelQuantizer.effectiveType`.
///
/// Names: `q3_k_m`, `q4_k_m` and `q5_k_m` name recipes. `q2_k`, `q6_k` and `iq4_nl` are also
/// types, and a type name means that type for every matrix (llama-quantize `--pure`), so those
/// recipes are written `recipe:q2_k`, `recipe:q6_k`, `recipe:iq4_nl` (every recipe may be).
public enum QuantRecipe: String, Sendable, Hashable, CaseIterable {
    case q2_K = "q2_k", q3_K_M = "q3_k_m", q4_K_M = "q4_k_m", q5_K_M = "q5_k_m", q6_K = "q6_k", iq4_NL = "iq4_nl"

    public init?(name: String) {
        var lower = name.lowercased()
        let prefixed = lower.hasPrefix("recipe:")
        if prefixed { lower.removeFirst("recipe:".count) }
        guard let recipe = QuantRecipe(rawValue: lower) else { return nil }
        // A bare name that is also a type's name means the type.
        if !prefixed && TensorType(name: lower) != nil { return nil }
        self = recipe
    }

    /// How users write it: bare where no type has the name, else with `recipe:`.
    public var name: String { TensorType(name: rawValue) == nil ? rawValue : "recipe:\(rawValue)" }

    /// The type of every matrix no rule raises (llama.cpp's `llama_ftype_get_default_type`).
    public var defaultType: TensorType {
        switch self {
        case .q2_K: return .q2_K
        case .q3_K_M: return .q3_K
        case .q4_K_M: return .q4_K
        case .q5_K_M: return .q5_K
        case .q6_K: return .q6_K
        case .iq4_NL: return .iq4_NL
        }
    }

    /// llama.cpp's `llama_ftype` value, written to `general.file_type` so that llama.cpp's
    /// tools name the file as they name their own ("Q4_K - Medium").
    public var llamaFileType: UInt32 {
        switch self {
        case .q2_K: return 10
        case .q3_K_M: return 12
        case .q4_K_M: return 15
        case .q5_K_M: return 17
        case .q6_K: return 18
        case .iq4_NL: return 25
        }
    }

    /// The per-model counters llama.cpp keeps while it walks the tensors.
    struct State {
        let model: MixModel
        var attentionV = 0
        let attentionVCount: Int
        var ffnDown = 0
        let tiedEmbeddings: Bool

        init(model: MixModel) {
            self.model = model
            attentionVCount = model.tensors.filter { Kind($0.name).isAttentionV }.count
            tiedEmbeddings = !model.tensors.contains { $0.name == "output.weight" }
        }

        var groupedQueryFactor: Int { model.kvHeads > 0 ? model.heads / model.kvHeads : 0 }
        var isFalcon: Bool { model.architecture == "falcon" }
    }

    /// llama.cpp's tensor categories (`tensor_get_category`), by name.
    enum Kind {
        case tokenEmbedding, output, attentionQKV, attentionKVB, attentionV, attentionK, attentionQ, attentionOutput
        case ffnUp, ffnGate, ffnDown, other

        init(_ name: String) {
            if name == "output.weight" { self = .output }
            else if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { self = .tokenEmbedding }
            else if name.contains("attn_qkv.weight") { self = .attentionQKV }
            else if name.contains("attn_kv_b.weight") { self = .attentionKVB }
            else if name.contains("attn_v.weight") { self = .attentionV }
            else if name.contains("attn_k.weight") { self = .attentionK }
            else if name.contains("attn_q.weight") { self = .attentionQ }
            else if name.contains("attn_output.weight") { self = .attentionOutput }
            else if name.contains("ffn_up") { self = .ffnUp }
            else if name.contains("ffn_gate") { self = .ffnGate }
            else if name.contains("ffn_down") { self = .ffnDown }
            else { self = .other }
        }

        /// The value-projection kinds llama.cpp treats alike (more sensitive to quantization).
        var isAttentionV: Bool { self == .attentionV || self == .attentionQKV || self == .attentionKVB }
    }

    /// Whether llama-quantize quantizes this matrix at all (`tensor_allows_quantization`, the
    /// rules that concern the architectures slmbench writes): names ending in `weight`, except
    /// norms, MoE routers and positional or token-type embeddings.
    static func allowsQuantization(_ name: String) -> Bool {
        name.hasSuffix("weight") && !name.contains("_norm.weight") && !name.contains("ffn_gate_inp.weight")
            && name != "position_embd.weight" && name != "token_types.weight"
    }

    /// llama.cpp's `use_more_bits`: the first and last eighth of the layers and every third
    /// one between get more bits.
    static func useMoreBits(_ layer: Int, _ layers: Int) -> Bool {
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
    }

    /// The type this recipe gives `tensor`, advancing the counters as llama.cpp does (only
    /// for tensors no `--tensor-type` rule decided).
    func choose(_ tensor: MixModel.Tensor, state: inout State) -> TensorType {
        let kind = Kind(tensor.name)
        var type = defaultType
        if kind == .output || (state.tiedEmbeddings && kind == .tokenEmbedding) {
            // The output head (or the embedding that doubles as it): Q8_0 when its rows are not
            // whole blocks of the default type, else Q6_K.
            let fits = tensor.shape[0] % (type.layout?.blockElements ?? 1) == 0
            if state.isFalcon || !fits { type = .q8_0 } else if type != .q8_0 { type = .q6_K }
        } else if kind == .tokenEmbedding {
            // An untied embedding keeps the default type for these recipes.
        } else if kind.isAttentionV {
            switch self {
            case .q2_K: type = state.groupedQueryFactor >= 4 ? .q4_K : .q3_K
            case .q3_K_M: type = state.attentionV < 2 ? .q5_K : .q4_K
            case .iq4_NL: if state.groupedQueryFactor >= 4 { type = .q5_K }
            case .q4_K_M, .q5_K_M: if Self.useMoreBits(state.attentionV, state.attentionVCount) { type = .q6_K }
            case .q6_K: break
            }
            state.attentionV += 1
        } else if kind == .ffnDown {
            let (layer, layers) = (state.ffnDown, state.model.layers)
            switch self {
            case .q2_K: type = .q3_K
            case .q3_K_M:
                type = layer < layers / 16 ? .q5_K : (!state.isFalcon || Self.useMoreBits(layer, layers)) ? .q4_K : .q3_K
            case .q4_K_M:
                if state.isFalcon {
                    type = layer < layers / 16 ? .q6_K : Self.useMoreBits(layer, layers) ? .q5_K : .q4_K
                } else if Self.useMoreBits(layer, layers) {
                    type = .q6_K
                }
            case .iq4_NL: if layer < layers / 8 { type = .q5_K }
            case .q5_K_M: if Self.useMoreBits(layer, layers) { type = .q6_K }
            case .q6_K: break
            }
            state.ffnDown += 1
        } else if kind == .attentionOutput && !state.isFalcon {
            switch self {
            case .q2_K: type = .q3_K
            case .q3_K_M: type = .q4_K
            default: break
            }
        }
        return type
    }
}
