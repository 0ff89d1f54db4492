import ArgumentParser
import Worker
import Workloads

struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "(internal) Execute one run, speaking the worker protocol on stdin/stdout.",
        discussion: "See docs/worker-protocol.md. `slmbench run` and sweeps start this; people rarely need to.")

    func run() throws {
        let status = WorkerMain.run()
        if status != 0 { throw ExitCode(status) }
    }
}
