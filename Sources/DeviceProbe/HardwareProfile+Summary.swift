/// The human summary `slmbench probe` prints: identity, a table of facts, a topology tree
/// in the manner of lstopo, the bandwidth table, and what could not be read.
extension HardwareProfile {
    public func summary() -> String {
        var out: [String] = []
        out.append("\(name) — fingerprint \(fingerprint) (profile schema v\(schemaVersion)\(measured ? "" : ", from specs"))")
        out.append("")
        var rows: [(String, String)] = []
        let smt = cpu.threadsPerCore > 1 ? "SMT \(cpu.threadsPerCore)-way" : "no SMT"
        rows.append(("CPU", "\(cpu.model) (\(cpu.vendor), \(cpu.architecture))"))
        rows.append(("Cores", "\(cpu.packages) package\(cpu.packages == 1 ? "" : "s"), \(cpu.physicalCores) cores, \(cpu.logicalCPUs) logical CPUs, \(smt)"))
        for kind in cpu.kinds {
            let rank = kind.efficiency.map { "efficiency rank \($0)" } ?? "unranked"
            let freq = kind.maxFrequencyMHz.map { ", up to \($0) MHz" } ?? ""
            rows.append(("  kind", "\(kind.coreType ?? "cores") on CPUs \(formatCPUList(kind.cpus)) (\(rank)\(freq))"))
        }
        let sve = isa.sveVectorBits.map { ", SVE \($0)-bit" } ?? ""
        rows.append(("ISA", (isa.features.isEmpty ? "(none detected)" : isa.features.joined(separator: " ")) + " — widest vector \(isa.vectorWidthBits) bits\(sve)"))
        for cache in caches {
            let kind = cache.type == "data" ? "d" : cache.type == "instruction" ? "i" : ""
            var details: [String] = []
            let sharing = cache.sharedBy.first?.count ?? 0
            details.append(sharing <= 1 ? "per CPU" : "shared by \(sharing) CPUs")
            if let line = cache.lineBytes { details.append("\(line) B lines") }
            if let ways = cache.associativity { details.append(ways == 0 ? "fully associative" : "\(ways)-way") }
            rows.append(("L\(cache.level)\(kind)", "\(formatBytes(cache.sizeBytes)) × \(cache.instances) (\(details.joined(separator: ", ")))"))
        }
        var mem = "\(formatBytes(memory.totalBytes)) total"
        if let available = memory.availableBytes { mem += ", \(formatBytes(available)) available" }
        if let usable = memory.usableBytes { mem += ", \(formatBytes(usable)) usable" }
        if let type = memory.type { mem += ", \(type)" }
        if let peak = memory.theoreticalBandwidthGBps { mem += ", \(format(peak)) GB/s theoretical" }
        rows.append(("Memory", mem))
        if let numa {
            let nodes = numa.nodes.map { node in
                "node \(node.id): CPUs \(formatCPUList(node.cpus))" + (node.memoryBytes.map { ", \(formatBytes($0))" } ?? "")
            }.joined(separator: "; ")
            rows.append(("NUMA", "\(numa.nodes.count) node\(numa.nodes.count == 1 ? "" : "s") (\(numa.usable ? "placement usable" : "no placement choice")) — \(nodes)"))
            if numa.distances.count > 1 {
                rows.append(("  distances", numa.distances.map { $0.map(String.init).joined(separator: " ") }.joined(separator: " | ")))
            }
        }
        if let limits {
            var text = "affinity CPUs \(formatCPUList(limits.affinityCPUs))"
            if let version = limits.cgroupVersion {
                text += "; cgroup v\(version), "
                text += limits.cgroupCPUQuota.map { "CPU quota \(format($0))" } ?? "no CPU quota"
                text += limits.cgroupMemoryLimitBytes.map { ", memory limit \(formatBytes($0))" } ?? ", no memory limit"
            }
            text += " → \(limits.usableCPUs) usable CPU\(limits.usableCPUs == 1 ? "" : "s")"
            rows.append(("Limits", text))
        }
        if let frequency {
            var parts: [String] = []
            if let g = frequency.governor { parts.append("governor \(g)") }
            if let d = frequency.driver { parts.append("driver \(d)") }
            if let lo = frequency.minMHz, let hi = frequency.maxMHz { parts.append("\(lo)–\(hi) MHz") }
            if let cur = frequency.currentMHz { parts.append("now \(cur) MHz") }
            rows.append(("Frequency", parts.joined(separator: ", ")))
        }
        if let system {
            let parts = [system.os, system.kernel.map { "kernel \($0)" }, system.virtualization.map { "virtualised: \($0)" },
                         system.hwlocVersion.map { "hwloc \($0)" }].compactMap { $0 }
            rows.append(("System", parts.joined(separator: ", ")))
        }
        if let economics {
            let parts = [economics.priceUSD.map { "$\(format($0))" },
                         economics.hourlyPriceUSD.map { "$\(format($0))/h" },
                         economics.idleWatts.map { "\(format($0)) W idle" },
                         economics.loadWatts.map { "\(format($0)) W load" }].compactMap { $0 }
            rows.append(("Economics", parts.joined(separator: ", ")))
        }
        let width = rows.map(\.0.count).max() ?? 0
        out += rows.map { $0.0.padding(toLength: width + 2) + $0.1 }

        if let topology {
            out.append("")
            out.append("Topology")
            out += Self.treeLines(topology, indent: "  ")
        }
        if let bandwidth {
            out.append("")
            var header = "Bandwidth and compute (\(bandwidth.kernelISA) kernels"
            if let trials = bandwidth.trials { header += ", \(trials) trials" }
            if let bytes = bandwidth.arrayBytes { header += ", \(formatBytes(bytes)) arrays" }
            out.append(header + "; best / median)")
            let table: [[String]] = [["threads", "CPUs", "read GB/s", "triad GB/s", "f32 GFLOPS", "int8 GOPS"]]
                + bandwidth.points.map { p in
                    [String(p.threads), formatCPUList(p.cpus), stat(p.readGBps), stat(p.triadGBps),
                     stat(p.fmaGFLOPS), stat(p.int8GOPS)]
                }
            let widths = (0..<table[0].count).map { c in table.map { $0[c].count }.max() ?? 0 }
            for row in table {
                out.append("  " + zip(row, widths).map { $0.padding(toLength: $1 + 2) }.joined().trimmingWhitespace())
            }
        }
        if !unavailable.isEmpty {
            out.append("")
            out.append("Not available")
            for key in unavailable.keys.sorted() { out.append("  \(key): \(unavailable[key]!)") }
        }
        if !notes.isEmpty {
            out.append("")
            out.append("Notes")
            for note in notes { out.append("  - \(note)") }
        }
        if !sources.isEmpty {
            out.append("")
            out.append("Sources")
            for key in sources.keys.sorted() { out.append("  \(key): \(sources[key]!)") }
        }
        return out.joined(separator: "\n")
    }

    private func stat(_ s: Bandwidth.Stat?) -> String {
        guard let s else { return "-" }
        return "\(format(s.best)) / \(format(s.median))"
    }

    /// lstopo-style lines: a chain of single children is joined with " + " on one line.
    static func treeLines(_ node: TopologyNode, indent: String) -> [String] {
        var chain = [node]
        var last = node
        while last.children.count == 1 {
            last = last.children[0]
            chain.append(last)
        }
        let text = chain.map(label).joined(separator: " + ")
        return [indent + text] + last.children.flatMap { treeLines($0, indent: indent + "  ") }
    }

    static func label(_ node: TopologyNode) -> String {
        let index = ["Machine"].contains(node.type) ? "" : (node.type == "PU" || node.type == "NUMANode" ? " P#\(node.index)" : " L#\(node.index)")
        let size = node.sizeBytes.flatMap { $0 > 0 ? " (\(formatBytes($0)))" : nil } ?? ""
        return node.type + index + size
    }
}

/// Two significant decimals for small values, one for tens, none for hundreds and above.
func format(_ value: Double) -> String {
    let decimals = value >= 100 ? 0 : value >= 10 ? 1 : 2
    var text = String(value.rounded(toPlaces: decimals))
    if decimals == 0, text.hasSuffix(".0") { text.removeLast(2) }
    return text
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}
