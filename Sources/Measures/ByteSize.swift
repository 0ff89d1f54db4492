import Foundation

/// Sizes as people write them (4GiB, 512MiB, 1.5GB, or plain bytes) and as tables print them.
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value > 0, value * scale < Double(Int.max) else { return nil }
            return Int(value * scale)
        }
        return Int(text).flatMap { $0 > 0 ? $0 : nil }
    }

    public static func format(_ bytes: Int?) -> String {
        guard let bytes else { return "—" }
        let b = Double(bytes)
        if b >= 1e9 { return String(format: "%.2f GB", b / 1e9) }
        if b >= 1e6 { return String(format: "%.1f MB", b / 1e6) }
        return String(format: "%.1f kB", b / 1e3)
    }
}
