import Crypto
import Foundation

/// Which type each tensor of a model is quantized to: one type for every matrix (llama-quantize
/// `--pure`), one of llama.cpp's recipes (`QuantRecipe`), and `--tensor-type` rules laid over
/// either. What `models quantize --to`, `--tensor-type`, and a sweep's `type` (a name or
/// `mix:FILE`) describe.
public struct QuantMix: Sendable, Hashable, CustomStringConvertible {
    /// The type or recipe every tensor no rule names gets.
    public enum Base: Sendable, Hashable {
        case type(TensorType)
        case recipe(QuantRecipe)

        public var name: String {
            switch self {
            case let .type(type): return type.name.lowercased()
            case let .recipe(recipe): return recipe.name
            }
        }
    }

    public var base: Base
    /// Checked in order; the first whose pattern matches a tensor's name decides its type.
    public var rules: [TensorTypeRule]

    public init(base: Base, rules: [TensorTypeRule] = []) {
        self.base = base; self.rules = rules
    }

    public init(type: TensorType) { self.init(base: .type(type)) }

    /// A type name (`q4_k`, `iq4_nl`, `lab4g32a`) or a recipe name (`q4_k_m`, `recipe:q2_k`).
    public init?(name: String) {
        if let recipe = QuantRecipe(name: name) { self.init(base: .recipe(recipe)); return }
        guard let type = TensorType(name: name) else { return nil }
        self.init(base: .type(type))
    }

    /// What `--to` and a sweep's `type` take: a type, a recipe, or `mix:FILE` (a relative FILE
    /// is looked up in `directory` when one is given). `flag` names the option in errors.
    public static func named(_ text: String, directory: String? = nil, flag: String = "--to") throws(MixError) -> QuantMix {
        if text.lowercased().hasPrefix("mix:") {
            var path = String(text.dropFirst(4))
            guard !path.isEmpty else { throw MixError("\(flag) 'mix:' names no file; write mix:FILE") }
            if let directory, !path.hasPrefix("/") { path = URL(fileURLWithPath: directory).appendingPathComponent(path).path }
            return try load(mixFile: path)
        }
        guard let mix = QuantMix(name: text) else {
            throw MixError("\(flag) '\(text)' is not a type, a recipe or mix:FILE; use one of \(acceptedNames.joined(separator: ", "))")
        }
        return mix
    }

    /// The single type when there are no rules and no recipe.
    public var uniformType: TensorType? {
        guard rules.isEmpty, case let .type(type) = base else { return nil }
        return type
    }

    /// `q4_k_m`, or the base and its rules: `q4_k_m+attn_v=q8_0+ffn_down=q6_k`.
    public var description: String { ([base.name] + rules.map(\.description)).joined(separator: "+") }

    /// A name for cached files: the base's name alone, or with a digest of the rules.
    public var cacheName: String {
        guard !rules.isEmpty else { return base.name }
        let digest = SHA256.hash(data: Data(description.utf8)).map { String(format: "%02x", $0) }.joined()
        return "\(base.name)-mix\(digest.prefix(12))"
    }

    /// Names users may write for `--to` and a sweep's `type`, for help texts and errors.
    public static var acceptedNames: [String] {
        TensorType.quantizableNames + QuantRecipe.allCases.map(\.name) + ["mix:FILE"]
    }

    /// Reads a mix file: `base: NAME` (a type or recipe, once) and rules in llama-quantize's
    /// `--tensor-type-file` form (`PATTERN=TYPE`, separated by spaces or lines); `#` starts a
    /// comment. Every error names the file and line.
    public static func load(mixFile path: String) throws(MixError) -> QuantMix {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw MixError("\(path): cannot read the mix file (\(error.localizedDescription))")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(MixError) -> QuantMix {
        var base: Base?
        var rules: [TensorTypeRule] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let at = "\(file):\(index + 1)"
            if trimmed.lowercased().hasPrefix("base:") {
                let name = trimmed.dropFirst(5).trimmingCharacters(in: .whitespaces)
                guard base == nil else { throw MixError("\(at): a second base line; a mix file names one base") }
                guard let mix = QuantMix(name: name) else {
                    throw MixError("\(at): base '\(name)' is neither a type nor a recipe; use one of \(QuantMix.acceptedNames.dropLast().joined(separator: ", "))")
                }
                base = mix.base
                continue
            }
            for token in trimmed.split(whereSeparator: \.isWhitespace) {
                do { rules.append(try TensorTypeRule(parsing: String(token))) } catch { throw MixError("\(at): \(error.description)") }
            }
        }
        guard let base else { throw MixError("\(file): no `base: TYPE_OR_RECIPE` line; a mix file names the type of every tensor its rules do not") }
        return QuantMix(base: base, rules: rules)
    }

    /// The type of every tensor of `model`, as llama-quantize would choose with this recipe or
    /// type and these `--tensor-type` rules, in the order llama-quantize decides them.
    public func assign(_ model: MixModel) -> MixAssignment {
        var state = QuantRecipe.State(model: model)
        var result = MixAssignment()
        for tensor in model.tensorsInLlamaOrder {
            guard tensor.shape.count > 1 else { result.types[tensor.name] = .f32; continue }
            guard QuantRecipe.allowsQuantization(tensor.name) else {
                result.types[tensor.name] = tensor.stored ?? .f32
                result.kept.insert(tensor.name)
                continue
            }
            let row = tensor.shape[0]
            var chosen: TensorType
            if let rule = rules.first(where: { $0.matches(tensor.name) }) {
                chosen = rule.type
                result.ruled.insert(tensor.name)
            } else {
                switch base {
                case let .type(type): chosen = type
                case let .recipe(recipe): chosen = recipe.choose(tensor, state: &state)
                }
            }
            let fitted = ModelQuantizer.effectiveType(chosen, rowLength: row)
            if fitted != chosen { result.fallbacks[tensor.name] = (chosen, fitted) }
            result.types[tensor.name] = fitted
        }
        return result
    }
}

/// The outcome of `QuantMix.assign`.
public struct MixAssignment: Sendable {
    /// Every tensor's type in the output.
    public var types: [String: TensorType] = [:]
    /// Tensors whose chosen type did not fit their rows, with the type they got instead.
    public var fallbacks: [String: (chosen: TensorType, used: TensorType)] = [:]
    /// Tensors a `--tensor-type` rule decided.
    public var ruled: Set<String> = []
    /// Matrices llama-quantize never quantizes (kept in their stored type).
    public var kept: Set<String> = []
}

/// One `--tensor-type PATTERN=TYPE` rule, with llama-quantize's meaning: the pattern is a
/// regular expression searched anywhere in the tensor's name (so `attn_v` matches every
/// layer's `blk.N.attn_v.weight`, and `blk\.(0|1)\.ffn_down` two of them), lower-cased first.
public struct TensorTypeRule: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    public let type: TensorType

    public init(pattern: String, type: TensorType) throws(MixError) {
        guard !pattern.isEmpty else { throw MixError("--tensor-type: missing tensor name pattern before '='") }
        self.pattern = pattern.lowercased()
        self.type = type
        guard (try? NSRegularExpression(pattern: self.pattern)) != nil else {
            throw MixError("--tensor-type: '\(pattern)' is not a valid regular expression")
        }
        guard Quantization.canQuantize(to: type) else {
            throw MixError("--tensor-type: slmbench cannot quantize to \(type.name); use one of \(TensorType.quantizableNames.joined(separator: ", "))")
        }
    }

    /// `PATTERN=TYPE`, split at the first `=` as llama-quantize does.
    public init(parsing text: String) throws(MixError) {
        guard let eq = text.firstIndex(of: "=") else { throw MixError("--tensor-type '\(text)' is not PATTERN=TYPE") }
        let typeName = String(text[text.index(after: eq)...])
        guard !typeName.isEmpty else { throw MixError("--tensor-type '\(text)': missing type after '='") }
        guard let type = TensorType(name: typeName) else {
            throw MixError("--tensor-type '\(text)': '\(typeName)' is not a tensor type; use one of \(TensorType.quantizableNames.joined(separator: ", "))")
        }
        try self.init(pattern: String(text[..<eq]), type: type)
    }

    public func matches(_ name: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
        return regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }

    public var description: String { "\(pattern)=\(type.name.lowercased())" }
}

/// A mix that cannot be used, in one sentence naming the flag, file or line.
public struct MixError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What choosing tensor types needs to know about a model: its tensors and hyperparameters.
public struct MixModel: Sendable {
    public struct Tensor: Sendable {
        public var name: String
        public var shape: [Int]
        /// The stored type, when the model is a file.
        public var stored: TensorType?
        public init(name: String, shape: [Int], stored: TensorType? = nil) { self.name = name; self.shape = shape; self.stored = stored }
    }

    public var architecture: String
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var tensors: [Tensor]

    public init(architecture: String, layers: Int, heads: Int, kvHeads: Int, tensors: [Tensor]) {
        self.architecture = architecture; self.layers = layers; self.heads = heads; self.kvHeads = kvHeads; self.tensors = tensors
    }

    public init(file: GGUFFile) {
        let arch = file["general.architecture"]?.string ?? "unknown"
        func hyper(_ key: String) -> Int? {
            file["\(arch).\(key)"]?.int ?? file["\(arch).\(key)"]?.array?.ints?.first
        }
        let heads = hyper("attention.head_count") ?? 0
        self.init(architecture: arch, layers: hyper("block_count") ?? 0, heads: heads,
                  kvHeads: hyper("attention.head_count_kv") ?? heads,
                  tensors: file.tensors.map { Tensor(name: $0.name, shape: $0.shape, stored: $0.type) })
    }

    public init(preset: ArchitecturePreset) {
        self.init(architecture: preset.architecture, layers: preset.layers, heads: preset.heads, kvHeads: preset.kvHeads,
                  tensors: preset.tensorShapes.map { Tensor(name: $0.name, shape: $0.shape) })
    }

    /// llama.cpp's loader order: tensors outside blocks first, then block by block, by name
    /// within each (its `weight_name_comparer`). The recipes' per-layer counters follow it.
    var tensorsInLlamaOrder: [Tensor] {
        func layer(_ name: String) -> Int {
            guard name.hasPrefix("blk.") else { return -1 }
            return Int(name.dropFirst(4).prefix { $0.isNumber }) ?? -1
        }
        return tensors.sorted { a, b in
            let (la, lb) = (layer(a.name), layer(b.name))
            return la != lb ? la < lb : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }
}
