import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs one body per thread on threads pinned one-to-one to CPUs, released together by a
/// spin barrier, and reports each thread's start and end on the monotonic clock.
///
/// Threads are created per `run`: the benchmark's trials last tens of milliseconds, so
/// creation cost is outside the timed region and irrelevant to it.
struct PinnedTeam {
    let topology: HwlocTopology?
    let cpus: [Int]

    struct Span { var start: UInt64; var end: UInt64 }

    /// Monotonic time in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Runs `body(threadIndex)` on every thread; returns per-thread spans and the first
    /// pinning error, if any (the run still happens, unpinned, so a probe never fails hard).
    func run(_ body: @escaping @Sendable (Int) -> Void) -> (spans: [Span], pinError: ProbeError?) {
        let state = SharedState(count: cpus.count)
        var threads: [pthread_t] = []
        for index in cpus.indices {
            let context = ThreadContext(index: index, cpu: cpus[index], topology: topology, state: state, body: body)
            let box = Unmanaged.passRetained(context).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
                context.main()
                return nil
            }, box)
            precondition(rc == 0, "pthread_create failed with \(rc)")
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
        return (state.spans(), state.pinError())
    }

    private final class SharedState: @unchecked Sendable {
        let arrived = Atomic<Int>(0)
        let lock = Mutex<(spans: [Span], error: ProbeError?)>(([], nil))
        let count: Int
        init(count: Int) {
            self.count = count
            lock.withLock { $0.spans = Array(repeating: Span(start: 0, end: 0), count: count) }
        }
        func record(_ index: Int, _ span: Span) { lock.withLock { $0.spans[index] = span } }
        func fail(_ error: ProbeError) { lock.withLock { if $0.error == nil { $0.error = error } } }
        func spans() -> [Span] { lock.withLock { $0.spans } }
        func pinError() -> ProbeError? { lock.withLock { $0.error } }
    }

    private final class ThreadContext: @unchecked Sendable {
        let index: Int, cpu: Int
        let topology: HwlocTopology?
        let state: SharedState
        let body: @Sendable (Int) -> Void
        init(index: Int, cpu: Int, topology: HwlocTopology?, state: SharedState, body: @escaping @Sendable (Int) -> Void) {
            self.index = index; self.cpu = cpu; self.topology = topology; self.state = state; self.body = body
        }
        func main() {
            if let topology {
                do throws(ProbeError) { try topology.bindCurrentThread(toCPU: cpu) } catch { state.fail(error) }
            }
            state.arrived.add(1, ordering: .acquiringAndReleasing)
            while state.arrived.load(ordering: .acquiring) < state.count {}
            let start = PinnedTeam.now()
            body(index)
            state.record(index, Span(start: start, end: PinnedTeam.now()))
        }
    }
}
