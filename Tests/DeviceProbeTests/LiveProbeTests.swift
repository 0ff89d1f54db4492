import DeviceProbe
import Foundation
import TestSupport
import Testing

/// The probe on the machine running the tests agrees with lscpu, nproc and sysfs.
@Suite("live probe agrees with lscpu, nproc and sysfs")
struct LiveProbeTests {
    static let profile: HardwareProfile? = try? DeviceProbe.probe()

    func tool(_ name: String, _ args: [String]) throws -> String {
        let path = try #require(["/usr/bin/", "/bin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) },
                                "\(name) is missing; scripts/bootstrap.sh installs util-linux and coreutils")
        let result = try runCommand(URL(fileURLWithPath: path), args)
        try #require(result.status == 0, "\(name) \(args) failed: \(result.stderr)")
        return result.stdout
    }

    @Test func logicalCPUsAndAffinityMatchNproc() throws {
        let p = try #require(Self.profile)
        #expect(p.cpu.logicalCPUs == Int(try tool("nproc", ["--all"]).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(p.limits?.affinityCPUs.count == Int(try tool("nproc", []).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func coresAndPackagesMatchLscpu() throws {
        let p = try #require(Self.profile)
        let rows = try tool("lscpu", ["-p=CPU,CORE,SOCKET"]).split(separator: "\n").filter { !$0.hasPrefix("#") }
        let cores = Set(rows.map { $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst().joined(separator: ",") })
        let sockets = Set(rows.map { $0.split(separator: ",", omittingEmptySubsequences: false).last ?? "" })
        #expect(p.cpu.physicalCores == cores.count)
        #expect(p.cpu.packages == sockets.count)
    }

    @Test func cacheSizesMatchLscpu() throws {
        let p = try #require(Self.profile)
        let rows = try tool("lscpu", ["-C=LEVEL,TYPE,ONE-SIZE", "-B"]).split(separator: "\n").dropFirst()
        try #require(!rows.isEmpty, "lscpu lists no caches here")
        for row in rows {
            let f = row.split(separator: " ")
            guard f.count == 3, let level = Int(f[0]), let size = Int(f[2]) else { continue }
            let type = f[1].lowercased()
            #expect(p.caches.contains { $0.level == level && $0.type == type && $0.sizeBytes == size },
                    "lscpu has L\(level) \(type) \(size) B; profile has \(p.caches.map { "L\($0.level) \($0.type) \($0.sizeBytes)" })")
        }
    }

    @Test func isaFlagsMatchLscpu() throws {
        let p = try #require(Self.profile)
        let text = try tool("lscpu", [])
        let flagLine = try #require(text.split(separator: "\n").first { $0.hasPrefix("Flags:") }, "lscpu prints no Flags line")
        let flags = Set(flagLine.dropFirst("Flags:".count).split(separator: " ").map(String.init))
        for feature in ISAFeature.allCases where ["x86_64"].contains(p.cpu.architecture) {
            let lscpuHas = feature.rawValue == "sse4.2" ? flags.contains("sse4_2")
                : flags.contains(feature.rawValue.replacingOccurrences(of: "-", with: "_"))
                    || flags.contains(feature.rawValue.replacingOccurrences(of: "avx512", with: "avx512_"))
                    || flags.contains(feature.rawValue.replacingOccurrences(of: "avxvnni", with: "avx_vnni"))
            #expect(p.isa.has(feature) == lscpuHas, "\(feature.rawValue): lscpu \(lscpuHas), profile \(p.isa.has(feature))")
        }
    }

    @Test func memoryMatchesMeminfo() throws {
        let p = try #require(Self.profile)
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let total = try #require(meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") })
        let kib = try #require(Int(total.split(separator: " ")[1]))
        #expect(p.memory.totalBytes == kib * 1024)
        #expect((p.memory.usableBytes ?? 0) > 0 && (p.memory.usableBytes ?? 0) <= p.memory.totalBytes)
    }

    @Test func fingerprintIsStableAcrossProbes() throws {
        let a = try #require(Self.profile)
        let b = try DeviceProbe.probe()
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint.count == 16)
    }
}
