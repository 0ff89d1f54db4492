import Engine
import Foundation
import ModelFormat

/// A plain double-precision forward pass written straight from the architecture's
/// definition: the oracle the engine is checked against. One token at a time, no batching,
/// no quantized activations, weights dequantized up front.
struct ReferenceForward {
    let weights: ModelWeights
    var c: ModelConfig { weights.config }

    func matrix(_ w: WeightMatrix) -> [[Double]] {
        (0..<w.rows).map { r in
            var row = [Float](repeating: 0, count: w.columns)
            row.withUnsafeMutableBufferPointer { w.dequantizedRow(r, into: $0) }
            return row.map(Double.init)
        }
    }

    func apply(_ m: [[Double]], _ x: [Double]) -> [Double] {
        m.map { row in zip(row, x).reduce(0) { $0 + $1.0 * $1.1 } }
    }

    func rmsnorm(_ x: [Double], _ w: [Float]) -> [Double] {
        let scale = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(x.count) + Double(c.rmsEpsilon)).squareRoot()
        return zip(x, w).map { $0 * scale * Double($1) }
    }

    func rope(_ v: inout [Double], heads: Int, position: Int) {
        let half = c.ropeDimensions / 2
        for h in 0..<heads {
            for i in 0..<half {
                var theta = Double(position) * pow(Double(c.ropeTheta), -2 * Double(i) / Double(c.ropeDimensions))
                if let f = weights.ropeFactors { theta /= Double(f[i]) }
                let (a, b) = weights.architecture.rope == .adjacent ? (2 * i, 2 * i + 1) : (i, i + half)
                let x0 = v[h * c.headDim + a], x1 = v[h * c.headDim + b]
                v[h * c.headDim + a] = x0 * cos(theta) - x1 * sin(theta)
                v[h * c.headDim + b] = x0 * sin(theta) + x1 * cos(theta)
            }
        }
    }

    /// Logits after each token of `tokens`.
    func logits(_ tokens: [Int32]) -> [[Double]] {
        let embedding = matrix(weights.embedding), output = matrix(weights.output)
        let layers = weights.layers.map { l in
            (q: matrix(l.query), k: matrix(l.key), v: matrix(l.value), o: matrix(l.attentionOutput),
             gate: matrix(l.gate), up: matrix(l.up), down: matrix(l.down))
        }
        var keys = Array(repeating: [[Double]](), count: c.layers), values = keys
        var result: [[Double]] = []
        for (position, token) in tokens.enumerated() {
            var x = embedding[Int(token)]
            for (i, l) in weights.layers.enumerated() {
                let h = rmsnorm(x, l.attentionNorm)
                var q = apply(layers[i].q, h), k = apply(layers[i].k, h), v = apply(layers[i].v, h)
                if let b = l.queryBias { q = zip(q, b).map { $0 + Double($1) } }
                if let b = l.keyBias { k = zip(k, b).map { $0 + Double($1) } }
                if let b = l.valueBias { v = zip(v, b).map { $0 + Double($1) } }
                func normalizeHeads(_ v: [Double], heads: Int, _ w: [Float]?) -> [Double] {
                    guard let w else { return v }
                    return (0..<heads).flatMap { head in rmsnorm(Array(v[(head * c.headDim)..<((head + 1) * c.headDim)]), w) }
                }
                q = normalizeHeads(q, heads: c.heads, l.queryNorm)
                k = normalizeHeads(k, heads: c.kvHeads, l.keyNorm)
                if weights.architecture.ropes(layer: i) {
                    rope(&q, heads: c.heads, position: position)
                    rope(&k, heads: c.kvHeads, position: position)
                }
                keys[i].append(k)
                values[i].append(v)
                var attention = [Double](repeating: 0, count: c.heads * c.headDim)
                for head in 0..<c.heads {
                    let kv = head / (c.heads / c.kvHeads)
                    let qh = Array(q[(head * c.headDim)..<((head + 1) * c.headDim)])
                    let scores = keys[i].map { key in
                        zip(qh, key[(kv * c.headDim)..<((kv + 1) * c.headDim)]).reduce(0) { $0 + $1.0 * $1.1 } / Double(c.headDim).squareRoot()
                    }
                    let top = scores.max()!
                    let e = scores.map { exp($0 - top) }
                    let total = e.reduce(0, +)
                    for (j, value) in values[i].enumerated() {
                        for d in 0..<c.headDim { attention[head * c.headDim + d] += e[j] / total * value[kv * c.headDim + d] }
                    }
                }
                x = zip(x, apply(layers[i].o, attention)).map(+)
                let h2 = rmsnorm(x, l.ffnNorm)
                let g = apply(layers[i].gate, h2), u = apply(layers[i].up, h2)
                let act = zip(g, u).map { $0 / (1 + exp(-$0)) * $1 }
                x = zip(x, apply(layers[i].down, act)).map(+)
            }
            result.append(apply(output, rmsnorm(x, weights.outputNorm)))
        }
        return result
    }
}
