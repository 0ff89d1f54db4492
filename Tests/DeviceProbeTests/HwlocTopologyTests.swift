import CHwloc
import DeviceProbe
import Testing

@Suite("hwloc topologies: synthetic, XML, hybrid")
struct HwlocTopologyTests {
    static let twoSocketSMT = "pack:2 numa:1(memory=16GiB) l3:1(size=32MiB) core:4 l2:1(size=1MiB) l1d:1(size=32KiB) pu:2"

    @Test func twoSocketSMTCounts() throws {
        let profile = try DeviceProbe.probe(ProbeOptions(files: Fixture.tree("x86-kvm-cgroup1"), topology: .synthetic(Self.twoSocketSMT)))
        #expect(profile.cpu.packages == 2)
        #expect(profile.cpu.physicalCores == 8)
        #expect(profile.cpu.logicalCPUs == 16)
        #expect(profile.cpu.threadsPerCore == 2)
        let numa = try #require(profile.numa)
        #expect(numa.nodes.map(\.id) == [0, 1])
        #expect(numa.nodes[0].cpus == Array(0...7))
        #expect(numa.nodes[1].cpus == Array(8...15))
        #expect(numa.nodes.allSatisfy { $0.memoryBytes == 16 << 30 })
        #expect(numa.usable)
    }

    @Test func twoSocketCachesAndSharing() throws {
        let topology = try HwlocTopology(.synthetic(Self.twoSocketSMT))
        let caches = topology.caches()
        let l3 = try #require(caches.first { $0.level == 3 })
        #expect(l3.sizeBytes == 32 << 20 && l3.instances == 2)
        #expect(l3.sharedBy == [Array(0...7), Array(8...15)])
        let l2 = try #require(caches.first { $0.level == 2 })
        #expect(l2.instances == 8)
        #expect(l2.sharedBy.allSatisfy { $0.count == 2 })
        let l1 = try #require(caches.first { $0.level == 1 && $0.type == "data" })
        #expect(l1.sizeBytes == 32 << 10)
    }

    @Test func spreadOrderUsesEveryCoreBeforeSMTSiblings() throws {
        let order = try HwlocTopology(.synthetic(Self.twoSocketSMT)).spreadCPUOrder
        #expect(order.count == 16)
        #expect(Array(order.prefix(8)) == [0, 2, 4, 6, 8, 10, 12, 14])
        #expect(Set(order) == Set(0...15))
    }

    @Test func numaDistancesFromXML() throws {
        let profile = try DeviceProbe.probe(ProbeOptions(files: Fixture.tree("x86-kvm-cgroup1"), topology: Fixture.hwloc("two-socket-numa.xml")))
        let numa = try #require(profile.numa)
        #expect(numa.distances == [[10, 21], [21, 10]])
        #expect(profile.unavailable["numa.distances"] == nil)
    }

    @Test func syntheticTopologyWithoutDistancesSaysWhy() throws {
        let profile = try DeviceProbe.probe(ProbeOptions(files: Fixture.tree("x86-kvm-cgroup1"), topology: .synthetic(Self.twoSocketSMT)))
        #expect(profile.numa?.distances == [])
        #expect(profile.unavailable["numa.distances"]?.contains("no NUMA distances") == true)
    }

    @Test func hybridCoreKindsAndPerKindCaches() throws {
        let profile = try DeviceProbe.probe(ProbeOptions(files: Fixture.tree("x86-kvm-cgroup1"), topology: Fixture.hwloc("hybrid-4p4e.xml")))
        let kinds = profile.cpu.kinds
        #expect(kinds.count == 2)
        let efficient = try #require(kinds.first { $0.efficiency == 0 })
        let performance = try #require(kinds.first { $0.efficiency == 1 })
        #expect(efficient.coreType == "IntelAtom" && efficient.cpus == [4, 5, 6, 7])
        #expect(performance.coreType == "IntelCore" && performance.cpus == [0, 1, 2, 3])
        let l2 = profile.caches.filter { $0.level == 2 }.sorted { $0.sizeBytes < $1.sizeBytes }
        #expect(l2.map(\.sizeBytes) == [1280 << 10, 2 << 20])
        #expect(l2.map(\.instances) == [4, 4])
        #expect(l2[1].sharedBy == [[4], [5], [6], [7]])
        #expect(profile.summary().contains("IntelAtom on CPUs 4-7 (efficiency rank 0)"))
    }

    @Test func singleKindMachineHasNoKindsAndNoComplaint() throws {
        let profile = try DeviceProbe.probe(ProbeOptions(files: Fixture.tree("x86-kvm-cgroup1"), topology: .synthetic("pack:1 core:4 pu:1")))
        #expect(profile.cpu.kinds.isEmpty)
        #expect(profile.unavailable["cpu.kinds"] == nil)
    }

    @Test func invalidSyntheticDescriptionIsAnOptionError() {
        #expect(throws: ProbeError.self) {
            try DeviceProbe.probe(ProbeOptions(topology: .synthetic("pack:two core:?")))
        }
    }

    @Test func missingXMLIsRecordedNotFatal() throws {
        let profile = try DeviceProbe.probe(ProbeOptions(files: Fixture.tree("x86-kvm-cgroup1"), topology: .xml(path: "/nonexistent/topology.xml")))
        #expect(profile.unavailable["topology"]?.contains("/nonexistent/topology.xml") == true)
        #expect(profile.cpu.logicalCPUs >= 1)
        #expect(profile.caches.isEmpty && profile.unavailable["caches"] != nil)
    }

    @Test func treeMirrorsTheTopology() throws {
        let tree = try HwlocTopology(.synthetic(Self.twoSocketSMT)).tree()
        #expect(tree.type == "Machine")
        func count(_ node: TopologyNode, _ type: String) -> Int {
            (node.type == type ? 1 : 0) + node.children.map { count($0, type) }.reduce(0, +)
        }
        #expect(count(tree, "PU") == 16)
        #expect(count(tree, "Package") == 2)
        #expect(count(tree, "NUMANode") == 2)
        #expect(count(tree, "L3") == 2)
    }
}
