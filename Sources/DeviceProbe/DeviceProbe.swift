import CProbeKernels
import Foundation

/// What to probe and where to read it from.
public struct ProbeOptions: Sendable {
    /// Root of the `/proc` and `/sys` files (a fixture folder in tests).
    public var files: SystemFiles
    /// The hwloc topology source (synthetic or XML in tests).
    public var topology: HwlocTopology.Source
    /// Bandwidth and compute measurement; nil skips it.
    public var bandwidth: BandwidthOptions?
    /// Profile name; nil uses the host name.
    public var name: String?
    /// Who wrote the profile (version and build configuration).
    public var producer: String?

    public init(files: SystemFiles = SystemFiles(), topology: HwlocTopology.Source = .system,
                bandwidth: BandwidthOptions? = nil, name: String? = nil, producer: String? = nil) {
        self.files = files; self.topology = topology; self.bandwidth = bandwidth
        self.name = name; self.producer = producer
    }

    /// True when every source is the running machine (so libnuma and affinity calls apply).
    var isLive: Bool { files.isLive && topology == .system }
}

/// Probes the machine into a `HardwareProfile`.
///
/// Only bad options throw. Every capability that cannot be read is left nil (or empty) and
/// recorded in `unavailable` with the reason.
public enum DeviceProbe {
    public static func probe(_ options: ProbeOptions = ProbeOptions(),
                             progress: (String) -> Void = { _ in }) throws(ProbeError) -> HardwareProfile {
        let files = options.files
        var unavailable: [String: String] = [:]
        var notes: [String] = []

        // CPU identity and ISA from /proc/cpuinfo.
        let board = (try? files.read("/sys/firmware/devicetree/base/model"))
            .map { $0.replacingOccurrences(of: "\0", with: "").trimmingWhitespace() }
        var cpuInfo = CPUInfo(vendor: "unknown", model: "unknown", flags: [], features: [])
        do { cpuInfo = CPUInfo.parse(try files.read("/proc/cpuinfo"), boardModel: board) } catch {
            unavailable["cpu.model"] = error.description
            unavailable["isa"] = error.description
        }
        var sveBits: Int?
        if cpuInfo.features.contains(.sve) {
            do { sveBits = try files.integer("/proc/sys/abi/sve_default_vector_length", field: "SVE length") * 8 } catch {
                unavailable["isa.sveVectorBits"] = error.description
            }
        }
        let isa = HardwareProfile.ISA(
            features: cpuInfo.features.map(\.rawValue),
            vectorWidthBits: CPUInfo.vectorWidth(features: cpuInfo.features, sveBits: sveBits),
            sveVectorBits: sveBits)

        // Topology from hwloc.
        var topology: HwlocTopology?
        do { topology = try HwlocTopology(options.topology) } catch {
            if case .invalidOption = error { throw error }
            unavailable["topology"] = error.description
        }
        let logical = topology?.logicalCPUs ?? max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let cores = topology?.physicalCores ?? logical
        var kinds: [HardwareProfile.CoreKind] = []
        if let topology {
            switch topology.coreKinds() {
            case let .success(found): kinds = found
            case let .failure(error): unavailable["cpu.kinds"] = error.description
            }
        }
        let cpu = HardwareProfile.CPU(
            vendor: cpuInfo.vendor, model: cpuInfo.model,
            architecture: options.isLive ? hostArchitecture : inferredArchitecture(cpuInfo),
            packages: topology?.packages ?? 1, physicalCores: cores, logicalCPUs: logical,
            threadsPerCore: max(1, (logical + cores - 1) / max(1, cores)), kinds: kinds)
        let caches = topology?.caches() ?? []
        if caches.isEmpty { unavailable["caches"] = unavailable["topology"] ?? "hwloc reports no caches" }

        // Memory, limits and affinity.
        let limitsReader = ResourceLimitsReader(files: files)
        var memory = HardwareProfile.Memory(totalBytes: 0)
        do {
            let info = try limitsReader.meminfo()
            memory.totalBytes = info.total
            memory.availableBytes = info.available
        } catch { unavailable["memory"] = error.description }
        var cgroup: ResourceLimitsReader.CgroupLimits?
        do { cgroup = try limitsReader.cgroupLimits() } catch { unavailable["limits.cgroup"] = error.description }
        var affinity: [Int] = []
        do {
            if options.isLive, let topology { affinity = try topology.processAffinity() }
            else { affinity = try limitsReader.statusAffinity() }
        } catch {
            unavailable["limits.affinityCPUs"] = error.description
            affinity = Array(0..<logical)
        }
        let usableCPUs = ResourceLimitsReader.usableCPUs(affinity: affinity.count, quota: cgroup?.cpuQuota)
        memory.usableBytes = ResourceLimitsReader.usableMemory(
            available: memory.availableBytes, limit: cgroup?.memoryLimitBytes, usage: cgroup?.memoryUsageBytes)
        let limits = HardwareProfile.Limits(
            affinityCPUs: affinity, cgroupVersion: cgroup?.version, cgroupCPUQuota: cgroup?.cpuQuota,
            cgroupMemoryLimitBytes: cgroup?.memoryLimitBytes, usableCPUs: usableCPUs)
        if usableCPUs < logical {
            notes.append("this process may use \(usableCPUs) of \(logical) logical CPUs (affinity and cgroup quota)")
        }

        // NUMA: nodes from hwloc; distances from libnuma on the live system, else from the topology.
        var numa: HardwareProfile.NUMA?
        if let topology {
            let nodes = topology.numaNodes()
            var distances: [[Int]] = []
            if options.isLive {
                do { distances = try NumaLibrary.distances() } catch {
                    unavailable["numa.distances"] = error.description
                }
            } else if let recorded = topology.numaDistances() {
                distances = recorded
            } else {
                unavailable["numa.distances"] = "the \(options.topology) topology records no NUMA distances"
            }
            let usable = nodes.count > 1 && (!options.isLive || NumaLibrary.isAvailable)
            numa = .init(nodes: nodes, distances: distances, usable: usable)
            let nodeMemory = nodes.compactMap(\.memoryBytes).reduce(0, +)
            if nodeMemory > 0, memory.totalBytes > 0,
               abs(Double(nodeMemory - memory.totalBytes)) > 0.1 * Double(memory.totalBytes) {
                notes.append("""
                    NUMA nodes account for \(formatBytes(nodeMemory)) but the kernel reports \
                    \(formatBytes(memory.totalBytes)) in total (memory hot-plugged outside the node \
                    accounting, common in VMs); usable memory follows /proc/meminfo
                    """)
            }
        }

        // Frequency and system.
        var frequency: HardwareProfile.Frequency?
        do { frequency = try FrequencyReader(files: files).read() } catch { unavailable["frequency"] = error.description }
        if frequency?.governor == "powersave" {
            notes.append("WARNING: the CPU frequency governor is 'powersave'; speeds will be understated (use 'performance' for benchmarking)")
        }
        let system = SystemInfoReader(files: files).read(
            cpuFlags: cpuInfo.flags, cpuidVendor: options.isLive ? hypervisorSignature() : nil)

        // Bandwidth and compute, pinned to the CPUs this process may use, spread over cores first.
        var bandwidth: HardwareProfile.Bandwidth?
        if let bandwidthOptions = options.bandwidth {
            let order = (topology?.spreadCPUOrder ?? affinity).filter(affinity.contains)
            let cpusForRun = Array(order.prefix(usableCPUs))
            let llc = caches.filter { $0.type != "instruction" }.max { $0.level < $1.level }
            bandwidth = try BandwidthBenchmark.run(
                topology: options.isLive ? topology : nil, cpuOrder: cpusForRun,
                lastLevelCacheBytes: llc.map { $0.sizeBytes * $0.instances } ?? 32 << 20,
                usableMemory: memory.usableBytes, options: bandwidthOptions, progress: progress)
        }

        return HardwareProfile(
            name: options.name ?? system.hostname ?? "unknown-host", measured: true,
            probedAt: ISO8601DateFormatter().string(from: Date()), producer: options.producer,
            cpu: cpu, caches: caches, isa: isa, numa: numa, limits: limits, memory: memory,
            frequency: frequency, system: system, bandwidth: bandwidth, topology: topology?.tree(),
            unavailable: unavailable, notes: notes)
    }

    static func hypervisorSignature() -> String? {
        var buffer = [CChar](repeating: 0, count: 16)
        guard slm_hypervisor_vendor(&buffer) != 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    static var hostArchitecture: String {
        #if arch(x86_64)
        return "x86_64"
        #elseif arch(arm64)
        return "aarch64"
        #else
        return "unknown"
        #endif
    }

    static func inferredArchitecture(_ info: CPUInfo) -> String {
        if info.flags.contains("lm") || info.flags.contains("sse2") { return "x86_64" }
        if info.flags.contains("asimd") || info.flags.contains("fp") { return "aarch64" }
        return "unknown"
    }
}

/// Bytes in binary units with one decimal ("23.5 GiB").
public func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    if unit == 0 { return "\(bytes) B" }
    let rounded = (value * 10).rounded() / 10
    return rounded == rounded.rounded() ? "\(Int(rounded)) \(units[unit])" : "\(rounded) \(units[unit])"
}
