import Foundation
import ModelFormat
import Reporter

/// Model shapes for the cross-device model, from the presets and from a GGUF file's metadata.
public enum ModelGeometries {
    /// Every architecture preset, by its name (the name local runs carry).
    public static var presets: [String: ModelGeometry] {
        Dictionary(uniqueKeysWithValues: ArchitecturePreset.all.map { p in
            (p.name, ModelGeometry(name: p.name, parameters: p.parameterCount, layers: p.layers, embedding: p.embedding,
                                vocabulary: p.vocabulary, tiedEmbeddings: p.tiedEmbeddings, attentionWidth: p.heads * p.headDimension,
                                kvWidth: p.kvHeads * p.headDimension))
        })
    }

    /// A GGUF file's shape from its `ARCH.*` hyperparameters and its tensor list; nil when a key
    /// is missing or the numbers do not describe a model.
    public static func from(_ file: GGUFFile, name: String) -> ModelGeometry? {
        guard let arch = file["general.architecture"]?.string,
              let layers = file["\(arch).block_count"]?.int, let embedding = file["\(arch).embedding_length"]?.int,
              let heads = file["\(arch).attention.head_count"]?.int, heads > 0, layers > 0, embedding > 0,
              let table = file.tensor(named: "token_embd.weight"), table.shape.count == 2 else { return nil }
        let kvHeads = file["\(arch).attention.head_count_kv"]?.int ?? heads
        let headDim = file["\(arch).attention.key_length"]?.int ?? embedding / heads
        let (width, overflow) = heads.multipliedReportingOverflow(by: headDim)
        guard !overflow else { return nil }
        return ModelGeometry(name: name, parameters: file.tensors.map(\.elementCount).reduce(0, +), layers: layers, embedding: embedding,
                          vocabulary: table.shape[1], tiedEmbeddings: file.tensor(named: "output.weight") == nil,
                          attentionWidth: width, kvWidth: kvHeads * headDim)
    }
}
