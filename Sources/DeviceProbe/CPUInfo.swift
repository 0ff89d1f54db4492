/// Instruction-set features relevant to inference kernels, with normalised names.
public enum ISAFeature: String, CaseIterable, Sendable {
    // x86-64
    case sse42 = "sse4.2", avx, avx2, fma, f16c
    case avx512f, avx512bw, avx512vl, avx512vnni, avx512bf16
    case avxvnni, amxTile = "amx-tile", amxInt8 = "amx-int8", amxBF16 = "amx-bf16"
    // AArch64
    case neon, dotprod, i8mm, bf16, fp16, sve, sve2, sme

    /// The `/proc/cpuinfo` flag (x86 `flags`, Arm `Features`) that reports this feature.
    var cpuinfoFlags: [String] {
        switch self {
        case .sse42: return ["sse4_2"]
        case .avx512vnni: return ["avx512_vnni"]
        case .avx512bf16: return ["avx512_bf16"]
        case .avxvnni: return ["avx_vnni"]
        case .amxTile: return ["amx_tile"]
        case .amxInt8: return ["amx_int8"]
        case .amxBF16: return ["amx_bf16"]
        case .neon: return ["asimd"]
        case .dotprod: return ["asimddp"]
        case .fp16: return ["asimdhp"]
        default: return [rawValue]
        }
    }
}

/// What `/proc/cpuinfo` says about the CPU.
public struct CPUInfo: Sendable, Equatable {
    public var vendor: String
    public var model: String
    /// Raw flags of the first processor entry.
    public var flags: Set<String>
    public var features: [ISAFeature]

    /// Parses the text of `/proc/cpuinfo` (x86 or Arm layout). `boardModel` is the device-tree
    /// model (Raspberry Pi and other boards) used when the CPU entry names no model.
    public static func parse(_ text: String, boardModel: String? = nil) -> CPUInfo {
        var fields: [String: String] = [:]
        // Only the first processor block matters for identity; Arm puts "Hardware"/"Model" at the end.
        var inFirstBlock = true
        var seenProcessor = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else {
                if line.trimmingWhitespace().isEmpty && seenProcessor { inFirstBlock = false }
                continue
            }
            let key = line[..<colon].trimmingWhitespace()
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            if key == "processor" { seenProcessor = true }
            if inFirstBlock || fields[key] == nil { fields[key] = fields[key] ?? value }
        }
        let flagText = fields["flags"] ?? fields["Features"] ?? ""
        let flags = Set(flagText.split(separator: " ").map(String.init))
        let features = ISAFeature.allCases.filter { feature in
            feature.cpuinfoFlags.contains { flags.contains($0) }
        }
        let vendor: String
        let model: String
        if let v = fields["vendor_id"] {
            vendor = v
            model = fields["model name"] ?? "unknown x86 CPU"
        } else if let implementer = fields["CPU implementer"] {
            let part = fields["CPU part"] ?? ""
            vendor = ArmParts.implementer(implementer)
            let core = ArmParts.part(implementer: implementer, part: part)
            if let board = boardModel ?? fields["Model"] {
                model = core.map { "\(board) (\($0))" } ?? board
            } else {
                model = fields["model name"] ?? core ?? "Arm CPU part \(part)"
            }
        } else {
            vendor = fields["vendor"] ?? "unknown"
            model = fields["model name"] ?? fields["cpu model"] ?? boardModel ?? "unknown CPU"
        }
        return CPUInfo(vendor: vendor, model: model, flags: flags, features: features)
    }

    /// Widest usable vector width in bits given the features (SVE length where known).
    public static func vectorWidth(features: [ISAFeature], sveBits: Int?) -> Int {
        if features.contains(.avx512f) { return 512 }
        if features.contains(.avx) { return 256 }
        if features.contains(.sve) { return max(128, sveBits ?? 128) }
        if features.contains(.neon) || features.contains(.sse42) { return 128 }
        return 64
    }
}

/// Names for Arm MIDR implementer and part numbers (from Arm's and vendors' public TRMs).
enum ArmParts {
    static func implementer(_ code: String) -> String {
        switch code.lowercased() {
        case "0x41": return "ARM"
        case "0x42": return "Broadcom"
        case "0x43": return "Cavium"
        case "0x48": return "HiSilicon"
        case "0x4e": return "NVIDIA"
        case "0x51": return "Qualcomm"
        case "0x61": return "Apple"
        case "0xc0": return "Ampere"
        default: return "Arm implementer \(code)"
        }
    }

    static func part(implementer: String, part: String) -> String? {
        guard implementer.lowercased() == "0x41" else { return nil }
        let names: [String: String] = [
            "0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55",
            "0xd07": "Cortex-A57", "0xd08": "Cortex-A72", "0xd09": "Cortex-A73",
            "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76", "0xd0c": "Neoverse-N1",
            "0xd0d": "Cortex-A77", "0xd40": "Neoverse-V1", "0xd41": "Cortex-A78",
            "0xd42": "Cortex-A78AE", "0xd44": "Cortex-X1", "0xd46": "Cortex-A510",
            "0xd47": "Cortex-A710", "0xd48": "Cortex-X2", "0xd49": "Neoverse-N2",
            "0xd4d": "Cortex-A715", "0xd4e": "Cortex-X3", "0xd4f": "Neoverse-V2",
            "0xd80": "Cortex-A520", "0xd81": "Cortex-A720", "0xd82": "Cortex-X4",
        ]
        return names[part.lowercased()]
    }
}
