// swift-tools-version:6.0
// slmbench's fuzz targets. Only scripts/check/fuzz.sh builds them: with -sanitize=fuzzer every module is
// instrumented for coverage, and each target's main hands control to libFuzzer's driver
// (LLVMFuzzerRunDriver, linked from libclang_rt.fuzzer_no_main by the script). The entry points
// and seeds are in the main package's FuzzHarness, which the tests replay.
import Foundation
import PackageDescription

// A path dependency is known by its folder's name, whatever the clone is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let slmbench = root.lastPathComponent.lowercased()

// One executable per FuzzHarness.targets entry; each folder's main.swift names its target.
let targets = ["gguf", "sweep-spec", "engine-load", "sweep-plan", "journal", "llama-bench", "worker-protocol"]

let package = Package(
    name: "slmbench-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzDriver", dependencies: [.product(name: "FuzzHarness", package: slmbench)], path: "FuzzDriver"),
    ] + targets.map { .executableTarget(name: "fuzz-\($0)", dependencies: ["FuzzDriver"], path: "fuzz-\($0)") })
