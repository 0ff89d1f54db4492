import CNuma

/// What libnuma reports about the running system's NUMA nodes.
public enum NumaLibrary {
    /// True when the kernel supports the NUMA policy calls libnuma needs.
    public static var isAvailable: Bool { numa_available() >= 0 }

    /// Node distance matrix for nodes 0…max, ordered by node number (10 = local).
    public static func distances() throws(ProbeError) -> [[Int]] {
        guard isAvailable else {
            throw .unsupported("libnuma reports no NUMA support in this kernel (numa_available() < 0)")
        }
        let maxNode = Int(numa_max_node())
        let nodes = (0...maxNode).filter { CNuma_node_is_present(Int32($0)) != 0 }
        return nodes.map { i in nodes.map { j in Int(numa_distance(Int32(i), Int32(j))) } }
    }

    /// Memory size of each node in bytes, as libnuma reports it.
    public static func nodeSizes() -> [Int: Int] {
        guard isAvailable else { return [:] }
        var sizes: [Int: Int] = [:]
        for node in 0...Int(numa_max_node()) where CNuma_node_is_present(Int32(node)) != 0 {
            let size = numa_node_size64(Int32(node), nil)
            if size > 0 { sizes[node] = Int(size) }
        }
        return sizes
    }
}
