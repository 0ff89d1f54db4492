import ArgumentParser

/// A command whose capability is not built yet. It accepts any arguments, says which issue
/// builds it, and exits 1, so no script mistakes it for a working command.
protocol PlannedCommand: ParsableCommand {
    static var issue: Int { get }
    var arguments: [String] { get }
}

extension PlannedCommand {
    func run() throws {
        let name = Self.configuration.commandName ?? "\(Self.self)".lowercased()
        throw CLIError("'slmbench \(name)' is not built yet (planned in issue #\(Self.issue)); nothing was run")
    }
}

struct Cost: PlannedCommand {
    static let configuration = CommandConfiguration(abstract: "(planned) Cloud-vs-device cost model.")
    static let issue = 7
    @Argument(parsing: .allUnrecognized) var arguments: [String] = []
}
