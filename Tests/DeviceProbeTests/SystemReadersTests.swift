import DeviceProbe
import Foundation
import TestSupport
import Testing

@Suite("/proc and /sys readers on captured and broken trees")
struct SystemReadersTests {
    func probe(_ tree: String, topology: String = "pack:1 core:2 pu:1") throws -> HardwareProfile {
        try DeviceProbe.probe(ProbeOptions(files: Fixture.tree(tree), topology: .synthetic(topology)))
    }

    @Test func capturedKVMMachine() throws {
        let p = try probe("x86-kvm-cgroup1")
        #expect(p.cpu.vendor == "AuthenticAMD")
        #expect(p.cpu.model == "AMD EPYC")
        #expect(p.cpu.architecture == "x86_64")
        #expect(p.isa.features == ["avx", "avx2", "f16c", "fma", "sse4.2"])
        #expect(p.isa.vectorWidthBits == 256)
        let limits = try #require(p.limits)
        #expect(limits.cgroupVersion == 1)
        #expect(limits.cgroupCPUQuota == nil && limits.cgroupMemoryLimitBytes == nil)
        #expect(limits.affinityCPUs == [0, 1] && limits.usableCPUs == 2)
        #expect(p.memory.totalBytes == 24_683_656 * 1024)
        #expect(p.memory.usableBytes == p.memory.availableBytes)
        #expect(p.frequency == nil)
        #expect(p.unavailable["frequency"]?.contains("cpufreq") == true)
        #expect(p.system?.os == "Debian GNU/Linux 12 (bookworm)")
        #expect(p.system?.hostname == "ci-runner")
        #expect(p.system?.virtualization == "hypervisor (vendor unknown)")
    }

    @Test func containerOnLargeHostSaysTwoCPUs() throws {
        let p = try probe("x86-container-cgroup2-quota", topology: "pack:2 core:32 pu:1")
        #expect(p.cpu.logicalCPUs == 64)
        let limits = try #require(p.limits)
        #expect(limits.cgroupVersion == 2)
        #expect(limits.cgroupCPUQuota == 2.0)
        #expect(limits.affinityCPUs.count == 64)
        #expect(limits.usableCPUs == 2)
        #expect(limits.cgroupMemoryLimitBytes == 4 << 30)
        // 4 GiB limit with 1 GiB already used leaves 3 GiB, below MemAvailable.
        #expect(p.memory.usableBytes == 3 << 30)
        #expect(p.notes.contains { $0.contains("2 of 64 logical CPUs") })
        #expect(p.isa.has(.avx512f) && p.isa.has(.amxInt8) && p.isa.has(.avxvnni) && p.isa.has(.avx512vnni))
        #expect(p.isa.vectorWidthBits == 512)
        #expect(p.frequency == .init(governor: "performance", driver: "intel_pstate", minMHz: 800, maxMHz: 3800, currentMHz: 3000))
    }

    @Test func dockerCgroupV1QuotaAndPowersaveWarning() throws {
        let p = try probe("x86-docker-cgroup1-quota", topology: "pack:1 core:8 pu:1")
        let limits = try #require(p.limits)
        #expect(limits.cgroupVersion == 1)
        #expect(limits.cgroupCPUQuota == 1.5)
        #expect(limits.usableCPUs == 1)
        #expect(limits.cgroupMemoryLimitBytes == 2 << 30)
        #expect(p.memory.usableBytes == (2 << 30) - (512 << 20))
        #expect(p.notes.contains { $0.hasPrefix("WARNING") && $0.contains("powersave") })
    }

    @Test func raspberryPi5() throws {
        let p = try probe("arm-rpi5-cgroup2", topology: "pack:1 core:4 pu:1")
        #expect(p.cpu.vendor == "ARM")
        #expect(p.cpu.model == "Raspberry Pi 5 Model B Rev 1.0 (Cortex-A76)")
        #expect(p.cpu.architecture == "aarch64")
        #expect(p.isa.features == ["dotprod", "fp16", "neon"])
        #expect(!p.isa.has(.i8mm) && !p.isa.has(.sve))
        #expect(p.isa.vectorWidthBits == 128)
        #expect(p.limits?.cgroupCPUQuota == nil && p.limits?.cgroupMemoryLimitBytes == nil)
        #expect(p.limits?.usableCPUs == 4)
        #expect(p.frequency?.governor == "ondemand" && p.frequency?.maxMHz == 2400)
    }

    @Test func graviton3SVELength() throws {
        let p = try probe("arm-graviton3-sve")
        #expect(p.cpu.model == "Neoverse-V1")
        #expect(p.isa.has(.sve) && p.isa.has(.i8mm) && p.isa.has(.bf16) && p.isa.has(.dotprod))
        #expect(!p.isa.has(.sve2))
        #expect(p.isa.sveVectorBits == 256)
        #expect(p.isa.vectorWidthBits == 256)
    }

    @Test func brokenFilesAreReportedWithReasonsAndTheProbeStillSucceeds() throws {
        let root = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileTree(root: root).write([
            "proc/meminfo": "this is not meminfo\n",
            "proc/self/cgroup": "0::/\n",
            "proc/self/status": "Cpus_allowed_list:\t3-1\n",
            "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
            "sys/fs/cgroup/cpu.max": "lots 100000\n",
            "sys/fs/cgroup/memory.max": "max\n",
        ])
        // A directory where a file should be: open succeeds, read fails with EISDIR.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("proc/cpuinfo"), withIntermediateDirectories: true)
        let p = try DeviceProbe.probe(ProbeOptions(files: SystemFiles(root: root.path), topology: .synthetic("pack:1 core:2 pu:1")))
        #expect(p.unavailable["cpu.model"]?.contains("proc/cpuinfo") == true)
        #expect(p.unavailable["cpu.model"]?.contains("directory") == true)
        #expect(p.unavailable["memory"]?.contains("MemTotal") == true)
        #expect(p.unavailable["limits.cgroup"]?.contains("cpu.max") == true)
        #expect(p.unavailable["limits.affinityCPUs"]?.contains("Cpus_allowed_list") == true)
        #expect(p.unavailable["frequency"] != nil)
        #expect(p.limits?.affinityCPUs == [0, 1])
        #expect(p.isa.features.isEmpty)
    }

    @Test func emptyRootStillProbes() throws {
        let root = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let p = try DeviceProbe.probe(ProbeOptions(files: SystemFiles(root: root.path), topology: .synthetic("pack:1 core:2 pu:1")))
        for key in ["cpu.model", "memory", "limits.cgroup", "limits.affinityCPUs", "frequency"] {
            #expect(p.unavailable[key] != nil, "expected a reason for \(key)")
        }
        #expect(p.unavailable["limits.cgroup"]?.contains("No such file") == true)
    }

    @Test func cgroupWithNoLimitIsNotAnError() throws {
        let root = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileTree(root: root).write([
            "proc/self/cgroup": "0::/a/b\n",
            "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
            "sys/fs/cgroup/a/b/cpu.max": "max 100000\n",
            "sys/fs/cgroup/a/b/memory.max": "max\n",
            // A limit on an ancestor applies to the process too.
            "sys/fs/cgroup/a/memory.max": "1073741824\n",
        ])
        let limits = try ResourceLimitsReader(files: SystemFiles(root: root.path)).cgroupLimits()
        #expect(limits.version == 2)
        #expect(limits.cpuQuota == nil)
        #expect(limits.memoryLimitBytes == 1 << 30)
    }

    @Test(arguments: [
        ("0-3,8,10-11", [0, 1, 2, 3, 8, 10, 11] as [Int]?),
        ("5", [5]), ("", []), ("3-1", nil), ("a", nil), ("1,,2", nil), ("0-", nil),
    ])
    func cpuLists(text: String, expected: [Int]?) {
        #expect(parseCPUList(text) == expected)
        if let expected, !expected.isEmpty { #expect(parseCPUList(formatCPUList(expected)) == expected) }
    }

    @Test(arguments: [
        (64, 2.0 as Double?, 2), (64, 1.5, 1), (64, 0.5, 1), (4, 8.0, 4), (8, nil, 8), (2, 1.9999999, 2),
    ])
    func usableCPUs(affinity: Int, quota: Double?, expected: Int) {
        #expect(ResourceLimitsReader.usableCPUs(affinity: affinity, quota: quota) == expected)
    }
}
