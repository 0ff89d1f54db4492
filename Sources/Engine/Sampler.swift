import Foundation
import Measures

/// How the next token is chosen from logits.
public struct SamplingOptions: Sendable, Equatable, Codable {
    /// 0 means greedy (argmax).
    public var temperature: Double
    /// Keep only the k most likely tokens (0: all).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: all).
    public var topP: Double
    public var seed: UInt64

    public init(temperature: Double = 0, topK: Int = 0, topP: Double = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    public static let greedy = SamplingOptions()

    public func validate() throws(EngineError) {
        guard temperature >= 0, temperature.isFinite else { throw .invalidOption("temperature must be 0 or more, got \(temperature)") }
        guard topK >= 0 else { throw .invalidOption("top-k must be 0 (off) or more, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw .invalidOption("top-p must be in (0, 1], got \(topP)") }
    }
}

/// Draws tokens; the same options, seed and logits give the same tokens on every machine.
public struct Sampler: Sendable {
    public let options: SamplingOptions
    private var rng: SplitMix64

    public init(_ options: SamplingOptions) {
        self.options = options
        rng = SplitMix64(seed: options.seed)
    }

    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return Int32(best)
    }

    public mutating func next(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        if options.temperature == 0 { return Self.argmax(logits) }
        // Candidates by descending logit (ties by id, so order is deterministic).
        var ids = Array(0..<logits.count)
        if options.topK > 0 && options.topK < ids.count {
            ids.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            ids.removeSubrange(options.topK...)
        } else {
            ids.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        }
        let top = Double(logits[ids[0]])
        var probabilities = ids.map { exp((Double(logits[$0]) - top) / options.temperature) }
        let total = probabilities.reduce(0, +)
        for i in probabilities.indices { probabilities[i] /= total }
        if options.topP < 1 {
            var cumulative = 0.0, keep = 0
            while keep < probabilities.count {
                cumulative += probabilities[keep]
                keep += 1
                if cumulative >= options.topP { break }
            }
            ids.removeSubrange(keep...)
            probabilities.removeSubrange(keep...)
            let kept = probabilities.reduce(0, +)
            for i in probabilities.indices { probabilities[i] /= kept }
        }
        var u = rng.nextUnit()
        for (i, p) in probabilities.enumerated() {
            u -= p
            if u < 0 { return Int32(ids[i]) }
        }
        return Int32(ids[ids.count - 1])
    }
}
