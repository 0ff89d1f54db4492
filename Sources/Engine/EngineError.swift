import ModelFormat

/// Why the engine cannot load a model or run a request.
public enum EngineError: Error, Sendable, CustomStringConvertible, Equatable {
    case unsupportedArchitecture(String, known: [String])
    case missingTensor(String)
    case badShape(tensor: String, expected: [Int], found: [Int])
    case unsupportedType(tensor: String, type: String)
    case invalidOption(String)
    case binding(String)
    case contextFull(sequence: Int, needed: Int, context: Int)
    case gguf(String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(name, known):
            return "architecture '\(name)' is not supported by the native engine (supported: \(known.joined(separator: ", ")))"
        case let .missingTensor(name): return "the model has no tensor '\(name)'"
        case let .badShape(tensor, expected, found):
            return "tensor '\(tensor)' has shape \(found), expected \(expected)"
        case let .unsupportedType(tensor, type): return "tensor '\(tensor)' is \(type), which the native engine cannot read"
        case let .invalidOption(message): return message
        case let .binding(message): return "could not pin engine threads: \(message)"
        case let .contextFull(sequence, needed, context):
            return "sequence \(sequence) needs \(needed) positions but the context holds \(context); raise --context"
        case let .gguf(message): return message
        }
    }
}
