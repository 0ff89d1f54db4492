/// What a machine offers a model: cores, caches, ISA, NUMA, usable resources and measured
/// bandwidth and compute. Probed on this machine (`measured == true`) or written from public
/// specs for a device not at hand (`measured == false`, with `sources`).
///
/// The JSON form is versioned (`schemaVersion`) and documented in docs/hardware-profile.md;
/// docs/hardware-profile.schema.json is its JSON Schema.
public struct HardwareProfile: Codable, Sendable, Equatable {
    /// Bumped on any change that an older reader would misread.
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    /// Short name: the host name for probed profiles, a slug for library devices.
    public var name: String
    /// True when slmbench measured this machine; false for a profile written from specs.
    public var measured: Bool
    /// ISO-8601 time of the probe (nil for spec profiles).
    public var probedAt: String?
    /// slmbench version and build configuration that wrote the profile.
    public var producer: String?
    /// Stable hash of the properties that make results comparable; see `Fingerprint`.
    public var fingerprint: String
    public var cpu: CPU
    public var caches: [Cache]
    public var isa: ISA
    public var numa: NUMA?
    public var limits: Limits?
    public var memory: Memory
    public var frequency: Frequency?
    public var system: System?
    public var bandwidth: Bandwidth?
    /// Compact topology tree (Machine → Package → caches → Core → PU), as hwloc sees it.
    public var topology: TopologyNode?
    /// Device economics for the cost model (spec profiles; optional for probed ones).
    public var economics: Economics?
    /// What could not be read, keyed by field path, with the reason. Probing never fails hard.
    public var unavailable: [String: String]
    /// Where each spec figure came from, keyed by field path (required when `measured == false`).
    public var sources: [String: String]
    /// Free-form remarks (quirks found while probing, caveats of a spec).
    public var notes: [String]

    public init(
        name: String, measured: Bool, probedAt: String? = nil, producer: String? = nil,
        cpu: CPU, caches: [Cache], isa: ISA, numa: NUMA? = nil, limits: Limits? = nil,
        memory: Memory, frequency: Frequency? = nil, system: System? = nil,
        bandwidth: Bandwidth? = nil, topology: TopologyNode? = nil, economics: Economics? = nil,
        unavailable: [String: String] = [:], sources: [String: String] = [:], notes: [String] = []
    ) {
        self.schemaVersion = Self.currentSchemaVersion
        self.name = name
        self.measured = measured
        self.probedAt = probedAt
        self.producer = producer
        self.fingerprint = ""
        self.cpu = cpu
        self.caches = caches
        self.isa = isa
        self.numa = numa
        self.limits = limits
        self.memory = memory
        self.frequency = frequency
        self.system = system
        self.bandwidth = bandwidth
        self.topology = topology
        self.economics = economics
        self.unavailable = unavailable
        self.sources = sources
        self.notes = notes
        self.fingerprint = Fingerprint.of(self)
    }

    /// CPU identity and core counts.
    public struct CPU: Codable, Sendable, Equatable {
        public var vendor: String
        public var model: String
        /// `x86_64`, `aarch64`, …
        public var architecture: String
        public var packages: Int
        public var physicalCores: Int
        public var logicalCPUs: Int
        /// Logical CPUs per physical core (1 without SMT).
        public var threadsPerCore: Int
        /// Hybrid core kinds, least efficient (highest performance) last as hwloc ranks them.
        /// Empty when the machine has one kind or the kinds could not be read.
        public var kinds: [CoreKind]

        public init(vendor: String, model: String, architecture: String, packages: Int,
                    physicalCores: Int, logicalCPUs: Int, threadsPerCore: Int, kinds: [CoreKind] = []) {
            self.vendor = vendor; self.model = model; self.architecture = architecture
            self.packages = packages; self.physicalCores = physicalCores
            self.logicalCPUs = logicalCPUs; self.threadsPerCore = threadsPerCore; self.kinds = kinds
        }
    }

    /// One kind of core on a hybrid CPU (e.g. performance and efficiency cores).
    public struct CoreKind: Codable, Sendable, Equatable {
        /// hwloc's efficiency rank: 0 is the most energy-efficient kind, higher ranks are faster.
        /// nil when the OS gives kinds but no ranking.
        public var efficiency: Int?
        /// `CoreType` info from hwloc where given (`IntelAtom`, `IntelCore`, ARM part names…).
        public var coreType: String?
        public var cpus: [Int]
        public var maxFrequencyMHz: Int?

        public init(efficiency: Int?, coreType: String?, cpus: [Int], maxFrequencyMHz: Int?) {
            self.efficiency = efficiency; self.coreType = coreType; self.cpus = cpus
            self.maxFrequencyMHz = maxFrequencyMHz
        }
    }

    /// One cache level and kind, with how many instances exist and which CPUs share each.
    public struct Cache: Codable, Sendable, Equatable {
        public var level: Int
        /// `data`, `instruction` or `unified`.
        public var type: String
        public var sizeBytes: Int
        public var lineBytes: Int?
        /// Ways of associativity; 0 means fully associative; nil when unknown.
        public var associativity: Int?
        public var instances: Int
        /// For each instance, the logical CPUs (OS indexes) that share it.
        public var sharedBy: [[Int]]

        public init(level: Int, type: String, sizeBytes: Int, lineBytes: Int?, associativity: Int?,
                    instances: Int, sharedBy: [[Int]]) {
            self.level = level; self.type = type; self.sizeBytes = sizeBytes
            self.lineBytes = lineBytes; self.associativity = associativity
            self.instances = instances; self.sharedBy = sharedBy
        }
    }

    /// Instruction-set features that matter for inference kernels.
    public struct ISA: Codable, Sendable, Equatable {
        /// Normalised feature names (see `ISAFeature`), sorted.
        public var features: [String]
        /// Widest SIMD register width the CPU and OS can use, in bits.
        public var vectorWidthBits: Int
        /// SVE vector length in bits where SVE is present and the length readable.
        public var sveVectorBits: Int?

        public init(features: [String], vectorWidthBits: Int, sveVectorBits: Int? = nil) {
            self.features = features.sorted(); self.vectorWidthBits = vectorWidthBits
            self.sveVectorBits = sveVectorBits
        }
        public func has(_ feature: ISAFeature) -> Bool { features.contains(feature.rawValue) }
    }

    /// NUMA layout from libnuma and hwloc.
    public struct NUMA: Codable, Sendable, Equatable {
        public var nodes: [Node]
        /// `distances[i][j]`: ACPI SLIT distance from node i to node j (10 = local).
        public var distances: [[Int]]
        /// True when more than one node exists and libnuma can place memory on them.
        public var usable: Bool

        public struct Node: Codable, Sendable, Equatable {
            public var id: Int
            public var cpus: [Int]
            public var memoryBytes: Int?
            public init(id: Int, cpus: [Int], memoryBytes: Int?) {
                self.id = id; self.cpus = cpus; self.memoryBytes = memoryBytes
            }
        }
        public init(nodes: [Node], distances: [[Int]], usable: Bool) {
            self.nodes = nodes; self.distances = distances; self.usable = usable
        }
    }

    /// What this process may actually use: affinity and cgroup limits.
    public struct Limits: Codable, Sendable, Equatable {
        /// CPUs in the process's affinity mask (OS indexes).
        public var affinityCPUs: [Int]
        /// 1 or 2; nil when no cgroup hierarchy was found.
        public var cgroupVersion: Int?
        /// cgroup CPU bandwidth quota in CPUs (quota ÷ period); nil when unlimited.
        public var cgroupCPUQuota: Double?
        /// cgroup memory limit in bytes; nil when unlimited.
        public var cgroupMemoryLimitBytes: Int?
        /// CPUs a run can keep busy: the affinity count, lowered by the CPU quota (rounded down, at least 1).
        public var usableCPUs: Int

        public init(affinityCPUs: [Int], cgroupVersion: Int?, cgroupCPUQuota: Double?,
                    cgroupMemoryLimitBytes: Int?, usableCPUs: Int) {
            self.affinityCPUs = affinityCPUs; self.cgroupVersion = cgroupVersion
            self.cgroupCPUQuota = cgroupCPUQuota; self.cgroupMemoryLimitBytes = cgroupMemoryLimitBytes
            self.usableCPUs = usableCPUs
        }
    }

    /// Memory sizes. `usableBytes` is what a run may allocate: available memory, lowered by a cgroup limit.
    public struct Memory: Codable, Sendable, Equatable {
        public var totalBytes: Int
        public var availableBytes: Int?
        public var usableBytes: Int?
        /// RAM technology and bus, for spec profiles (`LPDDR5X-7500 128-bit`).
        public var type: String?
        /// Theoretical peak bandwidth from the memory spec, GB/s (10^9 bytes/s).
        public var theoreticalBandwidthGBps: Double?

        public init(totalBytes: Int, availableBytes: Int? = nil, usableBytes: Int? = nil,
                    type: String? = nil, theoreticalBandwidthGBps: Double? = nil) {
            self.totalBytes = totalBytes; self.availableBytes = availableBytes
            self.usableBytes = usableBytes; self.type = type
            self.theoreticalBandwidthGBps = theoreticalBandwidthGBps
        }
    }

    /// CPU frequency scaling state of CPU 0 (cpufreq).
    public struct Frequency: Codable, Sendable, Equatable {
        public var governor: String?
        public var driver: String?
        public var minMHz: Int?
        public var maxMHz: Int?
        public var currentMHz: Int?
        public init(governor: String?, driver: String?, minMHz: Int?, maxMHz: Int?, currentMHz: Int?) {
            self.governor = governor; self.driver = driver; self.minMHz = minMHz
            self.maxMHz = maxMHz; self.currentMHz = currentMHz
        }
    }

    /// Operating system facts.
    public struct System: Codable, Sendable, Equatable {
        public var os: String?
        public var kernel: String?
        public var hostname: String?
        /// Hypervisor vendor when the CPU reports one (`hypervisor` flag / DMI).
        public var virtualization: String?
        public var hwlocVersion: String?
        public init(os: String?, kernel: String?, hostname: String?, virtualization: String?,
                    hwlocVersion: String?) {
            self.os = os; self.kernel = kernel; self.hostname = hostname
            self.virtualization = virtualization; self.hwlocVersion = hwlocVersion
        }
    }

    /// Measured memory bandwidth and peak compute, per thread count.
    public struct Bandwidth: Codable, Sendable, Equatable {
        /// How the figures were obtained, in words (kernel, array sizes, trials, pinning).
        public var method: String
        /// ISA of the kernels that ran (`avx2`, `neon`, `scalar`, or `published` for specs).
        public var kernelISA: String
        /// Bytes per array for the streaming kernels.
        public var arrayBytes: Int?
        public var trials: Int?
        public var points: [Point]

        /// Figures at one thread count. GB/s and GFLOPS use 10^9.
        public struct Point: Codable, Sendable, Equatable {
            public var threads: Int
            /// CPUs the threads were pinned to, in thread order.
            public var cpus: [Int]
            public var readGBps: Stat?
            public var triadGBps: Stat?
            public var fmaGFLOPS: Stat?
            public var int8GOPS: Stat?
            public init(threads: Int, cpus: [Int], readGBps: Stat? = nil, triadGBps: Stat? = nil,
                        fmaGFLOPS: Stat? = nil, int8GOPS: Stat? = nil) {
                self.threads = threads; self.cpus = cpus; self.readGBps = readGBps
                self.triadGBps = triadGBps; self.fmaGFLOPS = fmaGFLOPS; self.int8GOPS = int8GOPS
            }
        }

        /// Best and median over trials.
        public struct Stat: Codable, Sendable, Equatable {
            public var best: Double
            public var median: Double
            public init(best: Double, median: Double) { self.best = best; self.median = median }
        }

        public init(method: String, kernelISA: String, arrayBytes: Int?, trials: Int?, points: [Point]) {
            self.method = method; self.kernelISA = kernelISA; self.arrayBytes = arrayBytes
            self.trials = trials; self.points = points
        }

        /// The point with the most threads (the machine's full capability as measured).
        public var widest: Point? { points.max { $0.threads < $1.threads } }
    }

    /// Purchase and power figures for the cost model.
    public struct Economics: Codable, Sendable, Equatable {
        /// Purchase price of the device.
        public var priceUSD: Double?
        /// Rental price per hour, for cloud machines.
        public var hourlyPriceUSD: Double?
        public var idleWatts: Double?
        /// Power under inference load (whole device or package, as the source says).
        public var loadWatts: Double?
        public init(priceUSD: Double?, hourlyPriceUSD: Double? = nil, idleWatts: Double?, loadWatts: Double?) {
            self.priceUSD = priceUSD; self.hourlyPriceUSD = hourlyPriceUSD
            self.idleWatts = idleWatts; self.loadWatts = loadWatts
        }
    }
}

/// A node of the topology tree.
public struct TopologyNode: Codable, Sendable, Equatable {
    /// hwloc type name: Machine, Package, NUMANode, L3Cache, Core, PU, …
    public var type: String
    /// OS index where meaningful (PU, NUMANode), else the logical index.
    public var index: Int
    /// Size in bytes for caches and NUMA nodes.
    public var sizeBytes: Int?
    public var children: [TopologyNode]

    public init(type: String, index: Int, sizeBytes: Int? = nil, children: [TopologyNode] = []) {
        self.type = type; self.index = index; self.sizeBytes = sizeBytes; self.children = children
    }
}
