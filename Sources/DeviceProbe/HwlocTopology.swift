import CHwloc
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An hwloc topology: the live machine, a synthetic description, or an XML export.
///
/// hwloc documents a loaded topology as safe for concurrent read-only use (including
/// binding calls), which is how the bandwidth benchmark's pinned threads use it.
public final class HwlocTopology: @unchecked Sendable {
    /// Where the topology comes from.
    public enum Source: Sendable, Equatable {
        case system
        /// hwloc synthetic description, e.g. `"pack:2 numa:1 core:4 pu:2"`.
        case synthetic(String)
        /// Path of an hwloc XML export (as `lstopo out.xml` writes).
        case xml(path: String)
    }

    let handle: hwloc_topology_t
    public let source: Source

    public init(_ source: Source = .system) throws(ProbeError) {
        var topology: hwloc_topology_t?
        guard hwloc_topology_init(&topology) == 0, let topology else {
            throw .hwloc(call: "hwloc_topology_init", errno: errno)
        }
        // Instruction caches are filtered out by default; the profile lists every cache.
        hwloc_topology_set_icache_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_ALL)
        switch source {
        case .system:
            break
        case let .synthetic(description):
            guard hwloc_topology_set_synthetic(topology, description) == 0 else {
                hwloc_topology_destroy(topology)
                throw .invalidOption("hwloc rejected the synthetic topology \"\(description)\"")
            }
        case let .xml(path):
            guard hwloc_topology_set_xml(topology, path) == 0 else {
                let code = errno
                hwloc_topology_destroy(topology)
                throw .hwloc(call: "hwloc_topology_set_xml(\(path))", errno: code)
            }
        }
        guard hwloc_topology_load(topology) == 0 else {
            let code = errno
            hwloc_topology_destroy(topology)
            throw .hwloc(call: "hwloc_topology_load", errno: code)
        }
        self.handle = topology
        self.source = source
    }

    deinit { hwloc_topology_destroy(handle) }

    /// hwloc API version of the library this process runs against ("API 2.8"; a 2.9 release
    /// keeps the 2.8 API). hwloc exposes no run-time release number.
    public static var runtimeVersion: String {
        let v = CHwloc_runtime_version()
        return "API \(v >> 16).\((v >> 8) & 0xff)"
    }

    public func count(_ type: hwloc_obj_type_t) -> Int {
        max(0, Int(CHwloc_nbobjs_by_type(handle, type)))
    }

    public var packages: Int { max(1, count(HWLOC_OBJ_PACKAGE)) }
    public var logicalCPUs: Int { count(HWLOC_OBJ_PU) }
    /// Physical cores; machines whose OS reports no cores count one per PU.
    public var physicalCores: Int {
        let cores = count(HWLOC_OBJ_CORE)
        return cores > 0 ? cores : logicalCPUs
    }

    func objects(_ type: hwloc_obj_type_t) -> [hwloc_obj_t] {
        (0..<count(type)).compactMap { CHwloc_obj_by_type(handle, type, UInt32($0)) }
    }

    /// OS indexes of the PUs in a bitmap.
    static func cpus(in bitmap: OpaquePointer?) -> [Int] {
        guard let bitmap else { return [] }
        var result: [Int] = []
        var cpu = CHwloc_bitmap_first(bitmap)
        while cpu >= 0 {
            result.append(Int(cpu))
            cpu = CHwloc_bitmap_next(bitmap, cpu)
        }
        return result
    }

    /// PU OS indexes, ordered to spread threads: one PU of every core (cores in topology
    /// order) before any second SMT sibling.
    public var spreadCPUOrder: [Int] {
        let cores = objects(HWLOC_OBJ_CORE).map { Self.cpus(in: $0.pointee.cpuset) }
        guard !cores.isEmpty else { return objects(HWLOC_OBJ_PU).map { Int($0.pointee.os_index) } }
        let depth = cores.map(\.count).max() ?? 1
        var order: [Int] = []
        for sibling in 0..<depth {
            for core in cores where sibling < core.count { order.append(core[sibling]) }
        }
        return order
    }

    /// Every cache, grouped by level, kind and size (hybrid CPUs have several sizes per level).
    public func caches() -> [HardwareProfile.Cache] {
        let types: [hwloc_obj_type_t] = [
            HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L2ICACHE,
            HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L3ICACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE,
        ]
        var result: [HardwareProfile.Cache] = []
        for type in types {
            var groups: [Int: HardwareProfile.Cache] = [:]
            var order: [Int] = []
            for obj in objects(type) {
                let size = Int(CHwloc_cache_size(obj))
                let assoc = Int(CHwloc_cache_associativity(obj))
                let line = Int(CHwloc_cache_linesize(obj))
                let kind: String
                switch CHwloc_cache_type(obj) {
                case Int32(HWLOC_OBJ_CACHE_DATA.rawValue): kind = "data"
                case Int32(HWLOC_OBJ_CACHE_INSTRUCTION.rawValue): kind = "instruction"
                default: kind = "unified"
                }
                let sharers = Self.cpus(in: obj.pointee.cpuset)
                if var group = groups[size] {
                    group.instances += 1
                    group.sharedBy.append(sharers)
                    groups[size] = group
                } else {
                    order.append(size)
                    groups[size] = HardwareProfile.Cache(
                        level: Int(CHwloc_cache_depth(obj)), type: kind, sizeBytes: size,
                        lineBytes: line > 0 ? line : nil,
                        // hwloc: -1 fully associative, 0 unknown.
                        associativity: assoc == -1 ? 0 : (assoc > 0 ? assoc : nil),
                        instances: 1, sharedBy: [sharers])
                }
            }
            result += order.compactMap { groups[$0] }
        }
        return result
    }

    /// Hybrid core kinds, or why they cannot be read. A machine with one kind returns [].
    public func coreKinds() -> Result<[HardwareProfile.CoreKind], ProbeError> {
        let n = CHwloc_cpukinds_get_nr(handle)
        if n < 0 {
            return CHwloc_has_cpukinds() == 0
                ? .failure(.unsupported("this hwloc (\(Self.runtimeVersion)) has no cpukinds API"))
                : .failure(.hwloc(call: "hwloc_cpukinds_get_nr", errno: errno))
        }
        guard n > 1 else { return .success([]) }
        var kinds: [HardwareProfile.CoreKind] = []
        for index in 0..<UInt32(n) {
            guard let set = hwloc_bitmap_alloc() else {
                return .failure(.hwloc(call: "hwloc_bitmap_alloc", errno: errno))
            }
            defer { hwloc_bitmap_free(set) }
            var efficiency: Int32 = -1
            var infoCount: UInt32 = 0
            var infos: UnsafeMutablePointer<hwloc_info_s>?
            guard CHwloc_cpukinds_get_info(handle, index, set, &efficiency, &infoCount, &infos) == 0 else {
                return .failure(.hwloc(call: "hwloc_cpukinds_get_info(\(index))", errno: errno))
            }
            var info: [String: String] = [:]
            for i in 0..<Int(infoCount) {
                if let name = infos?[i].name, let value = infos?[i].value {
                    info[String(cString: name)] = String(cString: value)
                }
            }
            kinds.append(HardwareProfile.CoreKind(
                efficiency: efficiency >= 0 ? Int(efficiency) : nil,
                coreType: info["CoreType"],
                cpus: Self.cpus(in: set),
                maxFrequencyMHz: info["FrequencyMaxMHz"].flatMap { Int($0) }))
        }
        return .success(kinds)
    }

    /// NUMA nodes with their CPUs and local memory.
    public func numaNodes() -> [HardwareProfile.NUMA.Node] {
        objects(HWLOC_OBJ_NUMANODE).map { obj in
            let memory = Int(CHwloc_numanode_local_memory(obj))
            return .init(id: Int(obj.pointee.os_index), cpus: Self.cpus(in: obj.pointee.cpuset),
                         memoryBytes: memory > 0 ? memory : nil)
        }.sorted { $0.id < $1.id }
    }

    /// NUMA distance matrix recorded in the topology (XML exports carry one), ordered by node
    /// OS index; nil when the topology has none.
    public func numaDistances() -> [[Int]]? {
        var count: UInt32 = 1
        var found: UnsafeMutablePointer<hwloc_distances_s>?
        guard hwloc_distances_get_by_type(handle, HWLOC_OBJ_NUMANODE, &count, &found, 0, 0) == 0,
              count > 0, let distances = found else { return nil }
        defer { hwloc_distances_release(handle, distances) }
        let n = Int(distances.pointee.nbobjs)
        guard let objs = distances.pointee.objs, let values = distances.pointee.values else { return nil }
        let ids = (0..<n).map { Int(objs[$0]?.pointee.os_index ?? UInt32($0)) }
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        return order.map { i in order.map { j in Int(values[i * n + j]) } }
    }

    /// The CPUs this process may run on, as the OS reports its binding.
    public func processAffinity() throws(ProbeError) -> [Int] {
        guard let set = hwloc_bitmap_alloc() else { throw .hwloc(call: "hwloc_bitmap_alloc", errno: errno) }
        defer { hwloc_bitmap_free(set) }
        guard CHwloc_get_process_cpubind(handle, set) == 0 else {
            throw .hwloc(call: "hwloc_get_cpubind", errno: errno)
        }
        return Self.cpus(in: set)
    }

    /// Pins the calling thread to one logical CPU (OS index).
    public func bindCurrentThread(toCPU cpu: Int) throws(ProbeError) {
        guard let set = hwloc_bitmap_alloc() else { throw .hwloc(call: "hwloc_bitmap_alloc", errno: errno) }
        defer { hwloc_bitmap_free(set) }
        hwloc_bitmap_only(set, UInt32(cpu))
        guard CHwloc_set_thread_cpubind(handle, set) == 0 else {
            throw .hwloc(call: "hwloc_set_cpubind(thread, CPU \(cpu))", errno: errno)
        }
    }

    /// The topology as a tree of Machine, Package, NUMANode, caches, Core and PU nodes.
    public func tree() -> TopologyNode {
        node(for: CHwloc_root(handle))
    }

    private func node(for obj: hwloc_obj_t) -> TopologyNode {
        var name = [CChar](repeating: 0, count: 64)
        _ = hwloc_obj_type_snprintf(&name, name.count, obj, 0)
        let type = obj.pointee.type
        var size: Int?
        if CHwloc_obj_type_is_cache(type) != 0 {
            size = Int(CHwloc_cache_size(obj))
        } else if type == HWLOC_OBJ_NUMANODE {
            size = Int(CHwloc_numanode_local_memory(obj))
        }
        let usesOSIndex = type == HWLOC_OBJ_PU || type == HWLOC_OBJ_NUMANODE
        var children: [TopologyNode] = []
        var memory = obj.pointee.memory_first_child
        while let child = memory {
            children.append(node(for: child))
            memory = child.pointee.next_sibling
        }
        for i in 0..<Int(obj.pointee.arity) {
            if let child = obj.pointee.children[i] { children.append(node(for: child)) }
        }
        let nameText = name.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return TopologyNode(
            type: nameText,
            index: Int(usesOSIndex ? obj.pointee.os_index : obj.pointee.logical_index),
            sizeBytes: size, children: children)
    }
}
