import CProbeKernels
@testable import DeviceProbe
import Testing

/// The probe's C kernels against independent Swift computations, for every ISA this CPU runs.
@Suite("bandwidth and compute kernels")
struct KernelAndBandwidthTests {
    static let isas = BandwidthBenchmark.supportedISAs()

    @Test(arguments: isas)
    func readSumsEveryElement(isa: Int32) {
        for n in [1, 3, 7, 17, 31, 33, 63, 64, 65, 127, 1000, 4099] {
            let values = (0..<n).map { Float(($0 * 7919) % 101) / 8 }
            let expected = values.reduce(0.0) { $0 + Double($1) }
            let got = values.withUnsafeBufferPointer { slm_read_f32(isa, $0.baseAddress, n) }
            #expect(abs(got - expected) <= 1e-5 * max(1, expected), "isa \(isa) n \(n)")
        }
    }

    @Test(arguments: isas)
    func triadWritesEveryElement(isa: Int32) {
        for n in [1, 5, 15, 16, 17, 33, 1001] {
            let b = (0..<n).map { Float($0) * 0.5 }, c = (0..<n).map { Float(n - $0) * 0.25 }
            var a = [Float](repeating: -1, count: n)
            slm_triad_f32(isa, &a, b, c, 3, n)
            for i in 0..<n {
                #expect(abs(a[i] - (b[i] + 3 * c[i])) <= 1e-5 * max(1, abs(a[i])), "isa \(isa) n \(n) i \(i)")
            }
        }
    }

    /// Lanes and accumulator counts per ISA, as the C kernels document them.
    static func fmaShape(_ isa: Int32) -> (accumulators: Int, lanes: Int) {
        switch Int(isa) {
        case Int(SLM_ISA_AVX512): return (16, 16)
        case Int(SLM_ISA_AVX2): return (12, 8)
        case Int(SLM_ISA_NEON), Int(SLM_ISA_NEON_DOTPROD): return (16, 4)
        default: return (8, 1)
        }
    }

    @Test(arguments: isas)
    func fmaChainsComputeWhatTheyCount(isa: Int32) {
        let iterations: UInt64 = 1000
        var sink: Float = 0
        let flops = slm_fma_f32(isa, iterations, &sink)
        let shape = Self.fmaShape(isa)
        #expect(flops == iterations * UInt64(shape.accumulators * shape.lanes * 2))
        // Each accumulator k starts at k+1 and runs x = x*m + c (fused), all lanes alike.
        var expected = 0.0
        for k in 0..<shape.accumulators {
            var x = Float(k + 1)
            for _ in 0..<iterations { x = Float(1e-6).addingProduct(x, 0.999999) }
            expected += Double(x) * Double(shape.lanes)
        }
        #expect(abs(Double(sink) - expected) <= 1e-4 * expected)
    }

    @Test(arguments: isas)
    func int8DotsComputeWhatTheyCount(isa: Int32) throws {
        let iterations: UInt64 = 200
        var sink: Int32 = 0
        let ops = slm_dot_i8(isa, iterations, &sink)
        switch Int(isa) {
        case Int(SLM_ISA_AVX2), Int(SLM_ISA_AVX512):
            // 8 accumulators; a_k = k+1 in every byte; b_i = (3+i) & 63; lanes bytes per vector.
            let bytes = Int(isa) == Int(SLM_ISA_AVX2) ? 32 : 64
            #expect(ops == iterations * 8 * UInt64(bytes) * 2)
            let bSum = (0..<Int(iterations)).reduce(0) { $0 + ((3 + $1) & 63) }
            #expect(Int(sink) == 36 * bytes * bSum)
        case Int(SLM_ISA_SCALAR):
            #expect(ops == iterations * 16 * 2)
            var a = [Int32](repeating: 0, count: 16), b = [Int8](repeating: 0, count: 16)
            for k in 0..<16 { a[k] = Int32(k - 8); b[k] = Int8(3 * k - 20) }
            var acc: Int32 = 0
            for i in 0..<Int(iterations) {
                for k in 0..<16 { acc &+= a[k] * Int32(b[k]) }
                b[i & 15] &+= 1
            }
            #expect(sink == acc)
        default:
            #expect(ops > 0)
        }
    }

    @Test func smallMeasurementOnThisMachine() throws {
        let topology = try HwlocTopology()
        let cpus = Array(topology.spreadCPUOrder.prefix(2))
        let result = try BandwidthBenchmark.run(
            topology: topology, cpuOrder: cpus, lastLevelCacheBytes: 1 << 20, usableMemory: nil,
            options: BandwidthOptions(threadCounts: [1, cpus.count], trials: 2, arrayBytes: 4 << 20, computeTrialSeconds: 0.005))
        #expect(result.points.map(\.threads) == [1, cpus.count])
        #expect(result.points[0].cpus == [cpus[0]])
        for point in result.points {
            for stat in [point.readGBps, point.triadGBps, point.fmaGFLOPS, point.int8GOPS] {
                let s = try #require(stat)
                #expect(s.best > 0 && s.median > 0 && s.median <= s.best)
            }
        }
        #expect(result.kernelISA == BandwidthBenchmark.isaName(Self.isas[0]))
        #expect(result.method.contains("pinned"))
    }

    @Test func threadCountsBeyondUsableCPUsAreRefused() throws {
        #expect {
            try BandwidthBenchmark.run(topology: nil, cpuOrder: [0, 1], lastLevelCacheBytes: 1 << 20, usableMemory: nil,
                                       options: BandwidthOptions(threadCounts: [3]))
        } throws: { error in
            (error as? ProbeError)?.description.contains("thread count 3 is outside 1…2") == true
        }
    }

    @Test func unknownISAIsRefusedWithTheChoices() throws {
        #expect {
            try BandwidthBenchmark.run(topology: nil, cpuOrder: [0], lastLevelCacheBytes: 1 << 20, usableMemory: nil,
                                       options: BandwidthOptions(isa: "avx9000"))
        } throws: { error in
            let text = (error as? ProbeError)?.description ?? ""
            return text.contains("avx9000") && text.contains("scalar")
        }
    }

    @Test(arguments: [(1, [1]), (2, [1, 2]), (6, [1, 2, 4, 6]), (8, [1, 2, 4, 8])])
    func defaultThreadCounts(usable: Int, expected: [Int]) {
        #expect(BandwidthBenchmark.defaultThreadCounts(usable: usable) == expected)
    }

    @Test func arraysAreWellBeyondTheLastLevelCache() {
        #expect(BandwidthBenchmark.defaultArrayBytes(lastLevelCacheBytes: 32 << 20, usableMemory: nil) == 256 << 20)
        #expect(BandwidthBenchmark.defaultArrayBytes(lastLevelCacheBytes: 96 << 20, usableMemory: nil) == 768 << 20)
        // A 1 GiB device keeps the four arrays within a quarter of its memory.
        #expect(BandwidthBenchmark.defaultArrayBytes(lastLevelCacheBytes: 2 << 20, usableMemory: 1 << 30) == 64 << 20)
    }
}
