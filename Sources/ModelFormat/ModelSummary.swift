/// What `models inspect` reports about a GGUF model.
public struct ModelSummary: Sendable, Codable, Equatable {
    public var path: String
    public var name: String?
    public var architecture: String
    public var synthetic: Bool
    public var layers: Int?
    public var embedding: Int?
    public var heads: Int?
    public var kvHeads: Int?
    public var feedForward: Int?
    public var vocabulary: Int?
    public var contextLength: Int?
    public var parameters: Int
    public var tensorBytes: Int
    /// Mean bits per weight over all tensors.
    public var bitsPerWeight: Double
    /// Weight bytes read to decode one token: every matrix once, one row of the token
    /// embedding (the whole embedding when it doubles as the output head). KV-cache reads
    /// are not included; they depend on the context length.
    public var decodeBytesPerToken: Int
    /// Tensor count per type name.
    public var tensorTypes: [String: Int]
    /// The mix: tensor bytes per type name (with `tensorTypes`, the counts).
    public var typeBytes: [String: Int]
    /// What slmbench quantized the file as (`slmbench.quantized_to`: a type, a recipe, or a
    /// base with `--tensor-type` rules), when it did.
    public var quantizedAs: String?
    /// How the weights were rounded (`slmbench.quant.method`: rtn, gptq) and on what calibration
    /// text (`slmbench.quant.calibration`), when a calibrated method wrote the file.
    public var quantMethod: String?
    public var calibration: String?
    public var tensors: [Tensor]

    public struct Tensor: Sendable, Codable, Equatable {
        public var name: String
        public var shape: [Int]
        public var type: String
        public var bytes: Int
    }

    public init(file: GGUFFile) {
        let arch = file["general.architecture"]?.string ?? "unknown"
        func hyper(_ key: String) -> Int? { file["\(arch).\(key)"]?.int }
        path = file.path
        name = file["general.name"]?.string
        architecture = arch
        synthetic = file["slmbench.synthetic"]?.bool ?? false
        layers = hyper("block_count")
        embedding = hyper("embedding_length")
        heads = hyper("attention.head_count")
        kvHeads = hyper("attention.head_count_kv") ?? heads
        feedForward = hyper("feed_forward_length")
        vocabulary = file["tokenizer.ggml.tokens"]?.array?.count ?? hyper("vocab_size")
        contextLength = hyper("context_length")
        parameters = file.tensors.map(\.elementCount).reduce(0, +)
        tensorBytes = file.tensors.map(\.byteCount).reduce(0, +)
        bitsPerWeight = parameters > 0 ? Double(tensorBytes * 8) / Double(parameters) : 0
        let embeddingTensor = file.tensor(named: "token_embd.weight")
        if let embeddingTensor, file.tensor(named: "output.weight") != nil {
            decodeBytesPerToken = tensorBytes - embeddingTensor.byteCount + embeddingTensor.byteCount / max(1, embeddingTensor.rowCount)
        } else {
            decodeBytesPerToken = tensorBytes
        }
        tensorTypes = Dictionary(file.tensors.map { ($0.type.name, 1) }, uniquingKeysWith: +)
        typeBytes = Dictionary(file.tensors.map { ($0.type.name, $0.byteCount) }, uniquingKeysWith: +)
        quantizedAs = file["slmbench.quantized_to"]?.string
        quantMethod = file["slmbench.quant.method"]?.string
        calibration = file["slmbench.quant.calibration"]?.string
        tensors = file.tensors.map { Tensor(name: $0.name, shape: $0.shape, type: $0.type.name, bytes: $0.byteCount) }
    }

    /// Human-readable report; `allTensors` lists every tensor instead of the first few.
    public func text(allTensors: Bool = false) -> String {
        var lines: [String] = []
        lines.append("\(path)")
        lines.append("  model         \(name ?? "(unnamed)")\(synthetic ? "  [SYNTHETIC: pseudo-random weights, no quality numbers]" : "")")
        lines.append("  architecture  \(architecture)")
        func row(_ label: String, _ value: Int?) { lines.append("  \(label.padding(toLength: 14, withPad: " ", startingAt: 0))\(value.map(String.init) ?? "?")") }
        row("layers", layers); row("width", embedding); row("heads", heads); row("kv heads", kvHeads)
        row("ffn", feedForward); row("vocabulary", vocabulary); row("context", contextLength)
        lines.append("  parameters    \(parameters) (\(String(format: "%.1f", Double(parameters) / 1e6))M)")
        lines.append("  size          \(tensorBytes) bytes of tensors, \(String(format: "%.3f", bitsPerWeight)) bits per weight")
        lines.append("  decode reads  \(decodeBytesPerToken) weight bytes per token (\(String(format: "%.1f", Double(decodeBytesPerToken) / 1e6)) MB)")
        if let quantizedAs { lines.append("  quantized as  \(quantizedAs)") }
        if let quantMethod { lines.append("  method        \(quantMethod)\(calibration.map { ", calibrated on \($0)" } ?? "")") }
        // The mix: per type, how many tensors and how much of the file's tensor bytes.
        lines.append("  tensor types  type      tensors        bytes  share")
        for (name, count) in tensorTypes.sorted(by: { (typeBytes[$0.key] ?? 0, $0.key) > (typeBytes[$1.key] ?? 0, $1.key) }) {
            let bytes = typeBytes[name] ?? 0
            let share = tensorBytes > 0 ? 100 * Double(bytes) / Double(tensorBytes) : 0
            lines.append("                " + name.padding(toLength: 8, withPad: " ", startingAt: 0)
                         + String(format: " %8d %12d %5.1f%%", count, bytes, share))
        }
        let shown = allTensors ? tensors : Array(tensors.prefix(12))
        lines.append("  tensors:")
        for t in shown {
            lines.append("    \(t.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(t.type.padding(toLength: 8, withPad: " ", startingAt: 0)) \(t.shape.map(String.init).joined(separator: " × ")) (\(t.bytes) B)")
        }
        if shown.count < tensors.count { lines.append("    … \(tensors.count - shown.count) more (--tensors lists all)") }
        return lines.joined(separator: "\n")
    }
}

import Foundation
