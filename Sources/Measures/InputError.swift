/// A problem with what the user gave: a flag's value, a file, a sweep name. The message names
/// the flag or file first (`--corpus profiles/validation: …`) and is printed as it is, one line.
public struct InputError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
