// swift-tools-version:6.0
import PackageDescription

// Layers, leaves first: C shims -> DNSWire (the only importer of ldns) -> Blocklist (no DNS)
// -> Resolver (the stages) -> Server (sockets on Dispatch) -> HushApp (config, wiring) -> hush (CLI).
let package = Package(
    name: "Hush",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "hush", targets: ["hush"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "CLDNS", pkgConfig: "ldns", providers: [.apt(["libldns-dev"])]),
        .target(name: "CHushSocket"),
        .target(name: "CMemory"),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "Locking"),
        .target(name: "Sockets", dependencies: ["CHushSocket"]),
        .target(name: "DNSWire", dependencies: ["CLDNS"]),
        .target(name: "Blocklist", dependencies: ["CMemory"]),
        .target(name: "Resolver", dependencies: [
            "DNSWire", "Blocklist", "Sockets", "Locking", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Stats", dependencies: [
            "Resolver", "Sockets", "CHushSocket", "CSQLite", "CMemory", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Server", dependencies: [
            "Resolver", "DNSWire", "Sockets", "Locking", "CHushSocket", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "HushApp", dependencies: [
            "Server", "Resolver", "Stats", "Blocklist", "DNSWire", "Sockets",
            .product(name: "Logging", package: "swift-log"), .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "hush", dependencies: [
            "HushApp", "Stats", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "hush-bench", dependencies: ["Blocklist", "DNSWire", "Stats", "Resolver", "Sockets"], path: "bench/Sources/hush-bench"),
        .target(name: "FuzzTargets", dependencies: ["DNSWire", "Blocklist", "Resolver", "Server", "HushApp", "Sockets"]),
        .executableTarget(name: "hush-fuzz", dependencies: ["FuzzTargets"], path: "fuzz/Sources/hush-fuzz"),
        .target(name: "TestSupport", dependencies: [
            "DNSWire", "Sockets", "HushApp", "Resolver", "Server", "Blocklist", "Stats", "Locking", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "CLDNS"]),
        .testTarget(name: "BlocklistTests", dependencies: ["Blocklist"]),
        .testTarget(name: "HushTests", dependencies: [
            "HushApp", "Server", "Resolver", "DNSWire", "Blocklist", "Stats", "TestSupport", "FuzzTargets", "Locking",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ]
)
