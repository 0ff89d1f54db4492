// swift-tools-version:6.1
// slmbench: benchmarking and hardware profiling for small language models on devices.
// Architecture and dependency direction: see README.md and docs/architecture.md.
import PackageDescription

let package = Package(
    name: "slmbench",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "slmbench", targets: ["slmbench"]),
        .library(name: "DeviceProbe", targets: ["DeviceProbe"]),
        // For the fuzz targets in Fuzz/ (scripts/check/fuzz.sh).
        .library(name: "FuzzHarness", targets: ["FuzzHarness"]),
    ],
    // The PostgreSQL store is a trait, off unless asked for (`swift build --traits Postgres`):
    // postgres-nio and what it brings (swift-nio, a second BoringSSL) is a large share of a cold
    // build, and a single machine stores in SQLite. scripts/test.sh and the fault drills enable it.
    traits: [
        .trait(name: "Postgres", description: "The PostgreSQL results store (--store postgres://…), through postgres-nio."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C system libraries: module map + shim only, no logic.
        .systemLibrary(
            name: "CHwloc", pkgConfig: "hwloc",
            providers: [.apt(["libhwloc-dev"]), .brew(["hwloc"])]),
        .systemLibrary(
            name: "CNuma", pkgConfig: "numa",
            providers: [.apt(["libnuma-dev"])]),
        // Memory-bandwidth and peak-compute loops, selected by ISA at run time.
        .target(name: "CProbeKernels"),
        // Inference kernels and the engine's thread pool: the scalar reference, x86/avx2.c and avx512.c, and arm/neon.c
        // (NEON, dotprod, i8mm), chosen at run time in dispatch.c. Tests/kernels/harness.c checks them.
        .target(name: "CKernels"),
        // libllama's C API as slmbench calls it, bound at run time with dlopen (no link-time dependency).
        .target(name: "CLlamaCpp"),
        // perf_event_open(2) for the energy collectors (the system call has no libc wrapper).
        .target(name: "CPerfEvent"),

        .target(
            name: "DeviceProbe",
            dependencies: [
                "CHwloc", "CNuma", "CProbeKernels", "CPerfEvent",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // Measurement vocabulary: metrics, statuses, sample statistics and tests. A leaf.
        .target(name: "Measures"),
        .target(name: "ModelFormat", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Engine", dependencies: ["Measures", "ModelFormat", "DeviceProbe", "CKernels", "CNuma"]),
        .target(name: "Backends", dependencies: ["Engine", "ModelFormat", "CLlamaCpp"]),
        // The worker protocol in one place: run and quality requests, the messages, the worker's
        // main, the launcher and process supervision, and the measurement loop a worker runs.
        .target(name: "Worker", dependencies: ["Backends", "Engine", "Measures", "ModelFormat", "DeviceProbe"]),
        .target(
            name: "ResultStore",
            dependencies: [
                "Measures",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
            ]),
        .target(name: "Reporter", dependencies: ["Measures", "ResultStore", "DeviceProbe"]),
        .target(
            name: "Workloads",
            dependencies: [
                "Backends", "Worker", "Engine", "Measures", "ResultStore", "Reporter", "DeviceProbe", "ModelFormat",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .executableTarget(
            name: "slmbench",
            dependencies: [
                "Workloads", "Worker", "DeviceProbe", "Engine", "Backends", "Measures", "ModelFormat", "ResultStore", "Reporter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // What the fuzz targets feed bytes to, and the seeds they start from (the tests replay both).
        .target(name: "FuzzHarness", dependencies: ["ModelFormat", "Engine", "Backends", "Worker", "Measures", "ResultStore", "Reporter", "DeviceProbe", "Workloads", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["ModelFormat", "Measures", "ResultStore"]),
        .testTarget(
            name: "DeviceProbeTests",
            dependencies: ["DeviceProbe", "TestSupport", "CHwloc", "CProbeKernels"],
            exclude: ["Fixtures"]),
        .testTarget(name: "ModelFormatTests", dependencies: ["ModelFormat", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MeasuresTests", dependencies: ["Measures"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "ModelFormat", "CKernels", "TestSupport"]),
        .testTarget(
            name: "WorkloadsTests",
            dependencies: ["Workloads", "Worker", "Measures", "ModelFormat", "ResultStore", "Reporter", "DeviceProbe", "TestSupport", "FuzzHarness"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "ReporterTests",
            dependencies: ["Reporter", "Measures", "ResultStore", "DeviceProbe", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(name: "ResultStoreTests", dependencies: ["ResultStore", "Measures", "TestSupport"]),
        .testTarget(name: "BackendsTests", dependencies: ["Backends", "Engine", "Worker", "ModelFormat", "TestSupport"]),
        .testTarget(name: "WorkerTests", dependencies: ["Worker", "Backends", "Engine", "Measures", "ModelFormat", "TestSupport", "DeviceProbe"], exclude: ["FakeWorkers"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "DeviceProbe"], exclude: ["Golden"]),
    ]
)
