import ModelFormat

/// One transformer block's weights.
public struct LayerWeights: @unchecked Sendable {
    public let attentionNorm: [Float]
    public let query, key, value, attentionOutput: WeightMatrix
    public let queryBias, keyBias, valueBias: [Float]?
    /// Per-head norms of queries and keys (head-dimension weights), where the architecture has them.
    public let queryNorm, keyNorm: [Float]?
    /// Gemma's norms of the attention and FFN outputs, before each residual add.
    public let postAttentionNorm, postFFNNorm: [Float]?
    public let ffnNorm: [Float]
    public let gate, up, down: WeightMatrix
}

/// A model's weights where its GGUF file is mapped: matrices stay in their block format;
/// only 1-D tensors (norms, biases) are copied out as floats.
public final class ModelWeights: @unchecked Sendable {
    public let file: GGUFFile
    public let architecture: Architecture
    public let config: ModelConfig
    public let embedding: WeightMatrix
    public let outputNorm: [Float]
    /// The output head; the embedding matrix itself when the model ties them.
    public let output: WeightMatrix
    public let tiedOutput: Bool
    public let layers: [LayerWeights]
    /// Per-pair divisors of the rotary frequencies (Llama 3's `rope_freqs.weight`), if present.
    public let ropeFactors: [Float]?

    /// Whether a matrix is summed block by block from a copy in groups of eight rows (`pack()`):
    /// Q4_0 everywhere; IQ4_NL where the kernels have a packed body for it (x86: on Arm it keeps
    /// the lane order of its row kernels, which have vector bodies there).
    /// Lab matrices of Q4_0 form (`WeightMatrix.hasQ4_0Form`) go the Q4_0 way everywhere.
    static func sumsByBlock(_ m: WeightMatrix) -> Bool {
        guard m.rows % 8 == 0 else { return false }
        if m.hasQ4_0Form { return true }
        #if arch(x86_64)
        return m.type == .iq4_NL
        #else
        return false
        #endif
    }

    /// Errors do not name the file; the caller names it once.
    public convenience init(path: String) throws(EngineError) {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw .gguf(error.description) }
        try self.init(file: file)
    }

    public init(file: GGUFFile) throws(EngineError) {
        self.file = file
        guard let name = file["general.architecture"]?.string else { throw .gguf("no general.architecture") }
        guard let architecture = ArchitectureRegistry.named(name) else {
            throw .unsupportedArchitecture(name, known: ArchitectureRegistry.all.map(\.name))
        }
        self.architecture = architecture
        let c = try ModelConfig(file: file, architecture: architecture)
        config = c

        // The copies of one model's matrices share huge-page chunks (most of a small model's
        // matrices are under 2 MiB, too small for a huge page of their own).
        let arena = WeightArena()
        func matrix(_ name: String, rows: Int, columns: Int) throws(EngineError) -> WeightMatrix {
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            guard t.shape == [columns, rows] else { throw .badShape(tensor: name, expected: [columns, rows], found: t.shape) }
            var m = try WeightMatrix(name: name, type: t.type, rows: rows, columns: columns, bytes: file.data(for: t))
            // The Q4_0 and IQ4_NL matrices llama.cpp repacks on x86 (all but the embedding
            // table, rows a multiple of 8) are summed block by block there; sum them the same way.
            // Symmetric 4-bit lab matrices hold Q4_0's values exactly and are packed the same way.
            m.sumsByBlock = Self.sumsByBlock(m) && name != "token_embd.weight"
            // Read eight rows at a time from a copy (as llama.cpp does); the file's pages of the
            // matrix then leave memory, so the copy does not count twice.
            // A file held in memory (not mapped) is read where it is: its owner may edit the
            // weights in place between passes (models sensitivity does).
            if (name != "token_embd.weight" && m.splitLab(arena: arena)) || m.pack(arena: arena)
                || (file.isMapped && name != "token_embd.weight" && m.copyIntoMemory(arena: arena)) {
                file.evict(file.data(for: t))
            }
            return m
        }
        /// Consecutive row ranges of one matrix, each a matrix of its own (Phi-3's fused QKV and
        /// gate-up): rows are whole blocks, so a range of them is a contiguous run of bytes.
        func parts(_ name: String, rows: [Int], columns: Int) throws(EngineError) -> [WeightMatrix] {
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            let total = rows.reduce(0, +)
            guard t.shape == [columns, total] else { throw .badShape(tensor: name, expected: [columns, total], found: t.shape) }
            guard let rowBytes = t.type.rowBytes(columns) else { throw .unsupportedType(tensor: name, type: t.type.name) }
            let bytes = file.data(for: t)
            var out: [WeightMatrix] = [], start = 0
            for (index, n) in rows.enumerated() {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[(start * rowBytes)..<((start + n) * rowBytes)])
                var m = try WeightMatrix(name: "\(name)[\(index)]", type: t.type, rows: n, columns: columns, bytes: slice)
                m.sumsByBlock = Self.sumsByBlock(m)
                if m.splitLab(arena: arena) || m.pack(arena: arena) { file.evict(slice) }
                out.append(m)
                start += n
            }
            return out
        }
        func vector(_ name: String, _ n: Int) throws(EngineError) -> [Float] {
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            guard t.shape == [n] else { throw .badShape(tensor: name, expected: [n], found: t.shape) }
            do { return try Quantization.dequantize(Array(file.data(for: t)), type: t.type, count: n) }
            catch { throw .unsupportedType(tensor: name, type: t.type.name) }
        }
        func optionalVector(_ name: String, _ n: Int) throws(EngineError) -> [Float]? {
            file.tensor(named: name) == nil ? nil : try vector(name, n)
        }

        embedding = try matrix("token_embd.weight", rows: c.vocabulary, columns: c.width)
        outputNorm = try vector("output_norm.weight", c.width)
        if file.tensor(named: "output.weight") != nil {
            output = try matrix("output.weight", rows: c.vocabulary, columns: c.width)
            tiedOutput = false
        } else {
            tiedOutput = true
            // A tied Q4_0 head is the one Q4_0 matrix llama.cpp does not repack (the table is
            // also read row by row for the input), so it sums it lane by lane, one row at a
            // time, which is compute-bound at one token: 0.6 of the packed kernel's rate here.
            // The head gets its own packed copy, summed block by block; the table keeps the
            // file's rows for the lookups. Its logits then differ from llama.cpp's in the last
            // bits (nothing downstream of the head rounds them to 8 bits, so it does not compound).
            var head = embedding
            head.sumsByBlock = Self.sumsByBlock(head)
            // Other types get a plain copy (huge pages), as every matrix but the table does.
            if head.splitLab(arena: arena) || head.pack(arena: arena) || (file.isMapped && head.copyIntoMemory(arena: arena)) {
                file.evict(UnsafeRawBufferPointer(start: embedding.base, count: embedding.byteCount))
            }
            output = head
        }
        ropeFactors = try optionalVector("rope_freqs.weight", c.ropeDimensions / 2)
        // Phi-3's LongRoPE picks long or short factors by context and rescales attention: not
        // implemented here, so such a file is refused rather than run with the wrong positions.
        for name in ["rope_factors_long.weight", "rope_factors_short.weight"] where file.tensor(named: name) != nil {
            throw .gguf("the model has LongRoPE factors ('\(name)'), which the native engine does not implement; run it with the llama.cpp backend")
        }
        var layers: [LayerWeights] = []
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            let biases = architecture.attentionBiases
            let qkv = architecture.fusedProjections
                ? try parts(p + "attn_qkv.weight", rows: [c.queryWidth, c.kvWidth, c.kvWidth], columns: c.width)
                : [try matrix(p + "attn_q.weight", rows: c.queryWidth, columns: c.width),
                   try matrix(p + "attn_k.weight", rows: c.kvWidth, columns: c.width),
                   try matrix(p + "attn_v.weight", rows: c.kvWidth, columns: c.width)]
            let gateUp = architecture.fusedProjections
                ? try parts(p + "ffn_up.weight", rows: [c.ffnWidth, c.ffnWidth], columns: c.width)
                : [try matrix(p + "ffn_gate.weight", rows: c.ffnWidth, columns: c.width),
                   try matrix(p + "ffn_up.weight", rows: c.ffnWidth, columns: c.width)]
            layers.append(LayerWeights(
                attentionNorm: try vector(p + "attn_norm.weight", c.width),
                query: qkv[0], key: qkv[1], value: qkv[2],
                attentionOutput: try matrix(p + "attn_output.weight", rows: c.width, columns: c.queryWidth),
                queryBias: biases ? try optionalVector(p + "attn_q.bias", c.queryWidth) : nil,
                keyBias: biases ? try optionalVector(p + "attn_k.bias", c.kvWidth) : nil,
                valueBias: biases ? try optionalVector(p + "attn_v.bias", c.kvWidth) : nil,
                queryNorm: architecture.queryKeyNorms ? try vector(p + "attn_q_norm.weight", c.headDim) : nil,
                keyNorm: architecture.queryKeyNorms ? try vector(p + "attn_k_norm.weight", c.headDim) : nil,
                postAttentionNorm: architecture.gemma ? try vector(p + "post_attention_norm.weight", c.width) : nil,
                postFFNNorm: architecture.gemma ? try vector(p + "post_ffw_norm.weight", c.width) : nil,
                ffnNorm: try vector(p + "ffn_norm.weight", c.width),
                gate: gateUp[0], up: gateUp[1],
                down: try matrix(p + "ffn_down.weight", rows: c.width, columns: c.ffnWidth)))
        }
        self.layers = layers
    }

    /// Every matrix, each once (a tied head is the embedding).
    public var matrices: [WeightMatrix] {
        var all = [embedding]
        if !tiedOutput { all.append(output) }
        for l in layers { all += [l.query, l.key, l.value, l.attentionOutput, l.gate, l.up, l.down] }
        return all
    }

    /// Bytes of weights the engine reads: mapped matrices plus the float copies of vectors.
    public var weightBytes: Int {
        let vectors = layers.reduce(outputNorm.count) { sum, l in
            sum + l.attentionNorm.count + l.ffnNorm.count + (l.queryBias?.count ?? 0) + (l.keyBias?.count ?? 0) + (l.valueBias?.count ?? 0)
                + (l.queryNorm?.count ?? 0) + (l.keyNorm?.count ?? 0) + (l.postAttentionNorm?.count ?? 0) + (l.postFFNNorm?.count ?? 0)
        } + (ropeFactors?.count ?? 0)
        return matrices.reduce(0) { $0 + $1.residentBytes } + 4 * vectors
    }

    /// Weight bytes one decode step reads: every matrix except the embedding table, of which
    /// one row is read (plus the head, which is the table when tied).
    public var decodeBytesPerToken: Int {
        matrices.reduce(0) { $0 + $1.residentBytes } - embedding.residentBytes + embedding.rowBytes
            + (tiedOutput ? embedding.byteCount : 0)
    }
}
