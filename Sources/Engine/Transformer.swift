import CKernels
import CNuma
import Foundation
import ModelFormat

/// Rows of logits the last forward pass produced; valid until the next pass.
public struct LogitRows {
    let base: UnsafeMutablePointer<Float>
    public let count: Int
    public let vocabulary: Int
    public subscript(i: Int) -> UnsafeBufferPointer<Float> {
        precondition(i >= 0 && i < count, "logit row \(i) of \(count)")
        return UnsafeBufferPointer(start: base + i * vocabulary, count: vocabulary)
    }
}

/// Memory the engine holds, in bytes, each counted exactly from what it allocated or maps.
public struct EngineMemory: Sendable, Equatable, Codable {
    public var weights: Int
    public var kvCache: Int
    public var scratch: Int
}

/// The Llama-family forward pass over a batch of tokens from one or more sequences.
///
/// Each sequence owns a KV-cache slot; its tokens must arrive in position order. A pass runs
/// per layer: RMSNorm → Q/K/V (one pool wake) → biases, RoPE, cache store → causal attention →
/// output projection + residual → RMSNorm → gate/up (one wake) → SiLU·up → down + residual.
public final class Transformer: @unchecked Sendable {
    public let weights: ModelWeights
    public let options: EngineOptions
    public let config: ModelConfig
    let pool: ThreadPool
    let cache: KVCache
    /// Positions filled per slot.
    public private(set) var lengths: [Int]

    // Scratch, sized for `batchTokens` rows.
    private let arena: ScratchArena
    private let x, h, q, k, v, att, gate, up: UnsafeMutablePointer<Float>
    private let actsWidth, actsFFN: Activations
    /// Per pool member: attention's scratch, `attentionScratch` floats each.
    private let scores: UnsafeMutablePointer<Float>
    private let attentionScratch: Int
    /// Per pool member, with an f16 cache: a head's cache positions widened to f32 for a group of
    /// queries (ck_attention_group), `wideScratch` floats each, for spans up to `wideSpan`.
    private let wide: UnsafeMutablePointer<Float>?
    private let wideScratch: Int
    private let wideSpan: Int
    private let matmul: MatMul
    /// base^(-2/dims): each pair's frequency is the previous one's times this (and for Gemma 3's
    /// sliding-window layers, with their own base).
    private let ropeScale: Float
    private let slidingRopeScale: Float
    /// With a q8_0/q4_0 cache, llama.cpp turns Q and K (and V, and attention's output back) by an
    /// orthonormal Walsh–Hadamard transform in chunks of these sizes before the cache, which
    /// spreads outliers over each block; 0 where it does not (an f32/f16 cache, a head size that
    /// is not a multiple of 64). The scores are unchanged: the transform is orthonormal and its
    /// own inverse.
    private let rotationK: Int, rotationV: Int
    private var logits: UnsafeMutablePointer<Float>
    private var logitCapacity = 0

    /// Called with each block matrix's input just before it is multiplied: the names of the weight
    /// tensors that read it (q, k and v share one input; gate and up another), and `rows` ×
    /// `columns` floats. Importance matrices are collected through it (`ImportanceCollector`);
    /// nil, the default, costs one branch per matrix.
    public var activationObserver: ((_ weights: [String], _ x: UnsafePointer<Float>, _ rows: Int, _ columns: Int) -> Void)?
    /// Also show `activationObserver` the output head's input (the normed final rows, for the
    /// positions whose logits are computed), named as the head's tensor (`token_embd.weight` when
    /// tied): llama-imatrix's `--process-output`. Off by default, as there.
    public var observesOutput = false

    public init(weights: ModelWeights, options: EngineOptions) throws(EngineError) {
        try options.validate()
        let c = weights.config
        if options.kvType.isBlock, c.headDim % 32 != 0 {
            throw .invalidOption("a \(options.kvType.rawValue) KV cache stores blocks of 32 along each head; this model's head dimension is \(c.headDim) (use kv f16 or f32)")
        }
        Self.applyNuma(options.numa)
        self.weights = weights
        self.options = options
        self.config = c
        pool = try ThreadPool(threads: options.threads, cpus: options.cpus)
        cache = KVCache(layers: c.layers, slots: options.sequences, context: options.context, width: c.kvWidth, type: options.kvType)
        lengths = Array(repeating: 0, count: options.sequences)
        let n = options.batchTokens
        let arena = ScratchArena()
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> { arena.floats(count) }
        let qWidth = c.queryWidth
        x = floats(n * c.width); h = floats(n * max(c.width, qWidth)); q = floats(n * qWidth)
        k = floats(n * c.kvWidth); v = floats(n * c.kvWidth); att = floats(n * max(c.width, qWidth))
        gate = floats(n * c.ffnWidth); up = floats(n * c.ffnWidth)
        attentionScratch = Int(ck_attention_scratch(Int32(options.context), Int32(c.headDim)))
        scores = floats(pool.size * attentionScratch)
        // Prefill reads each head's cache once per group of queries instead of once per query.
        // Spans past 1,024 positions (4 MiB a member at a head size of 256) take the per-query path.
        wideSpan = options.kvType == .f16 && n > 1 ? min(options.context, 1024) : 0
        wideScratch = wideSpan > 0 ? Int(ck_attention_wide_scratch(Int32(wideSpan), Int32(c.headDim))) : 0
        wide = wideSpan > 0 ? floats(pool.size * wideScratch) : nil
        let widest = max(c.width, qWidth, c.ffnWidth)
        matmul = MatMul(pool: pool, level: options.kernels, scratch: floats(pool.size * widest), scratchStride: widest)
        actsWidth = Activations(capacityRows: n, maxColumns: max(c.width, qWidth))
        actsFFN = Activations(capacityRows: n, maxColumns: c.ffnWidth)
        arena.byteCount += actsWidth.byteCount + actsFFN.byteCount
        logits = .allocate(capacity: 1)
        ropeScale = powf(c.ropeTheta, -2 / Float(c.ropeDimensions))
        slidingRopeScale = powf(c.slidingRopeTheta, -2 / Float(c.ropeDimensions))
        (rotationK, rotationV) = Self.rotations(kv: options.kvType, headDim: c.headDim)
        self.arena = arena
    }

    deinit { logits.deallocate() }

    static func applyNuma(_ policy: NumaPolicy) {
        guard policy != .default, numa_available() >= 0 else { return }
        switch policy {
        case .interleave: CNuma_interleave_all()
        case .local: numa_set_localalloc()
        case .default: break
        }
    }

    public var threads: Int { pool.size }

    public var memory: EngineMemory {
        EngineMemory(weights: weights.weightBytes, kvCache: cache.byteCount, scratch: arena.byteCount + logitCapacity * config.vocabulary * 4)
    }

    /// Forgets a sequence's cached positions.
    public func clear(slot: Int) { lengths[slot] = 0 }

    /// Runs a prompt for one sequence, appending to its cache. Returns logits for the last
    /// token, or for every token when `allLogits` is set.
    public func prefill(_ tokens: [Int32], slot: Int = 0, allLogits: Bool = false) throws(EngineError) -> LogitRows {
        try checkSlot(slot)
        let start = lengths[slot]
        let batch = tokens.enumerated().map { BatchToken(token: $0.element, position: start + $0.offset, slot: slot) }
        let wanted = allLogits ? Array(0..<tokens.count) : (tokens.isEmpty ? [] : [tokens.count - 1])
        return try forward(batch, logitsFor: wanted)
    }

    /// One decode step for several sequences: one token each. Returns one logit row per token.
    public func decode(_ steps: [(slot: Int, token: Int32)]) throws(EngineError) -> LogitRows {
        for step in steps { try checkSlot(step.slot) }
        let batch = steps.map { BatchToken(token: $0.token, position: lengths[$0.slot], slot: $0.slot) }
        return try forward(batch, logitsFor: Array(0..<steps.count))
    }

    private func checkSlot(_ slot: Int) throws(EngineError) {
        guard slot >= 0, slot < options.sequences else { throw .invalidOption("sequence slot \(slot) is outside 0..<\(options.sequences)") }
    }

    public struct BatchToken: Sendable {
        public var token: Int32
        public var position: Int
        public var slot: Int
    }

    /// The forward pass over `batch`, in chunks of at most `batchTokens`; logits for the batch
    /// indexes in `wanted` (in that order).
    public func forward(_ batch: [BatchToken], logitsFor wanted: [Int]) throws(EngineError) -> LogitRows {
        var needed = lengths
        for t in batch {
            guard t.slot >= 0, t.slot < options.sequences else { throw .invalidOption("sequence slot \(t.slot) is outside 0..<\(options.sequences)") }
            guard t.token >= 0, Int(t.token) < config.vocabulary else { throw .invalidOption("token id \(t.token) is outside the vocabulary (\(config.vocabulary))") }
            guard t.position == needed[t.slot] else { throw .invalidOption("sequence \(t.slot): position \(t.position) given where \(needed[t.slot]) is next") }
            needed[t.slot] += 1
            guard needed[t.slot] <= options.context else { throw .contextFull(sequence: t.slot, needed: needed[t.slot], context: options.context) }
        }
        if wanted.count > logitCapacity {
            logits.deallocate()
            logits = .allocate(capacity: wanted.count * config.vocabulary)
            logitCapacity = wanted.count
        }
        var position = [Int: Int]()
        for (i, index) in wanted.enumerated() { position[index] = i }
        var start = 0
        while start < batch.count {
            let end = min(batch.count, start + options.batchTokens)
            let chunk = Array(batch[start..<end])
            let rows = (start..<end).compactMap { index in position[index].map { (row: index - start, out: $0) } }
            run(chunk, logitRows: rows)
            for t in chunk { lengths[t.slot] += 1 }
            start = end
        }
        return LogitRows(base: logits, count: wanted.count, vocabulary: config.vocabulary)
    }

    /// Runs `body(range)` over token rows on the pool, or inline when the work is small.
    private func tokens(_ n: Int, width: Int, _ body: (Range<Int>) -> Void) {
        if n * width < 8192 || pool.size == 1 { body(0..<n); return }
        pool.forEachRange(n) { range, _ in body(range) }
    }

    private func run(_ batch: [BatchToken], logitRows: [(row: Int, out: Int)]) {
        let c = config, n = batch.count, d = c.width, qw = c.queryWidth, kvw = c.kvWidth, ff = c.ffnWidth
        let x = self.x, h = self.h, q = self.q, k = self.k, v = self.v, att = self.att, gate = self.gate, up = self.up
        let embedding = weights.embedding
        // Gemma scales the embedding by √width (a float multiply, as llama.cpp's ggml_scale).
        let embeddingScale: Float? = weights.architecture.gemma ? sqrtf(Float(d)) : nil
        tokens(n, width: d) { range in
            for t in range {
                embedding.dequantizedRow(Int(batch[t].token), into: UnsafeMutableBufferPointer(start: x + t * d, count: d))
                if let scale = embeddingScale { for i in 0..<d { x[t * d + i] *= scale } }
            }
        }
        for (index, layer) in weights.layers.enumerated() {
            normalize(x, into: h, rows: n, weights: layer.attentionNorm)
            activationObserver?([layer.query.name, layer.key.name, layer.value.name], h, n, d)
            quantizeActivations(h, rows: n, columns: d)
            actsWidth.prepare(h, rows: n, columns: d, formats: [layer.query.activationFormat, layer.key.activationFormat, layer.value.activationFormat], pool: pool, level: options.kernels)
            matmul.run([(layer.query, q, qw), (layer.key, k, kvw), (layer.value, v, kvw)], actsWidth)
            positionAndStore(batch, layer: layer, index: index)
            attention(batch, layer: index)
            if rotationV > 0 { // the output back from the turned V's frame (H is its own inverse)
                let chunk = rotationV
                tokens(n, width: qw) { range in for t in range { Self.hadamard(att + t * qw, count: qw, chunk: chunk) } }
            }
            activationObserver?([layer.attentionOutput.name], att, n, qw)
            quantizeActivations(att, rows: n, columns: qw)
            actsWidth.prepare(att, rows: n, columns: qw, formats: [layer.attentionOutput.activationFormat], pool: pool, level: options.kernels)
            matmul(layer.attentionOutput, actsWidth, out: h, outStride: d)
            if let w = layer.postAttentionNorm { normalize(h, into: h, rows: n, weights: w) }
            tokens(n, width: d) { range in
                for t in range { for i in 0..<d { x[t * d + i] += h[t * d + i] } }
            }
            normalize(x, into: h, rows: n, weights: layer.ffnNorm)
            activationObserver?([layer.gate.name, layer.up.name], h, n, d)
            quantizeActivations(h, rows: n, columns: d)
            actsWidth.prepare(h, rows: n, columns: d, formats: [layer.gate.activationFormat, layer.up.activationFormat], pool: pool, level: options.kernels)
            matmul.run([(layer.gate, gate, ff), (layer.up, up, ff)], actsWidth)
            let level = options.kernels.code, gelu = weights.architecture.gemma
            tokens(n, width: ff) { range in
                for t in range {
                    if gelu { ck_geglu(level, gate + t * ff, up + t * ff, gate + t * ff, Int32(ff)) } else { ck_swiglu(level, gate + t * ff, up + t * ff, gate + t * ff, Int32(ff)) }
                }
            }
            activationObserver?([layer.down.name], gate, n, ff)
            quantizeActivations(gate, rows: n, columns: ff)
            actsFFN.prepare(gate, rows: n, columns: ff, formats: [layer.down.activationFormat], pool: pool, level: options.kernels)
            matmul(layer.down, actsFFN, out: h, outStride: d)
            if let w = layer.postFFNNorm { normalize(h, into: h, rows: n, weights: w) }
            tokens(n, width: d) { range in
                for t in range { for i in 0..<d { x[t * d + i] += h[t * d + i] } }
            }
        }
        guard !logitRows.isEmpty else { return }
        let norm = weights.outputNorm
        norm.withUnsafeBufferPointer { w in
            for (i, (row, _)) in logitRows.enumerated() { ck_rmsnorm(x + row * d, w.baseAddress, h + i * d, Int32(d), c.rmsEpsilon) }
        }
        // Rows are gathered in order of `logitRows`; their outputs go where `out` says.
        let contiguous = logitRows.enumerated().allSatisfy { $0.offset == 0 || $0.element.out == logitRows[$0.offset - 1].out + 1 }
        precondition(contiguous, "logit rows of one chunk are consecutive in the request")
        if observesOutput { activationObserver?([weights.output.name], h, logitRows.count, d) }
        actsWidth.prepare(h, rows: logitRows.count, columns: d, formats: [weights.output.activationFormat], pool: pool, level: options.kernels)
        matmul(weights.output, actsWidth, out: logits + logitRows[0].out * c.vocabulary, outStride: c.vocabulary)
    }

    /// W8A8 studies: rounds a block matrix's input to int8 and back (`EngineOptions.activationQuant`),
    /// after the observer has seen it as floats. Per-token rows are split across the pool.
    private func quantizeActivations(_ x: UnsafeMutablePointer<Float>, rows n: Int, columns: Int) {
        switch options.activationQuant {
        case .none: return
        case .perToken:
            tokens(n, width: columns) { range in
                ActivationQuant.perToken.apply(x + range.lowerBound * columns, rows: range.count, columns: columns)
            }
        case .perTensor:
            ActivationQuant.perTensor.apply(x, rows: n, columns: columns)
        }
    }

    /// The chunk sizes of the Hadamard turns for a cache type and head size, as llama.cpp picks
    /// them (llama-kv-cache.cpp): K in the largest power of two from 64 up that divides the head,
    /// V in 64; none unless the cache is quantized and the head a multiple of 64.
    static func rotations(kv: KVType, headDim: Int) -> (k: Int, v: Int) {
        guard kv.isBlock, headDim % 64 == 0 else { return (0, 0) }
        var k = 64
        while headDim % (k * 2) == 0 { k *= 2 }
        return (k, 64)
    }

    /// x ← H·x in place for each chunk of `n` (a power of two) over `count` floats, H the
    /// orthonormal Sylvester–Hadamard matrix, computed as ggml's CPU backend does: every value
    /// times 1/√n first, then the butterflies (u + v, u − v) at strides 1, 2, 4, …
    static func hadamard(_ x: UnsafeMutablePointer<Float>, count: Int, chunk n: Int) {
        let scale = 1 / sqrtf(Float(n))
        for start in Swift.stride(from: 0, to: count, by: n) {
            let r = x + start
            for j in 0..<n { r[j] *= scale }
            var len = 1
            while len < n {
                for i in Swift.stride(from: 0, to: n, by: 2 * len) {
                    for j in i..<(i + len) {
                        let u = r[j], v = r[j + len]
                        r[j] = u + v
                        r[j + len] = u - v
                    }
                }
                len <<= 1
            }
        }
    }

    /// gate ← GELU(gate) · up, GELU in its tanh form as llama.cpp's CPU build computes it: the
    /// input rounded to f16, GELU of that in float rounded to f16 (its lookup table), outside
    /// ±10 exact limits. The reference for `ck_geglu` (CKernels geglu.c), which the engine runs:
    /// the same values from a table instead of a tanhf per element.
    static func geglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n {
            let x = gate[i]
            if x <= -10 { gate[i] = 0; continue }
            if x >= 10 { gate[i] = x * up[i]; continue }
            let h = Float(Float16(x))
            // 1 + (0.044715·h)·h fused, as GCC contracts llama.cpp's expression on an FMA CPU.
            let inner = Float(1).addingProduct(0.044715 * h, h)
            let g = 0.5 * h * (1 + tanhf(0.79788456080286535587989211986876 * h * inner))
            gate[i] = Float(Float16(g)) * up[i]
        }
    }

    private func normalize(_ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, rows n: Int, weights w: [Float]) {
        let d = config.width, eps = config.rmsEpsilon
        w.withUnsafeBufferPointer { w in
            tokens(n, width: d) { range in
                for t in range { ck_rmsnorm(x + t * d, w.baseAddress, y + t * d, Int32(d), eps) }
            }
        }
    }

    /// Adds biases, rotates Q and K by position, and writes K and V into the cache.
    private func positionAndStore(_ batch: [BatchToken], layer: LayerWeights, index: Int) {
        let c = config, qw = c.queryWidth, kvw = c.kvWidth, hd = c.headDim
        let slides = weights.architecture.slides(layer: index, pattern: c.slidingPattern) && c.slidingWindow != nil
        let q = self.q, k = self.k, v = self.v, cache = self.cache, scale = slides ? slidingRopeScale : ropeScale
        let factors = weights.ropeFactors, level = options.kernels, rotationK = self.rotationK, rotationV = self.rotationV
        let style = weights.architecture.rope, half = c.ropeDimensions / 2, eps = c.rmsEpsilon
        let rotates = weights.architecture.ropes(layer: index)
        tokens(batch.count, width: qw + 2 * kvw) { range in
            var cosines = [Float](repeating: 0, count: half), sines = [Float](repeating: 0, count: half)
            for t in range {
                let qt = q + t * qw, kt = k + t * kvw, vt = v + t * kvw
                if let b = layer.queryBias { for i in 0..<qw { qt[i] += b[i] } }
                if let b = layer.keyBias { for i in 0..<kvw { kt[i] += b[i] } }
                if let b = layer.valueBias { for i in 0..<kvw { vt[i] += b[i] } }
                // Angles in float, each frequency the previous one times the scale, as llama.cpp
                // computes them: matching its rounding keeps both engines' 8-bit activations
                // rounding the same way (a 1e-6 difference here flips some of them).
                var theta = Float(batch[t].position)
                for i in 0..<half {
                    let angle = theta / (factors?[i] ?? 1)
                    cosines[i] = cosf(angle)
                    sines[i] = sinf(angle)
                    theta *= scale
                }
                func rotate(_ base: UnsafeMutablePointer<Float>, heads: Int) {
                    for head in 0..<heads {
                        let r = base + head * hd
                        for i in 0..<half {
                            let (a, b) = style == .adjacent ? (2 * i, 2 * i + 1) : (i, i + half)
                            let x0 = r[a], x1 = r[b]
                            // One fused multiply-add each, as the C compiler contracts
                            // llama.cpp's x0·cos − x1·sin and x0·sin + x1·cos.
                            r[a] = (-(x1 * sines[i])).addingProduct(x0, cosines[i])
                            r[b] = (x1 * cosines[i]).addingProduct(x0, sines[i])
                        }
                    }
                }
                // Qwen3's per-head norms come after the biases and before RoPE, as llama.cpp's graph has them.
                func normalizeHeads(_ base: UnsafeMutablePointer<Float>, heads: Int, weights w: [Float]) {
                    w.withUnsafeBufferPointer { w in
                        for head in 0..<heads { ck_rmsnorm(base + head * hd, w.baseAddress, base + head * hd, Int32(hd), eps) }
                    }
                }
                if let w = layer.queryNorm { normalizeHeads(qt, heads: c.heads, weights: w) }
                if let w = layer.keyNorm { normalizeHeads(kt, heads: c.kvHeads, weights: w) }
                if rotates {
                    rotate(qt, heads: c.heads)
                    rotate(kt, heads: c.kvHeads)
                }
                if rotationK > 0 {
                    Self.hadamard(qt, count: qw, chunk: rotationK)
                    Self.hadamard(kt, count: kvw, chunk: rotationK)
                }
                if rotationV > 0 { Self.hadamard(vt, count: kvw, chunk: rotationV) }
                cache.store(kt, into: cache.key(index, batch[t].slot, batch[t].position), level: level)
                cache.store(vt, into: cache.value(index, batch[t].slot, batch[t].position), level: level)
            }
        }
    }

    /// Causal attention of every (token, head) over its sequence's cached positions.
    private func attention(_ batch: [BatchToken], layer: Int) {
        let c = config, hd = c.headDim, qw = c.queryWidth, group = c.heads / c.kvHeads
        let q = self.q, att = self.att, cache = self.cache, scores = self.scores, stride = attentionScratch
        // llama.cpp's scale, in float: on the scores, or on the queries first where its graph
        // scales them (then the scores' scale is 1).
        var scale = 1 / sqrtf(Float(hd))
        if weights.architecture.scalesQueries {
            for i in 0..<batch.count * qw { q[i] *= scale }
            scale = 1
        }
        let f16 = cache.type == .f16, level = options.kernels.code, elementBytes = f16 ? 2 : 4
        let blockType: Int32? = cache.type == .q8_0 ? Int32(CK_Q8_0) : cache.type == .q4_0 ? Int32(CK_Q4_0) : nil
        // Gemma 3's local layers: a token at p attends to positions p − window + 1 … p.
        let window = weights.architecture.slides(layer: layer, pattern: c.slidingPattern) ? c.slidingWindow : nil
        // A sequence with two or more tokens in the pass sums attention in the batched order (CKernels scalar.c).
        let tokensPerSlot = batch.reduce(into: [Int](repeating: 0, count: options.sequences)) { $0[$1.slot] += 1 }
        func first(_ token: BatchToken) -> Int { window.map { max(0, token.position + 1 - $0) } ?? 0 }
        // Tasks dealt out in turn, not in contiguous ranges: a later token attends to more
        // positions, so a contiguous split leaves the last of two members three quarters of a
        // long prefill's attention. A task is one (token, head), or with an f16 cache and two or
        // more tokens of a sequence in the pass, a group: up to 16 of its tokens × the query
        // heads of one KV head, whose cache positions are widened once for all of them.
        enum Task { case one(token: Int, head: Int), group(slot: Int, tokens: ArraySlice<Int>, kvHead: Int) }
        var tasks: [Task] = []
        // Without a group (decode, or a cache that is not f16) the tasks are (token, KV head) in
        // order, numbered rather than listed: nothing is allocated per layer.
        let grouped = wide != nil && f16 && tokensPerSlot.contains { $0 > 1 }
        var tokensOf = [[Int]](repeating: [], count: grouped ? options.sequences : 0)
        for (t, token) in batch.enumerated() where grouped { tokensOf[token.slot].append(t) }
        for (slot, tokens) in tokensOf.enumerated() where !tokens.isEmpty {
            if grouped && tokens.count > 1 {
                for start in Swift.stride(from: 0, to: tokens.count, by: 16) {
                    for kvHead in 0..<c.kvHeads { tasks.append(.group(slot: slot, tokens: tokens[start..<min(start + 16, tokens.count)], kvHead: kvHead)) }
                }
            } else {
                for t in tokens { for head in 0..<c.heads { tasks.append(.one(token: t, head: head)) } }
            }
        }
        let wide = self.wide, wideScratch = self.wideScratch, wideSpan = self.wideSpan
        pool.run { member, members in
            let s = scores + member * stride
            func one(_ t: Int, _ head: Int) {
                let kvHead = head / group
                let token = batch[t], qh = q + t * qw + head * hd, out = att + t * qw + head * hd
                let first = first(token)
                let headStart = cache.headOffset(kvHead, headDim: hd), length = Int32(token.position + 1 - first)
                let keys = cache.key(layer, token.slot, first) + headStart, values = cache.value(layer, token.slot, first) + headStart
                if let blockType {
                    // Blocks read where they lie, as llama.cpp's flash-attention path reads them (CKernels scalar.c).
                    ck_attention_head_q(level, blockType, qh, keys, values, cache.rowBytes, length, Int32(hd), scale, s, out)
                } else {
                    ck_attention_head(level, qh, keys, values, cache.rowBytes / elementBytes, length, Int32(hd), f16 ? 1 : 0,
                                      tokensPerSlot[token.slot] > 1 ? 1 : 0, scale, s, out)
                }
            }
            if !grouped {
                // A member takes all the query heads of a KV head in turn: the first reads that
                // head's cache rows from memory, the others find them in its own cache.
                for unit in Swift.stride(from: member, to: batch.count * c.kvHeads, by: members) {
                    let t = unit / c.kvHeads, kvHead = unit % c.kvHeads
                    for head in (kvHead * group)..<((kvHead + 1) * group) { one(t, head) }
                }
                return
            }
            for index in Swift.stride(from: member, to: tasks.count, by: members) {
                switch tasks[index] {
                case let .one(t, head): one(t, head)
                case let .group(slot, tokens, kvHead):
                    let base = tokens.map { first(batch[$0]) }.min() ?? 0
                    let span = tokens.map { batch[$0].position + 1 }.max().map { $0 - base } ?? 0
                    let heads = (kvHead * group)..<((kvHead + 1) * group)
                    guard let wide, span <= wideSpan else {
                        for t in tokens { for head in heads { one(t, head) } }
                        continue
                    }
                    var queries: [UnsafePointer<Float>?] = [], outs: [UnsafeMutablePointer<Float>?] = [], firsts: [Int32] = [], lengths: [Int32] = []
                    for t in tokens {
                        let from = first(batch[t])
                        for head in heads {
                            queries.append(UnsafePointer(q + t * qw + head * hd))
                            outs.append(att + t * qw + head * hd)
                            firsts.append(Int32(from - base))
                            lengths.append(Int32(batch[t].position + 1 - from))
                        }
                    }
                    let headStart = cache.headOffset(kvHead, headDim: hd)
                    let keys = (cache.key(layer, slot, base) + headStart).assumingMemoryBound(to: UInt16.self)
                    let values = (cache.value(layer, slot, base) + headStart).assumingMemoryBound(to: UInt16.self)
                    ck_attention_group(level, Int32(queries.count), queries, outs, firsts, lengths, keys, values, cache.rowBytes / 2,
                                       Int32(hd), scale, wide + member * wideScratch, s)
                }
            }
        }
    }
}

/// Float buffers freed together; counts the bytes it hands out.
final class ScratchArena {
    private var buffers: [UnsafeMutableRawPointer] = []
    var byteCount = 0

    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(1, count) * 4
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        buffers.append(p)
        byteCount += bytes
        return p.bindMemory(to: Float.self, capacity: max(1, count))
    }

    deinit { for b in buffers { b.deallocate() } }
}
