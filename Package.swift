// swift-tools-version: 6.1
// ShardFlow: process Amazon Kinesis and DynamoDB Streams records on every core of a machine.
import PackageDescription

/// Release builds of the hot-path libraries skip the runtime's dynamic exclusivity checks
/// (each costs a thread-local lookup per class property access; the code is single-threaded per
/// object and debug builds keep the checks).
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release)),
]

/// Release executables link the Swift runtime statically: a process starts faster (no symbol
/// binding against the runtime's shared libraries) and calls into the runtime (reference
/// counting above all) directly rather than through the PLT — about 10 % more records per
/// second. `shardflow run` starts its whole group from the `shardflow` executable (see
/// `ShardFlowProgram`), so the group shares one copy of those pages; each separate executable
/// (systemd units, the Java daemon) has its own. The three libraries after `-static-stdlib` are
/// what the static FoundationEssentials (used by swift-metrics) needs besides the runtime on
/// Swift 6.3.
let executableSettings: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims", "-lswiftSynchronization"], .when(configuration: .release)),
]

let package = Package(
    name: "ShardFlow",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ShardFlowCore", targets: ["ShardFlowCore"]),
        .library(name: "ShardFlowRuntime", targets: ["ShardFlowRuntime"]),
        .executable(name: "shardflow", targets: ["Launcher"]),
        .executable(name: "shardflow-worker", targets: ["Worker"]),
        .executable(name: "shardflow-router", targets: ["Router"]),
        .executable(name: "shardflow-mapper", targets: ["Mapper"]),
        .executable(name: "shardflow-reducer", targets: ["Reducer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // libsystemd (socket activation, sd_notify). `apt-get install -y libsystemd-dev pkg-config`.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // Byte kernels (base64, JSON string scanning) with AVX2 when the processor has it.
        .target(name: "CShardFlowKernels"),
        // Pure logic: frames and codecs, MLD messages, KPL, checkpoint tracker, partitioner,
        // state machines. No sockets, no processes, no clocks of its own.
        .target(
            name: "ShardFlowCore",
            dependencies: [
                "CShardFlowKernels",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: hotPathSettings
        ),
        // Sockets, socket activation, processes, services, processors.
        .target(
            name: "ShardFlowRuntime",
            dependencies: [
                "ShardFlowCore",
                "CSystemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: hotPathSettings
        ),
        .executableTarget(name: "Launcher", dependencies: ["ShardFlowRuntime"], linkerSettings: executableSettings),
        .executableTarget(name: "Worker", dependencies: ["ShardFlowRuntime"], linkerSettings: executableSettings),
        .executableTarget(name: "Router", dependencies: ["ShardFlowRuntime"], linkerSettings: executableSettings),
        .executableTarget(name: "Mapper", dependencies: ["ShardFlowRuntime"], linkerSettings: executableSettings),
        .executableTarget(name: "Reducer", dependencies: ["ShardFlowRuntime"], linkerSettings: executableSettings),
        // A user's own reducer executable over the library (docs/processors.md).
        .executableTarget(
            name: "ExampleReducer",
            dependencies: ["ShardFlowRuntime"],
            path: "Examples/CustomReducer"
        ),
        // Test helpers shared by the test targets: frame builders, a hand-driven clock, and the
        // Equatable conformances of the state machines' actions (production code needs none).
        .target(
            name: "ShardFlowTestKit",
            dependencies: ["ShardFlowCore", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "ShardFlowCoreTests",
            dependencies: ["ShardFlowCore", "ShardFlowTestKit"]
        ),
        .testTarget(
            name: "ShardFlowRuntimeTests",
            dependencies: [
                "ShardFlowRuntime", "ShardFlowCore", "ShardFlowTestKit",
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        // Runs the built binaries; depends on the executables so `swift test` builds them.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "ShardFlowCore", "ShardFlowRuntime", "ShardFlowTestKit",
                "Launcher", "Worker", "Router", "Mapper", "Reducer", "ExampleReducer",
            ],
            exclude: ["Fixtures"]
        ),
    ]
)
