@testable import Worker
import Backends
import Foundation
import Measures
import Testing

/// Faults injected with a purpose-built fake worker: each becomes a recorded outcome with a
/// reason, and the caller goes on.
@Suite("worker processes and faults")
struct WorkerProcessTests {
    static let fake = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FakeWorkers/fake_worker.py").path
    static let request = WorkerRequest(id: "run-7", run: .object(["threads": .number(2), "model": .string("smollm2-135m")]))

    func run(_ mode: String, timeout: Double = 10, memory: Int? = nil) -> WorkerReport {
        WorkerProcess.run(executable: "python3", arguments: [Self.fake, mode], request: Self.request,
                          limits: WorkerLimits(timeoutSeconds: timeout, memoryLimitBytes: memory))
    }

    @Test func wellBehavedWorker() {
        let report = run("ok")
        guard case let .completed(metrics, backend) = report.outcome else {
            Issue.record("expected completed, got \(report.outcome) \(report.stderrTail)"); return
        }
        #expect(metrics["tg_ts"]?.number == 123.5)
        #expect(metrics["request_id"]?.string == "run-7")
        #expect(metrics["threads"]?.number == 2)
        #expect(backend["name"]?.string == "fake")
        #expect(report.progress == [.progress(stage: "load", fraction: 0.5), .progress(stage: "decode", fraction: nil)])
        #expect((report.peakRSSBytes ?? 0) > 1 << 20)
        #expect(report.outcome.status == .ok)
    }

    /// A soak's or a long run's progress reaches the caller as it happens, not when the worker exits.
    @Test func progressArrivesWhileTheWorkerRuns() {
        final class Heard: @unchecked Sendable {
            let lock = NSLock()
            var at: [Date] = []
        }
        let heard = Heard(), start = Date()
        let report = WorkerProcess.run(executable: "python3", arguments: [Self.fake, "slow-progress"], request: Self.request,
                                       limits: WorkerLimits(timeoutSeconds: 10)) { _ in
            heard.lock.lock(); heard.at.append(Date()); heard.lock.unlock()
        }
        #expect(report.outcome.status == .ok)
        #expect(report.progress == [.progress(stage: "measure", fraction: 0.25)])
        #expect(heard.at.count == 1, "onProgress called \(heard.at.count) times")
        // The worker sleeps 2 s after its progress line: heard well before the end.
        if let first = heard.at.first { #expect(first.timeIntervalSince(start) < report.wallSeconds - 1, "progress heard only at the end") }
    }

    @Test func aBigParentDoesNotInflateTheWorkersPeakMemory() {
        // 512 MiB resident in this process when the worker starts: the kernel's ru_maxrss for the
        // child would include it (the child shares our memory until exec); the worker's own peak must not.
        let size = 512 << 20
        let ballast = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { ballast.deallocate() }
        memset(ballast, 1, size)
        let report = run("ok")
        withExtendedLifetime(ballast) {}
        #expect(report.outcome.status == .ok)
        let peak = report.peakRSSBytes ?? 0
        #expect(peak > 1 << 20 && peak < 256 << 20, "peak \(peak >> 20) MiB")
    }

    @Test func aPeakJustBeforeTheResultIsRecorded() {
        let report = run("late-peak")
        #expect(report.outcome.status == .ok)
        #expect((report.peakRSSBytes ?? 0) > 300 << 20, "peak \((report.peakRSSBytes ?? 0) >> 20) MiB")
    }

    @Test func memoryStatusReadsTheKernelsFields() {
        let status = WorkerProcess.memoryStatus(getpid())
        #expect((status.resident ?? 0) > 1 << 20)
        #expect((status.highWater ?? 0) >= (status.resident ?? .max))
        let text = Array("Name:\tx\nVmHWM:\t   1234 kB\nVmRSS:\t 77 kB\nVmSwap: 5 kB\n".utf8)
        text.withUnsafeBufferPointer { buffer in
            #expect(WorkerProcess.kilobytes(after: "VmHWM:", in: buffer) == 1234 * 1024)
            #expect(WorkerProcess.kilobytes(after: "VmRSS:", in: buffer) == 77 * 1024)
            #expect(WorkerProcess.kilobytes(after: "VmPeak:", in: buffer) == nil)
        }
        #expect(WorkerProcess.memoryStatus(-1) == (nil, nil))
    }

    @Test func reportedErrorIsAFailedRun() {
        #expect(run("error").outcome == .failed(code: "unsupported-type", message: "cannot run lab4g32a"))
    }

    @Test func segfaultIsACrashWithTheLastStderrLines() {
        let report = run("segv")
        #expect(report.outcome == .crashed(signal: SIGSEGV, exitStatus: nil))
        #expect(report.stderrTail.count == 20)
        #expect(report.stderrTail.last == "stderr line 49")
        #expect(report.outcome.status == .crashed)
    }

    @Test func aCrashIsACrashWhateverTheCrashHandlerPrinted() {
        // The assertion message comes before a long dump; it is kept, and the gdb line on stdout
        // does not turn the crash into a protocol error.
        let report = run("abort-noisy")
        #expect(report.outcome == .crashed(signal: SIGABRT, exitStatus: nil))
        #expect(report.stderrTail.first?.contains("GGML_ASSERT(n_outputs_max") == true, "\(report.stderrTail)")
        #expect(report.stderrTail.last == "  r39 0x0000000000000027")
        #expect(report.stderrTail.count == 21)
        #expect(report.progress.count == 1)
        #expect(run("garbage-exit").outcome == .crashed(signal: nil, exitStatus: 2))
    }

    @Test func hangIsKilledAtTheTimeout() {
        let report = run("hang", timeout: 1)
        #expect(report.outcome == .timeout(afterSeconds: 1))
        #expect(report.wallSeconds >= 1 && report.wallSeconds < 5)
    }

    @Test func childrenOfAHungWorkerDoNotBlockTheParent() {
        let report = run("hang-child", timeout: 1)
        #expect(report.outcome == .timeout(afterSeconds: 1))
        #expect(report.wallSeconds < 5)
    }

    @Test func memoryCeilingKillsAsOOM() {
        let report = run("oom", timeout: 30, memory: 200 << 20)
        guard case let .oom(limit, resident) = report.outcome else { Issue.record("expected oom, got \(report.outcome)"); return }
        #expect(limit == 200 << 20 && resident > limit)
        #expect((report.peakRSSBytes ?? 0) > 200 << 20)
    }

    @Test(arguments: [
        ("garbage", "not a JSON object"), ("missing-fields", "lacks field 'metrics'"),
        ("wrong-protocol", "protocol version 99"), ("no-result", "without a result"), ("two-results", "more than one"),
    ])
    func protocolViolations(mode: String, reason: String) {
        let report = run(mode)
        guard case let .protocolError(text) = report.outcome else { Issue.record("\(mode): got \(report.outcome)"); return }
        #expect(text.contains(reason), "\(mode): \(text)")
    }

    @Test func silentNonZeroExitIsACrash() {
        #expect(run("silent-exit").outcome == .crashed(signal: nil, exitStatus: 3))
    }

    @Test func missingProgramIsALaunchFailure() {
        let report = WorkerProcess.run(executable: "/nonexistent/worker", request: Self.request, limits: WorkerLimits(timeoutSeconds: 5))
        guard case let .launchFailed(text) = report.outcome else { Issue.record("got \(report.outcome)"); return }
        #expect(text.contains("/nonexistent/worker"))
    }

    @Test func argumentsAreNotInterpretedByAShell() {
        // A mode with shell syntax reaches the worker as one argument and is refused there.
        let report = WorkerProcess.run(executable: "python3", arguments: [Self.fake, "ok; echo pwned"], request: Self.request,
                                       limits: WorkerLimits(timeoutSeconds: 10))
        #expect(report.outcome == .crashed(signal: nil, exitStatus: 1))
        #expect(report.stderrTail.contains { $0.contains("unknown mode ok; echo pwned") })
    }
}
