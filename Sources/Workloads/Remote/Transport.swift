import Foundation
import Measures

/// The programs that reach a device (ssh and scp, or adb), as argument vectors: no local shell
/// is ever involved. The device's own shell does read the command line ssh and `adb shell`
/// send, so every word of a remote command is single-quoted (`quote`).
///
/// ssh runs with BatchMode (keys or an agent, never a password prompt), host keys checked as the
/// user's ssh configuration says (nothing here loosens StrictHostKeyChecking), a connect timeout,
/// and keep-alives so a device that drops off the network is noticed within about 15 s.
/// `$SLMBENCH_SSH_CONFIG` names an ssh configuration file to use instead of ~/.ssh/config
/// (`-F`), as the tests do.
public struct Transport: Sendable {
    public let device: Device

    public init(_ device: Device) { self.device = device }

    /// A word for a POSIX shell, single-quoted unless it is plainly safe.
    public static func quote(_ word: String) -> String {
        let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-=:,+@%")
        if !word.isEmpty, word.unicodeScalars.allSatisfy(plain.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The remote command line for `words`, each quoted.
    public static func commandLine(_ words: [String]) -> String { words.map(quote).joined(separator: " ") }

    var sshConfig: [String] {
        guard let file = ProcessInfo.processInfo.environment["SLMBENCH_SSH_CONFIG"], !file.isEmpty else { return [] }
        return ["-F", file]
    }

    var sshOptions: [String] {
        sshConfig + ["-o", "BatchMode=yes", "-o", "ConnectTimeout=\(max(1, Int(device.connectTimeoutSeconds.rounded(.up))))",
                     "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
    }

    /// Program and arguments that run `words` on the device with stdin and stdout connected.
    public func command(_ words: [String]) -> (program: String, arguments: [String]) {
        switch device.address {
        case let .ssh(user, host, port):
            return ("ssh", ["-T"] + sshOptions + (port.map { ["-p", String($0)] } ?? []) + (user.map { ["-l", $0] } ?? [])
                        + ["--", host, Self.commandLine(words)])
        case let .adb(serial):
            return ("adb", ["-s", serial, "shell", Self.commandLine(words)])
        }
    }

    /// Program and arguments that copy a local file to a path on the device.
    public func copy(local: String, remote: String) -> (program: String, arguments: [String]) {
        switch device.address {
        case let .ssh(user, host, port):
            // scp reads the part after ':' as a path (quoted for the remote side by older scp);
            // the path is slmbench's own cache name, of safe characters only.
            return ("scp", ["-q"] + sshOptions + (port.map { ["-P", String($0)] } ?? [])
                        + ["--", local, "\(user.map { "\($0)@" } ?? "")\(host):\(remote)"])
        case let .adb(serial):
            return ("adb", ["-s", serial, "push", local, remote])
        }
    }

    /// Runs `words` on the device and collects its output (capped), killing it after `timeout`.
    public func run(_ words: [String], timeout: Double, input: Data? = nil) -> Captured {
        let (program, arguments) = command(words)
        return Captured.run(program, arguments, timeout: timeout, input: input)
    }

    /// True when the device answers; the error says why not.
    public func reachable() -> Result<Void, InputError> {
        let result = run(["true"], timeout: device.connectTimeoutSeconds + 5)
        if result.status == 0 { return .success(()) }
        return .failure(InputError("\(device.name) does not answer: \(result.problem)"))
    }

    /// Why a failed transport call failed, in one line, for a message.
    public func failure(_ result: Captured, doing what: String) -> InputError {
        InputError("\(device.name): \(what) failed: \(result.problem)")
    }
}

/// A finished program: exit status (128+signal when killed), output, and whether it timed out.
public struct Captured: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: String
    public var timedOut: Bool

    public var text: String { String(decoding: stdout, as: UTF8.self) }

    /// The last lines of stderr, or the status, as one line.
    public var problem: String {
        if timedOut { return "no answer within the timeout" }
        let lines = stderr.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let tail = lines.suffix(2).joined(separator: " / ")
        return "exit status \(status)" + (tail.isEmpty ? "" : ": " + String(tail.prefix(400)))
    }

    /// Output kept per stream: a hostile device could send without end.
    static let limit = 16 << 20

    static func run(_ program: String, _ arguments: [String], timeout: Double, input: Data?) -> Captured {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do { try process.run() } catch {
            return Captured(status: 127, stdout: Data(), stderr: "cannot start \(program): \(error)", timedOut: false)
        }
        let outData = Accumulator(), errData = Accumulator()
        let group = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            group.enter()
            DispatchQueue.global().async {
                while true {
                    let chunk = pipe.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    sink.append(chunk)
                }
                group.leave()
            }
        }
        if let input { try? inp.fileHandleForWriting.write(contentsOf: input) }
        try? inp.fileHandleForWriting.close()
        var timedOut = false
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            process.terminate()
            if finished.wait(timeout: .now() + 3) == .timedOut { kill(process.processIdentifier, SIGKILL); finished.wait() }
        }
        group.wait()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return Captured(status: status, stdout: outData.data, stderr: String(decoding: errData.data, as: UTF8.self), timedOut: timedOut)
    }
}

/// Bytes read on one thread and taken on another, capped at `Captured.limit`.
final class Accumulator: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = Data()
    func append(_ chunk: Data) {
        lock.lock(); defer { lock.unlock() }
        if bytes.count < Captured.limit { bytes.append(chunk.prefix(Captured.limit - bytes.count)) }
    }
    var data: Data { lock.lock(); defer { lock.unlock() }; return bytes }
}
