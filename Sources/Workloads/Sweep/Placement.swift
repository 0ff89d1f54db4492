import DeviceProbe
import Foundation
import Worker

/// Which CPUs a run's threads are pinned to, chosen from the probed topology.
public enum Placement: Sendable, Equatable {
    /// No pinning: the OS schedules the threads.
    case none
    /// Fill cores one after another, SMT siblings together.
    case compact
    /// One thread per core first, SMT siblings after (the probe's spread order).
    case spread
    /// One thread per physical core, never two on one core.
    case physicalOnly
    /// The fastest core kind of a hybrid CPU, one thread per core (all cores on a non-hybrid CPU).
    case performanceCores
    case numaNode(Int)
    case cpus([Int])

    public init?(_ text: String) {
        switch text {
        case "none": self = .none
        case "compact": self = .compact
        case "spread": self = .spread
        case "physical-only": self = .physicalOnly
        case "performance-cores": self = .performanceCores
        default:
            if text.hasPrefix("numa-node:"), let n = Int(text.dropFirst("numa-node:".count)), n >= 0 { self = .numaNode(n); return }
            let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
            let list = parts.map { $0! }
            guard Set(list).count == list.count else { return nil }
            self = .cpus(list)
        }
    }

    /// The CPUs for `threads` threads, or why this machine cannot place them so.
    public func cpus(threads: Int, on machine: PlacementTopology) -> Result<[Int], PlacementProblem> {
        func take(_ order: [Int], _ what: String) -> Result<[Int], PlacementProblem> {
            let usable = order.filter(machine.allowed.contains)
            guard usable.count >= threads else {
                return .failure(PlacementProblem("\(threads) threads need \(threads) \(what); this machine offers \(usable.count)"))
            }
            return .success(Array(usable.prefix(threads)))
        }
        switch self {
        case .none: return .success([])
        case .compact: return take(machine.cores.flatMap { $0 }, "logical CPUs")
        case .spread: return take(machine.spreadOrder, "logical CPUs")
        case .physicalOnly: return take(machine.cores.compactMap(\.first), "physical cores")
        case .performanceCores:
            let fast = machine.performanceCPUs
            return take(machine.cores.compactMap(\.first).filter { fast.isEmpty || fast.contains($0) }, "performance cores")
        case let .numaNode(n):
            guard let node = machine.numaNodes[n] else {
                return .failure(PlacementProblem("NUMA node \(n) does not exist; nodes: \(machine.numaNodes.keys.sorted().map(String.init).joined(separator: ", "))"))
            }
            return take(machine.spreadOrder.filter(node.contains), "CPUs on NUMA node \(n)")
        case let .cpus(list):
            let missing = list.filter { !machine.allowed.contains($0) }
            guard missing.isEmpty else {
                return .failure(PlacementProblem("CPUs \(missing.map(String.init).joined(separator: ",")) are not usable here (usable: \(machine.allowed.sorted().map(String.init).joined(separator: ",")))"))
            }
            return take(list, "listed CPUs")
        }
    }
}

public struct PlacementProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// The parts of a hardware profile that placement needs.
public struct PlacementTopology: Sendable, Equatable {
    /// Logical CPUs of each physical core, cores in topology order.
    public var cores: [[Int]]
    public var allowed: Set<Int>
    /// CPUs of the fastest core kind on a hybrid CPU (empty when all cores are alike).
    public var performanceCPUs: Set<Int>
    public var numaNodes: [Int: Set<Int>]

    public init(cores: [[Int]], allowed: Set<Int>, performanceCPUs: Set<Int> = [], numaNodes: [Int: Set<Int>] = [:]) {
        self.cores = cores; self.allowed = allowed; self.performanceCPUs = performanceCPUs; self.numaNodes = numaNodes
    }

    /// One CPU of every core first, then the second siblings, and so on.
    public var spreadOrder: [Int] {
        let depth = cores.map(\.count).max() ?? 0
        return (0..<depth).flatMap { sibling in cores.compactMap { sibling < $0.count ? $0[sibling] : nil } }
    }

    public init(profile p: HardwareProfile) {
        var cores: [[Int]] = []
        func walk(_ node: TopologyNode) {
            if node.type == "Core" {
                var pus: [Int] = []
                func collect(_ n: TopologyNode) { if n.type == "PU" { pus.append(n.index) } else { n.children.forEach(collect) } }
                collect(node)
                cores.append(pus.sorted())
            } else { node.children.forEach(walk) }
        }
        if let tree = p.topology { walk(tree) }
        if cores.isEmpty { cores = (0..<p.cpu.logicalCPUs).map { [$0] } }
        let all = Set(cores.flatMap { $0 })
        let allowed = p.limits.map { Set($0.affinityCPUs) }.flatMap { $0.isEmpty ? nil : $0 } ?? all
        var fast: Set<Int> = []
        if p.cpu.kinds.count > 1, let best = p.cpu.kinds.max(by: { ($0.efficiency ?? 0) < ($1.efficiency ?? 0) }) { fast = Set(best.cpus) }
        var nodes: [Int: Set<Int>] = [:]
        for node in p.numa?.nodes ?? [] { nodes[node.id] = Set(node.cpus) }
        if nodes.isEmpty { nodes[0] = all }
        self.init(cores: cores, allowed: allowed, performanceCPUs: fast, numaNodes: nodes)
    }
}
