import CKernels
import DeviceProbe
import Synchronization

/// A fixed team of threads, created once and woken per operation (see `ck_pool_run`).
/// Member 0 is the calling thread. When CPUs are given, member i is pinned to `cpus[i % count]`
/// through hwloc, so a run's threads stay where the probe said to put them.
public final class ThreadPool: @unchecked Sendable {
    public let size: Int
    public let cpus: [Int]
    private let pool: OpaquePointer

    public init(threads: Int, cpus: [Int] = []) throws(EngineError) {
        guard threads >= 1 else { throw .invalidOption("threads must be at least 1, got \(threads)") }
        guard let pool = ck_pool_create(Int32(threads)) else { throw .invalidOption("could not start \(threads) threads") }
        self.pool = pool
        self.size = Int(ck_pool_size(pool))
        self.cpus = cpus
        guard size == threads else { throw .invalidOption("only \(size) of \(threads) threads could be started") }
        if !cpus.isEmpty { try bind() }
    }

    deinit { ck_pool_destroy(pool) }

    private func bind() throws(EngineError) {
        let topology: HwlocTopology
        do { topology = try HwlocTopology() } catch { throw .binding(error.description) }
        let failures = FailureList()
        let cpus = self.cpus
        run { member, _ in
            let cpu = cpus[member % cpus.count]
            do { try topology.bindCurrentThread(toCPU: cpu) } catch { failures.add("thread \(member) → CPU \(cpu): \(error)") }
        }
        if let first = failures.items.first { throw .binding(first) }
    }

    /// Runs `body(member, members)` on every member and returns when all have finished.
    public func run(_ body: (Int, Int) -> Void) {
        withoutActuallyEscaping(body) { escapable in
            var task = escapable
            withUnsafeMutablePointer(to: &task) { pointer in
                ck_pool_run(pool, { context, member, members in
                    context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(Int(member), Int(members))
                }, pointer)
            }
        }
    }

    /// Splits `0..<count` into contiguous, nearly equal parts, one per member.
    public func forEachRange(_ count: Int, _ body: (Range<Int>, Int) -> Void) {
        run { member, members in
            let range = (count * member / members)..<(count * (member + 1) / members)
            if !range.isEmpty { body(range, member) }
        }
    }
}

/// Messages collected from several threads.
final class FailureList: Sendable {
    private let storage = Mutex<[String]>([])
    func add(_ item: String) { storage.withLock { $0.append(item) } }
    var items: [String] { storage.withLock { $0 } }
}
