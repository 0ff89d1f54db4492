import Foundation
import Measures
#if canImport(Glibc)
import Glibc
#endif

/// How one worker run ended. Every failure is a value the caller records; none throws.
public enum WorkerOutcome: Sendable, Equatable {
    case completed(metrics: JSONValue, backend: JSONValue)
    /// The worker reported an error of its own (a model it cannot load, an unsupported type…).
    case failed(code: String, message: String)
    case timeout(afterSeconds: Double)
    /// Killed for passing the memory ceiling (resident set size).
    case oom(limitBytes: Int, residentBytes: Int)
    /// Killed by a signal, or exited non-zero without an error message.
    case crashed(signal: Int32?, exitStatus: Int32?)
    /// The worker spoke, but not the protocol (garbage, missing fields, another version, no result).
    case protocolError(String)
    /// The program could not be started.
    case launchFailed(String)

    /// The status results record.
    public var status: RunStatus {
        switch self {
        case .completed: return .ok
        case .failed: return .failed
        case .timeout: return .timeout
        case .oom: return .oom
        case .crashed: return .crashed
        case .protocolError: return .protocol
        case .launchFailed: return .launch
        }
    }
}

/// Everything observed about one worker run.
public struct WorkerReport: Sendable {
    public var outcome: WorkerOutcome
    public var progress: [WorkerMessage]
    /// Peak resident set size of the worker's program, in bytes: the kernel's high-water mark
    /// (VmHWM in /proc/PID/status), read on every poll of the worker and whenever it writes a line
    /// to stdout, so the last reading follows its result line. wait4's ru_maxrss is used only
    /// for a worker gone before the first sample: it also counts the parent's resident memory at
    /// spawn time (the child shares the parent's address space until exec), so a parent that had
    /// just quantized a model would lend its size to every worker.
    public var peakRSSBytes: Int?
    /// Wall time from launch to exit, measured by the parent (a cross-check on the worker's own timing).
    public var wallSeconds: Double
    /// The last lines the worker wrote to stderr, after up to five earlier ones that name an
    /// error (so an assertion message survives the crash dump that follows it).
    public var stderrTail: [String]
}

/// Limits the parent enforces on a worker.
public struct WorkerLimits: Sendable {
    public var timeoutSeconds: Double
    /// Resident-set ceiling; nil for none.
    public var memoryLimitBytes: Int?
    public var stderrLines: Int

    public init(timeoutSeconds: Double, memoryLimitBytes: Int? = nil, stderrLines: Int = 20) {
        self.timeoutSeconds = timeoutSeconds; self.memoryLimitBytes = memoryLimitBytes; self.stderrLines = stderrLines
    }
}

/// Runs one worker process: starts the program without a shell, writes the request line,
/// reads JSON lines, and enforces the wall-clock timeout and the memory ceiling.
///
/// Side effect: the calling process ignores SIGPIPE from the first run on, so a worker that
/// exits before reading its request cannot kill the parent (writes then fail with EPIPE).
public enum WorkerProcess {
    public static func run(executable: String, arguments: [String] = [], request: WorkerRequest,
                           limits: WorkerLimits, onProgress: @escaping @Sendable (WorkerMessage) -> Void = { _ in }) -> WorkerReport {
        let start = Date()
        var requestLine: Data
        do { requestLine = try JSONEncoder().encode(request) } catch {
            return WorkerReport(outcome: .launchFailed("cannot encode the request: \(error)"), progress: [], peakRSSBytes: nil, wallSeconds: 0, stderrTail: [])
        }
        requestLine.append(0x0A)

        var stdinPipe: [Int32] = [0, 0], stdoutPipe: [Int32] = [0, 0], stderrPipe: [Int32] = [0, 0]
        guard pipe(&stdinPipe) == 0, pipe(&stdoutPipe) == 0, pipe(&stderrPipe) == 0 else {
            return WorkerReport(outcome: .launchFailed("pipe: \(String(cString: strerror(errno)))"), progress: [], peakRSSBytes: nil, wallSeconds: 0, stderrTail: [])
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        for fd in stdinPipe + stdoutPipe + stderrPipe { posix_spawn_file_actions_addclose(&actions, fd) }

        // Its own process group, so a kill also reaches any children it started (which would
        // otherwise keep the output pipes open).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        // Every signal at its default and none blocked: an exec keeps ignored and blocked signals,
        // and this process ignores SIGPIPE (and a test runner may ignore or block more), which
        // would let a worker survive its own abort or a closed pipe.
        var everySignal = sigset_t(), noSignal = sigset_t()
        sigfillset(&everySignal)
        sigemptyset(&noSignal)
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        posix_spawnattr_setsigmask(&attributes, &noSignal)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        // posix_spawnp searches PATH for a bare program name, as a shell would, without one.
        let spawned = posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
        close(stdinPipe[0]); close(stdoutPipe[1]); close(stderrPipe[1])
        guard spawned == 0 else {
            close(stdinPipe[1]); close(stdoutPipe[0]); close(stderrPipe[0])
            return WorkerReport(outcome: .launchFailed("cannot start \(executable): \(String(cString: strerror(spawned)))"),
                                progress: [], peakRSSBytes: nil, wallSeconds: 0, stderrTail: [])
        }

        // The request, then end of input. A worker that exits early must not kill us with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        requestLine.withUnsafeBytes { _ = write(stdinPipe[1], $0.baseAddress, $0.count) }
        close(stdinPipe[1])

        // posix_spawn returns after the exec, so every reading is of the worker's own program.
        let highWater = HighWater(), worker = pid
        // Progress is passed on as it arrives (a soak or a long run reports while it runs); the
        // rest of the protocol is judged once the worker has exited.
        let stdoutLines = LineCollector(fd: stdoutPipe[0], keep: Int.max) { lines in
            _ = highWater.read(worker)
            for line in lines where !line.isEmpty {
                if let message = try? WorkerMessage.decode(line: line), case .progress = message { onProgress(message) }
            }
        }
        let stderrLines = LineCollector(fd: stderrPipe[0], keep: limits.stderrLines)

        var status: Int32 = 0
        var usage = rusage()
        var killedFor: WorkerOutcome?
        while true {
            let reaped = wait4(pid, &status, WNOHANG, &usage)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { break }
            let elapsed = Date().timeIntervalSince(start)
            let memory = highWater.read(pid)
            if killedFor == nil {
                if elapsed > limits.timeoutSeconds {
                    killedFor = .timeout(afterSeconds: limits.timeoutSeconds)
                    kill(-pid, SIGKILL)
                } else if let limit = limits.memoryLimitBytes, let rss = memory.resident, rss > limit {
                    killedFor = .oom(limitBytes: limit, residentBytes: rss)
                    kill(-pid, SIGKILL)
                }
            }
            // Every poll takes the CPU from the worker, and on a machine whose cores all run its
            // threads it stalls them all at their next barrier: poll often while a fast exit or a
            // load is likely, then at a pace that costs the worker nothing measurable.
            usleep(elapsed < 1 ? 10_000 : 50_000)
        }
        kill(-pid, SIGKILL) // anything of the worker's still running
        let lines = stdoutLines.finish()
        let tail = stderrLines.finish()
        let wall = Date().timeIntervalSince(start)
        let peak = highWater.peak ?? Int(usage.ru_maxrss) * 1024 // kilobytes on Linux

        func report(_ outcome: WorkerOutcome, _ progress: [WorkerMessage] = []) -> WorkerReport {
            WorkerReport(outcome: outcome, progress: progress, peakRSSBytes: peak > 0 ? peak : nil, wallSeconds: wall, stderrTail: tail)
        }
        if let killedFor { return report(killedFor) }

        // A crash outranks whatever the dying process wrote: crash handlers (ggml's runs gdb) may
        // print to stdout, and that is not the worker breaking the protocol.
        let terminatingSignal = status & 0x7f
        let killed = terminatingSignal != 0 && terminatingSignal != 0x7f
        let exitStatus = (status >> 8) & 0xff
        var progress: [WorkerMessage] = []
        var final: WorkerOutcome?
        var violation: String?
        for line in lines where !line.isEmpty {
            let message: WorkerMessage
            do { message = try WorkerMessage.decode(line: line) } catch {
                violation = violation ?? error.description
                continue
            }
            switch message {
            case .progress:
                progress.append(message) // onProgress has had it, as it arrived
            case let .result(metrics, backend):
                if final != nil { violation = violation ?? "more than one result or error line" }
                final = .completed(metrics: metrics, backend: backend)
            case let .error(code, text):
                if final != nil { violation = violation ?? "more than one result or error line" }
                final = .failed(code: code, message: text)
            }
        }
        // A signal is a crash whatever was printed; then a worker that said why it could not run
        // has failed, whatever its exit status; then a non-zero exit is a crash. Only a worker that
        // exited cleanly is blamed for its output.
        if killed { return report(.crashed(signal: terminatingSignal, exitStatus: nil), progress) }
        if let final, case .failed = final, violation == nil { return report(final, progress) }
        if exitStatus != 0 { return report(.crashed(signal: nil, exitStatus: exitStatus), progress) }
        if let violation { return report(.protocolError(violation), progress) }
        if let final { return report(final, progress) }
        return report(.protocolError("the worker exited without a result or error line"), progress)
    }

    /// VmRSS (resident now) and VmHWM (resident at most) of a process from /proc, in bytes. Read
    /// with plain system calls into a stack buffer: this runs on every poll of a worker.
    static func memoryStatus(_ pid: pid_t) -> (resident: Int?, highWater: Int?) {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (nil, nil) }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8192) { buffer in
            var filled = 0
            while filled < buffer.count {
                let n = read(fd, buffer.baseAddress! + filled, buffer.count - filled)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                filled += n
            }
            return (kilobytes(after: "VmRSS:", in: UnsafeBufferPointer(rebasing: buffer[..<filled])),
                    kilobytes(after: "VmHWM:", in: UnsafeBufferPointer(rebasing: buffer[..<filled])))
        }
    }

    /// The number after `key` at the start of a line ("VmHWM:\t  1234 kB"), times 1024.
    static func kilobytes(after key: StaticString, in text: UnsafeBufferPointer<UInt8>) -> Int? {
        let key = UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        var lineStart = 0
        while lineStart + key.count <= text.count {
            if zip(key, text[lineStart..<lineStart + key.count]).allSatisfy({ $0 == $1 }) {
                var i = lineStart + key.count
                while i < text.count && (text[i] == 0x20 || text[i] == 0x09) { i += 1 }
                var value = 0, digits = 0
                while i < text.count, text[i] >= 0x30, text[i] <= 0x39 {
                    value = value * 10 + Int(text[i] - 0x30); i += 1; digits += 1
                }
                return digits > 0 ? value * 1024 : nil
            }
            guard let newline = text[lineStart...].firstIndex(of: 0x0A) else { break }
            lineStart = newline + 1
        }
        return nil
    }
}

/// The highest VmHWM read of one worker, from the polling loop and the stdout reader's thread.
final class HighWater: @unchecked Sendable {
    private let lock = NSLock()
    private var highest: Int?

    /// Reads the worker's memory status and keeps the high-water mark; returns the reading.
    func read(_ pid: pid_t) -> (resident: Int?, highWater: Int?) {
        let memory = WorkerProcess.memoryStatus(pid)
        if let hwm = memory.highWater {
            lock.lock(); highest = max(highest ?? 0, hwm); lock.unlock()
        }
        return memory
    }

    var peak: Int? { lock.lock(); defer { lock.unlock() }; return highest }
}

/// Reads a file descriptor to its end on its own thread, keeping the last `keep` lines.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial = Data()
    private let done = DispatchSemaphore(value: 0)
    private let keep: Int

    /// `onLines` runs on the reader's thread with each read's complete lines, after they are kept.
    init(fd: Int32, keep: Int, onLines: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.keep = keep
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                let complete = append(buffer[0..<n])
                if !complete.isEmpty { onLines(complete) }
            }
            close(fd)
            lock.lock()
            if !partial.isEmpty { push(String(decoding: partial, as: UTF8.self)) }
            lock.unlock()
            done.signal()
        }
        thread.start()
    }

    /// Keeps the complete lines in `bytes` and returns them.
    private func append(_ bytes: ArraySlice<UInt8>) -> [String] {
        lock.lock(); defer { lock.unlock() }
        partial.append(contentsOf: bytes)
        var complete: [String] = []
        while let newline = partial.firstIndex(of: 0x0A) {
            let line = String(decoding: partial[partial.startIndex..<newline], as: UTF8.self)
            push(line)
            complete.append(line)
            partial.removeSubrange(partial.startIndex...newline)
        }
        return complete
    }

    private func push(_ line: String) {
        lines.append(line)
        if lines.count > keep {
            // A line that says what went wrong is kept even when a long dump follows it (an
            // assertion message before a crash handler's register and stack dump).
            let dropped = lines.prefix(lines.count - keep)
            for line in dropped where notable.count < Self.notableLines && Self.isNotable(line) { notable.append(line) }
            lines.removeFirst(lines.count - keep)
        }
    }

    private var notable: [String] = []
    static let notableLines = 5

    static func isNotable(_ line: String) -> Bool {
        let lower = line.lowercased()
        return ["assert", "fatal", "error", "panic", "abort", "exception", "failed"].contains { lower.contains($0) }
    }

    /// Waits for end of file and returns the lines: with a limit, up to five earlier lines that
    /// name an error, then the last lines.
    func finish() -> [String] {
        done.wait()
        lock.lock(); defer { lock.unlock() }
        return notable + lines
    }
}
