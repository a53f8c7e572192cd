// swift-tools-version: 6.1
// Coverage-guided fuzz targets for ShardFlow's decoders and parsers (libFuzzer). Built and run by
// `scripts/fuzz.sh`: `swift build -c release --sanitize fuzzer --sanitize address`. Each target
// is an executable whose `LLVMFuzzerTestOneInput` feeds one input to one parser and checks what
// it returns (round trips, invariants), so a wrong result is a crash too, not only a crash.
import Foundation
import PackageDescription

/// The ShardFlow package is the parent directory; a path package's identity is its directory's
/// name, whatever the clone is called.
let shardflow = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let targets = [
    "FrameDecoderFuzz", "DaemonLineFuzz", "DaemonMessageFuzz", "ChildMessageFuzz", "KPLFuzz", "JSONPointerFuzz",
    "ExecReplyFuzz", "PropertiesFuzz", "CanonicalJSONFuzz", "EventPatternFuzz",
]

let package = Package(
    name: "ShardFlowFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: targets.map { name in
        .executableTarget(
            name: name,
            dependencies: [
                .product(name: "ShardFlowCore", package: shardflow),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    }
)
