// swift-tools-version:6.0
// slmbench's fuzz targets. Only scripts/fuzz.sh builds them: with -sanitize=fuzzer every module is
// instrumented for coverage, and each target's main hands control to libFuzzer's driver
// (LLVMFuzzerRunDriver, linked from libclang_rt.fuzzer_no_main by the script).
import Foundation
import PackageDescription

// A path dependency is known by its folder's name, whatever the clone is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let slmbench = root.lastPathComponent.lowercased()

let package = Package(
    name: "slmbench-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzDriver", path: "FuzzDriver"),
        .executableTarget(name: "fuzz-gguf", dependencies: ["FuzzDriver", .product(name: "FuzzHarness", package: slmbench)], path: "fuzz-gguf"),
        .executableTarget(name: "fuzz-sweep-spec", dependencies: ["FuzzDriver", .product(name: "FuzzHarness", package: slmbench)],
                          path: "fuzz-sweep-spec"),
    ])
