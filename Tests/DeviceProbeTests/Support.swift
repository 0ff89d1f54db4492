import DeviceProbe
import Foundation

/// Paths of the checked-in fixtures next to this file.
enum Fixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func tree(_ name: String) -> SystemFiles { SystemFiles(root: folder.appendingPathComponent("trees/\(name)").path) }
    static func hwloc(_ name: String) -> HwlocTopology.Source { .xml(path: folder.appendingPathComponent("hwloc/\(name)").path) }
}
