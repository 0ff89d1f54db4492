import CProbeKernels
import Synchronization

/// Settings for the bandwidth and peak-compute measurement.
public struct BandwidthOptions: Sendable, Equatable {
    /// Thread counts to measure; nil means 1, every power of two below the usable CPU count,
    /// and the count itself.
    public var threadCounts: [Int]?
    /// Timed trials per kernel and thread count (after one untimed warm-up trial).
    public var trials: Int
    /// Bytes per streaming array; nil picks 8× the last-level cache, at least 256 MiB,
    /// bounded by a quarter of usable memory across the four arrays.
    public var arrayBytes: Int?
    /// Target duration of one compute trial, in seconds.
    public var computeTrialSeconds: Double
    /// Kernel ISA override (`scalar`, `avx2`, `avx512`, `neon`, `neon-dotprod`); nil = best supported.
    public var isa: String?

    public init(threadCounts: [Int]? = nil, trials: Int = 7, arrayBytes: Int? = nil,
                computeTrialSeconds: Double = 0.05, isa: String? = nil) {
        self.threadCounts = threadCounts; self.trials = trials; self.arrayBytes = arrayBytes
        self.computeTrialSeconds = computeTrialSeconds; self.isa = isa
    }
}

/// Measures memory read and triad bandwidth and peak f32 FMA and int8 dot throughput with
/// threads pinned to CPUs, at several thread counts.
public enum BandwidthBenchmark {
    /// 1, powers of two below `usable`, and `usable` itself.
    public static func defaultThreadCounts(usable: Int) -> [Int] {
        var counts: [Int] = []
        var t = 1
        while t < usable { counts.append(t); t *= 2 }
        counts.append(max(1, usable))
        return counts
    }

    /// Streaming array size: well beyond the last-level cache so reads come from DRAM.
    public static func defaultArrayBytes(lastLevelCacheBytes: Int, usableMemory: Int?) -> Int {
        var bytes = max(256 << 20, 8 * lastLevelCacheBytes)
        if let usableMemory { bytes = min(bytes, max(16 << 20, usableMemory / 16)) }
        return bytes & ~4095
    }

    /// Kernel ISA ids this build and CPU can run, best first.
    public static func supportedISAs() -> [Int32] {
        [SLM_ISA_AVX512, SLM_ISA_AVX2, SLM_ISA_NEON_DOTPROD, SLM_ISA_NEON]
            .map { Int32($0) }.filter { slm_isa_supported($0) != 0 } + [Int32(SLM_ISA_SCALAR)]
    }

    static func isaName(_ isa: Int32) -> String { String(cString: slm_isa_name(isa)) }

    static func resolveISA(_ requested: String?) throws(ProbeError) -> Int32 {
        let supported = supportedISAs()
        guard let requested else { return supported[0] }
        guard let match = supported.first(where: { isaName($0) == requested }) else {
            throw .invalidOption(
                "--isa \(requested) is not available here; choose one of \(supported.map(isaName).joined(separator: ", "))")
        }
        return match
    }

    /// Runs the measurement on `cpuOrder` (CPUs used in order as threads are added).
    /// `progress` receives one line per step for a terminal.
    public static func run(
        topology: HwlocTopology?, cpuOrder: [Int], lastLevelCacheBytes: Int, usableMemory: Int?,
        options: BandwidthOptions, progress: (String) -> Void = { _ in }
    ) throws(ProbeError) -> HardwareProfile.Bandwidth {
        guard options.trials >= 1 else { throw .invalidOption("--trials must be at least 1 (got \(options.trials))") }
        let isa = try resolveISA(options.isa)
        let counts = options.threadCounts ?? defaultThreadCounts(usable: cpuOrder.count)
        if let bad = counts.first(where: { $0 < 1 || $0 > cpuOrder.count }) {
            throw .invalidOption("thread count \(bad) is outside 1…\(cpuOrder.count), the CPUs this process may use")
        }
        let arrayBytes = options.arrayBytes
            ?? defaultArrayBytes(lastLevelCacheBytes: lastLevelCacheBytes, usableMemory: usableMemory)
        let n = arrayBytes / MemoryLayout<Float>.stride
        guard n >= 1024 else { throw .invalidOption("array size \(arrayBytes) bytes is too small to measure") }
        let arrays = StreamArrays(count: n)
        defer { arrays.deallocate() }
        // Several passes per trial (about 1 GiB of traffic) so one trial lasts long enough
        // that a neighbour's burst on a shared machine does not decide it.
        let passes = max(1, (1 << 30) / arrayBytes)

        // First touch by pinned threads places pages near the CPUs that will read them.
        let widest = counts.max() ?? 1
        _ = PinnedTeam(topology: topology, cpus: Array(cpuOrder.prefix(widest))).run { index in
            arrays.initialize(range: chunk(index, of: widest, n: n))
        }

        var points: [HardwareProfile.Bandwidth.Point] = []
        for threads in counts {
            let team = PinnedTeam(topology: topology, cpus: Array(cpuOrder.prefix(threads)))
            progress("measuring \(threads) thread\(threads == 1 ? "" : "s") on CPUs \(formatCPUList(team.cpus))…")
            let read = measure(team: team, trials: options.trials) { index in
                let r = chunk(index, of: threads, n: n)
                var sum = 0.0
                for _ in 0..<passes { sum += slm_read_f32(isa, arrays.a + r.lowerBound, r.count) }
                arrays.sink(index, sum)
                return UInt64(r.count * 4 * passes)
            }
            let triad = measure(team: team, trials: options.trials) { index in
                let r = chunk(index, of: threads, n: n)
                for _ in 0..<passes {
                    slm_triad_f32(isa, arrays.c + r.lowerBound, arrays.a + r.lowerBound, arrays.b + r.lowerBound, 3, r.count)
                }
                return UInt64(r.count * 12 * passes)
            }
            // A compute kernel: runs `iterations`, returns the operations done and a value to sink.
            func compute(_ kernel: @escaping @Sendable (UInt64) -> (ops: UInt64, sink: Double)) -> HardwareProfile.Bandwidth.Stat {
                let iterations = calibrate(seconds: options.computeTrialSeconds) { _ = kernel($0) }
                return measure(team: team, trials: options.trials) { index in
                    let (ops, sink) = kernel(iterations)
                    arrays.sink(index, sink)
                    return ops
                }
            }
            let fma = compute { iterations in
                var sink: Float = 0
                return (slm_fma_f32(isa, iterations, &sink), Double(sink))
            }
            let dot = compute { iterations in
                var sink: Int32 = 0
                return (slm_dot_i8(isa, iterations, &sink), Double(sink))
            }
            points.append(.init(threads: threads, cpus: team.cpus, readGBps: read, triadGBps: triad,
                                fmaGFLOPS: fma, int8GOPS: dot))
        }
        let mib = arrayBytes >> 20
        let method = """
            read: sum of one \(mib) MiB f32 array split evenly over the threads, \(passes) passes per trial; \
            triad: a[i] = b[i] + s*c[i] over three \(mib) MiB arrays, \(passes) passes per trial, counted as 12 bytes per element \
            (STREAM convention, no write-allocate); f32 FMA: independent register-resident FMA chains, \
            2 FLOP per FMA; int8: register-resident int8 dot products, 2 ops per multiply-accumulate; \
            \(isaName(isa)) kernels; threads pinned with hwloc one per core before SMT siblings and \
            released by a spin barrier; 1 warm-up + \(options.trials) trials, best and median; \
            time = last thread's end - first thread's start; GB/s = 1e9 bytes/s
            """
        return .init(method: method, kernelISA: isaName(isa), arrayBytes: arrayBytes,
                     trials: options.trials, points: points)
    }

    /// The slice of `n` elements that thread `index` of `threads` owns (64-byte aligned starts).
    static func chunk(_ index: Int, of threads: Int, n: Int) -> Range<Int> {
        let per = (n / threads) & ~15
        let start = index * per
        return start..<(index == threads - 1 ? n : start + per)
    }

    /// One warm-up and `trials` timed runs; each body returns the units it processed.
    /// Units per second ÷ 1e9, best and median.
    static func measure(team: PinnedTeam, trials: Int,
                        _ body: @escaping @Sendable (Int) -> UInt64) -> HardwareProfile.Bandwidth.Stat {
        let units = UnitCounter(count: team.cpus.count)
        var rates: [Double] = []
        for trial in 0...trials {
            let (spans, _) = team.run { index in units.set(index, body(index)) }
            guard trial > 0 else { continue }
            let start = spans.map(\.start).min() ?? 0
            let end = spans.map(\.end).max() ?? 0
            let seconds = Double(end &- start) / 1e9
            if seconds > 0 { rates.append(Double(units.total()) / seconds / 1e9) }
        }
        rates.sort()
        guard !rates.isEmpty else { return .init(best: 0, median: 0) }
        let mid = rates.count / 2
        let median = rates.count % 2 == 1 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2
        return .init(best: rates.last!, median: median)
    }

    /// Iterations that take about `seconds` on one thread.
    static func calibrate(seconds: Double, _ run: (UInt64) -> Void) -> UInt64 {
        var iterations: UInt64 = 1 << 14
        while true {
            let start = PinnedTeam.now()
            run(iterations)
            let elapsed = Double(PinnedTeam.now() - start) / 1e9
            if elapsed >= seconds / 4 || iterations >= 1 << 40 {
                return max(1, UInt64(Double(iterations) * seconds / max(elapsed, 1e-9)))
            }
            iterations *= 4
        }
    }
}

/// Three page-aligned f32 arrays shared by the benchmark threads, each writing only its own slice.
private final class StreamArrays: @unchecked Sendable {
    let a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>
    let sinks = Mutex<Double>(0)

    init(count: Int) {
        func allocate() -> UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 4096).bindMemory(to: Float.self, capacity: count)
        }
        a = allocate(); b = allocate(); c = allocate()
    }

    func initialize(range: Range<Int>) {
        for i in range { a[i] = 1; b[i] = 2; c[i] = 0 }
    }

    /// Keeps kernel results observable so no call can be optimised away.
    func sink(_ index: Int, _ value: Double) { sinks.withLock { $0 += value } }

    func deallocate() {
        UnsafeMutableRawPointer(a).deallocate()
        UnsafeMutableRawPointer(b).deallocate()
        UnsafeMutableRawPointer(c).deallocate()
    }
}

private final class UnitCounter: @unchecked Sendable {
    let values: Mutex<[UInt64]>
    init(count: Int) { values = Mutex(Array(repeating: 0, count: count)) }
    func set(_ index: Int, _ value: UInt64) { values.withLock { $0[index] = value } }
    func total() -> UInt64 { values.withLock { $0.reduce(0, +) } }
}
