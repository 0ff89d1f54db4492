import Crypto

/// A stable hash of the properties that make two machines' results comparable: CPU model,
/// core counts, caches, ISA features, memory size, NUMA layout, governor and usable CPUs.
///
/// Host name, time, free memory and measured bandwidth are left out on purpose: they change
/// from run to run on the same machine. Memory is rounded to whole GiB because virtual
/// machines report a few MiB more or less across boots.
public enum Fingerprint {
    /// The canonical text that is hashed; shown by `probe --json` consumers for debugging.
    public static func canonicalText(_ p: HardwareProfile) -> String {
        var lines: [String] = [
            "cpu=\(p.cpu.vendor)|\(p.cpu.model)|\(p.cpu.architecture)",
            "cores=\(p.cpu.packages)/\(p.cpu.physicalCores)/\(p.cpu.logicalCPUs)",
            "kinds=" + p.cpu.kinds.map { "\($0.coreType ?? "?"):\($0.cpus.count)" }.joined(separator: ","),
            "isa=" + p.isa.features.joined(separator: ",") + "/\(p.isa.vectorWidthBits)",
            "memGiB=\((p.memory.totalBytes + (1 << 29)) >> 30)",
            "numa=\(p.numa?.nodes.count ?? 1)",
            "governor=\(p.frequency?.governor ?? "-")",
            "usableCPUs=\(p.limits?.usableCPUs ?? p.cpu.logicalCPUs)",
        ]
        for cache in p.caches.sorted(by: { ($0.level, $0.type, $0.sizeBytes) < ($1.level, $1.type, $1.sizeBytes) }) {
            lines.append("cache=L\(cache.level)\(cache.type.prefix(1))/\(cache.sizeBytes)x\(cache.instances)")
        }
        return lines.joined(separator: "\n")
    }

    /// First 16 hex digits of the SHA-256 of `canonicalText`.
    public static func of(_ profile: HardwareProfile) -> String {
        let digest = SHA256.hash(data: Array(canonicalText(profile).utf8))
        return digest.prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
