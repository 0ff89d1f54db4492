import Foundation

/// Chooses a type per tensor that minimises the predicted KL divergence within a size budget
/// (`models mix`).
///
/// The prediction assumes the losses add up: the model's KLD with every tensor quantized is
/// taken as the sum of each tensor's ΔKLD measured alone (`SensitivityReport`, grouped by
/// tensor). The search is the greedy multiple-choice knapsack: every tensor starts at its
/// smallest option, and upgrades along each tensor's lower convex hull of (bytes, ΔKLD) are
/// taken in order of ΔKLD saved per extra byte while they fit. Bits per weight are the file's:
/// every tensor's bytes (norms and the embedding included) × 8 ÷ every tensor's elements, as
/// `models inspect` computes them.
public struct MixSearch: Sendable {
    /// One way to store one tensor.
    public struct Option: Sendable, Equatable {
        public var type: TensorType
        public var bytes: Int
        /// Predicted ΔKLD (nats) of the model with this tensor alone in `type`.
        public var cost: Double
        public init(type: TensorType, bytes: Int, cost: Double) { self.type = type; self.bytes = bytes; self.cost = cost }
    }

    /// A tensor the search decides, with its options (each a type its rows hold).
    public struct Candidate: Sendable {
        public var name: String
        public var options: [Option]
        public init(name: String, options: [Option]) { self.name = name; self.options = options }
    }

    public struct Result: Sendable {
        /// The chosen type of every candidate.
        public var types: [String: TensorType]
        /// The sum of the chosen options' ΔKLD.
        public var predictedKLD: Double
        /// Every tensor's bytes, the fixed ones included.
        public var bytes: Int
        public var budgetBytes: Int
        public var parameters: Int
        public var bitsPerWeight: Double { parameters > 0 ? Double(bytes * 8) / Double(parameters) : 0 }

        /// The mix as `QuantMix` writes and reads it: the most common type as the base and one
        /// anchored rule for each tensor of another type.
        public var mix: QuantMix {
            let counts = Dictionary(types.values.map { ($0, 1) }, uniquingKeysWith: +)
            let base = counts.max { ($0.value, $1.key.name) < ($1.value, $0.key.name) }?.key ?? .f32
            var rules: [TensorTypeRule] = []
            for (name, type) in types.sorted(by: { $0.key < $1.key }) where type != base {
                let pattern = "^" + NSRegularExpression.escapedPattern(for: name) + "$"
                if let rule = try? TensorTypeRule(pattern: pattern, type: type) { rules.append(rule) }
            }
            return QuantMix(base: .type(base), rules: rules)
        }
    }

    public var candidates: [Candidate]
    /// Bytes of tensors the search does not decide (1-D tensors in F32, matrices kept as stored).
    public var fixedBytes: Int
    /// Elements of every tensor, decided or not.
    public var parameters: Int
    /// Every measured ΔKLD: tensor name → type name (lower case) → nats.
    public var measured: [String: [String: Double]] = [:]

    public init(candidates: [Candidate], fixedBytes: Int, parameters: Int) {
        self.candidates = candidates; self.fixedBytes = fixedBytes; self.parameters = parameters
    }

    /// The additive prediction for another assignment (a uniform type, a recipe), when every
    /// decided tensor's type in it was measured; nil otherwise.
    public func predictedKLD(of assignment: MixAssignment) -> Double? {
        var sum = 0.0
        for c in candidates {
            guard let type = assignment.types[c.name], let cost = measured[c.name]?[type.name.lowercased()] else { return nil }
            sum += cost
        }
        return sum
    }

    /// The candidates of `model` for `types`, each type replaced by its fallback where a tensor's
    /// rows are not whole blocks of it (as `QuantMix.assign` and llama.cpp do), with the ΔKLD
    /// `sensitivity` measured for that tensor in that type. Every error names what is missing.
    ///
    /// `method`: how the mix will be built. `.rtn` reads the round trips only (rows tagged gptq are
    /// left out); `.gptq` takes a GPTQ row for a tensor and type where there is one, in place of
    /// its round trip, and the round trip elsewhere (`gptqNote` says where each came from).
    public init(model: MixModel, types: [TensorType], sensitivity: SensitivityReport, file: String, method: QuantMethod = .rtn) throws(MixError) {
        guard !types.isEmpty else { throw MixError("--types: no types to choose from") }
        guard method == .rtn || method == .gptq else { throw MixError("models mix builds by rtn or gptq, not \(method.rawValue)") }
        // tensor → used type → ΔKLD. A unit of several tensors (a kind, a layer) spreads its ΔKLD
        // over them in proportion to their parameters: a second assumption, said by `spreadNote`.
        var measured: [String: [String: Double]] = [:]
        let gptqEntries = sensitivity.entries.filter { $0.method == QuantMethod.gptq.rawValue }
        let rounded = sensitivity.entries.filter { $0.method != QuantMethod.gptq.rawValue }
        // GPTQ's rows last, so that they replace the round trips of the same tensor and type.
        var byGPTQ = 0
        for e in rounded + (method == .gptq ? gptqEntries : []) {
            if e.method == QuantMethod.gptq.rawValue { byGPTQ += 1 }
            let total = Double(e.tensors.reduce(0) { $0 + $1.parameters })
            guard total > 0 else { continue }
            for part in e.tensors {
                measured[part.name, default: [:]][part.type.lowercased()] = e.meanKLD * Double(part.parameters) / total
            }
        }
        // A type measured for some tensors only (`models sensitivity --tensors`) is offered to
        // those; a type measured for none of a tensor's shape is an error naming it.
        let measuredTypes = Set(measured.values.flatMap(\.keys))
        var offered: [String: (measured: Int, of: Int)] = [:]
        var candidates: [Candidate] = [], fixed = 0, parameters = 0
        for tensor in model.tensors {
            let count = tensor.shape.reduce(1, *)
            parameters += count
            guard tensor.shape.count > 1, QuantRecipe.allowsQuantization(tensor.name) else {
                let stored = tensor.shape.count > 1 ? (tensor.stored ?? .f32) : .f32
                fixed += (stored.rowBytes(tensor.shape[0]) ?? 4 * tensor.shape[0]) * (count / max(1, tensor.shape[0]))
                continue
            }
            let row = tensor.shape[0], rows = count / row
            var options: [Option] = []
            for requested in types {
                let used = ModelQuantizer.effectiveType(requested, rowLength: row)
                guard !options.contains(where: { $0.type == used }), let rowBytes = used.rowBytes(row) else { continue }
                let usedName = used.name.lowercased()
                offered[usedName, default: (0, 0)].of += 1
                if measured[tensor.name]?[usedName] == nil, measuredTypes.contains(usedName) { continue }
                guard let cost = measured[tensor.name]?[usedName] else {
                    throw MixError("\(file) has no measurement of \(tensor.name) in \(used.name.lowercased())"
                                   + (used == requested ? "" : " (\(requested.name.lowercased())'s fallback for rows of \(row))")
                                   + "; run models sensitivity with --type \(requested.name.lowercased())")
                }
                offered[usedName, default: (0, 0)].measured += 1
                options.append(Option(type: used, bytes: rowBytes * rows, cost: cost))
            }
            guard !options.isEmpty else {
                throw MixError("\(file) has no measurement of \(tensor.name) in any of --types; run models sensitivity on it with one of them")
            }
            candidates.append(Candidate(name: tensor.name, options: options))
        }
        self.init(candidates: candidates, fixedBytes: fixed, parameters: parameters)
        self.measured = measured
        let partial = offered.filter { $0.value.measured < $0.value.of }.sorted { $0.key < $1.key }
        if !partial.isEmpty {
            coverageNote = partial.map { "\($0.key) offered to the \($0.value.measured) of \($0.value.of) tensors it was measured for" }.joined(separator: ", ")
        }
        if method == .gptq {
            gptqNote = "predicted from \(byGPTQ) GPTQ row\(byGPTQ == 1 ? "" : "s") where measured, round trips elsewhere (GPTQ fills the lab types, Q4_0/1, Q5_0/1, Q8_0 and Q2_K: for those, a round trip overstates the loss)"
        }
        if sensitivity.grouping != .tensor {
            spreadNote = "sensitivities measured per \(sensitivity.grouping.rawValue), each unit's ΔKLD spread over its tensors in proportion to their parameters"
        }
    }

    /// Set when the sensitivities were measured per kind or layer rather than per tensor.
    public var spreadNote: String?
    /// Set when a type was measured for some tensors only, and so offered to those only.
    public var coverageNote: String?
    /// With `.gptq`: which figures are GPTQ's.
    public var gptqNote: String?

    /// The budget in bytes for `bitsPerWeight` over every tensor's elements.
    public func budgetBytes(bitsPerWeight: Double) -> Int { Int((bitsPerWeight * Double(parameters) / 8).rounded(.down)) }

    /// The smallest file these options make.
    public var smallestBytes: Int { fixedBytes + candidates.reduce(0) { $0 + ($1.options.map(\.bytes).min() ?? 0) } }

    /// The mix with the least predicted KLD within `budgetBytes`: greedy on ΔKLD saved per byte,
    /// and, because the greedy strands bytes when the step it must refuse is one very large
    /// tensor's (SmolLM2's tied embedding is a fifth of its parameters), again with each option of
    /// the largest tensor fixed in turn and the others filled greedily around it; the least
    /// predicted loss wins.
    public func solve(budgetBytes: Int) throws(MixError) -> Result {
        guard smallestBytes <= budgetBytes else {
            let smallest = Double(smallestBytes * 8) / Double(max(1, parameters))
            throw MixError(String(format: "--budget-bpw: the smallest mix of these types is %.3f bits per weight; raise the budget or add smaller --types", smallest))
        }
        let hulls = candidates.map { Self.hull($0.options) }
        var best = greedy(hulls, budgetBytes: budgetBytes)
        if let largest = candidates.indices.max(by: { (candidates[$0].options.map(\.bytes).max() ?? 0, $1) < (candidates[$1].options.map(\.bytes).max() ?? 0, $0) }) {
            for option in candidates[largest].options {
                var fixed = hulls
                fixed[largest] = [option]
                if let other = greedy(fixed, budgetBytes: budgetBytes), other.predicted < (best?.predicted ?? .infinity) - 1e-15 { best = other }
            }
        }
        // The smallest mix fits (checked above), so the plain greedy always found one.
        guard let best else { throw MixError("--budget-bpw: no mix of these types fits") }
        var types: [String: TensorType] = [:]
        for (c, chosen) in best.chosen.enumerated() { types[candidates[c].name] = chosen.type }
        return Result(types: types, predictedKLD: best.predicted, bytes: best.bytes, budgetBytes: budgetBytes, parameters: parameters)
    }

    /// A tensor's options, smallest first (at equal size the lower loss), reduced to the lower
    /// convex hull of (bytes, ΔKLD): each step then saves less per byte than the one before.
    static func hull(_ options: [Option]) -> [Option] {
        let sorted = options.sorted { ($0.bytes, $0.cost) < ($1.bytes, $1.cost) }
        var hull: [Option] = []
        for o in sorted {
            guard let last = hull.last else { hull.append(o); continue }
            guard o.bytes > last.bytes, o.cost < last.cost else { continue } // no gain for the bytes
            while hull.count >= 2 {
                let (a, b) = (hull[hull.count - 2], hull[hull.count - 1])
                let slopeAB = (a.cost - b.cost) / Double(b.bytes - a.bytes)
                let slopeBO = (b.cost - o.cost) / Double(o.bytes - b.bytes)
                if slopeBO >= slopeAB { hull.removeLast() } else { break }
            }
            hull.append(o)
        }
        return hull
    }

    /// The greedy multiple-choice knapsack over `hulls`: every tensor at its first option, then
    /// the steps along the hulls in order of ΔKLD saved per byte while they fit. Nil when even the
    /// first options exceed the budget.
    func greedy(_ hulls: [[Option]], budgetBytes: Int) -> (chosen: [Option], predicted: Double, bytes: Int)? {
        var used = fixedBytes + hulls.reduce(0) { $0 + ($1.first?.bytes ?? 0) }
        guard used <= budgetBytes else { return nil }
        struct Step { var candidate: Int; var index: Int; var gain: Double }
        var steps: [Step] = []
        for (c, hull) in hulls.enumerated() where hull.count > 1 {
            for i in 1..<hull.count {
                let gain = (hull[i - 1].cost - hull[i].cost) / Double(hull[i].bytes - hull[i - 1].bytes)
                steps.append(Step(candidate: c, index: i, gain: gain))
            }
        }
        steps.sort { ($0.gain, -$0.candidate, -$0.index) > ($1.gain, -$1.candidate, -$1.index) }
        var position = [Int](repeating: 0, count: hulls.count)
        var blocked = [Bool](repeating: false, count: hulls.count)
        for step in steps where !blocked[step.candidate] && position[step.candidate] == step.index - 1 {
            let hull = hulls[step.candidate]
            let extra = hull[step.index].bytes - hull[step.index - 1].bytes
            if used + extra <= budgetBytes {
                used += extra
                position[step.candidate] = step.index
            } else {
                blocked[step.candidate] = true // its later steps depend on this one
            }
        }
        let chosen = hulls.enumerated().map { $0.element[position[$0.offset]] }
        return (chosen, chosen.reduce(0) { $0 + $1.cost }, used)
    }
}
