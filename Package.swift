// swift-tools-version:6.0
import PackageDescription

// Layers, leaves first; each module imports only those before it, and C only at the leaves:
//   CLDNS, CSQLite (system libraries), CHushSocket, CMemory (C shims)
//   Locking (a mutex), Sockets (addresses, socket calls, epoll, netlink: the only importer of CHushSocket)
//   DNSWire (messages; the only importer of ldns), Blocklist (list parsing and matching; knows no DNS)
//   Resolver (the stages), Stats (recording and reports, SQLite), Server (listeners on Dispatch)
//   EncryptedDNS (DoT and DoH, upstream and for devices, on SwiftNIO: the only importer of NIO)
//   HushApp (config, wiring, metrics), hush (the CLI)
//   hush-bench, FuzzTargets and hush-fuzz, TestSupport and the test targets sit on top.
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
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
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
            "Resolver", "Blocklist", "DNSWire", "Sockets", "CSQLite", "CMemory", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Server", dependencies: [
            "Resolver", "DNSWire", "Sockets", "Locking", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "EncryptedDNS", dependencies: [
            "Server", "Resolver", "DNSWire", "Sockets", .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        ]),
        .target(name: "HushApp", dependencies: [
            "Server", "EncryptedDNS", "Resolver", "Stats", "Blocklist", "Sockets",
            .product(name: "Logging", package: "swift-log"), .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "hush", dependencies: [
            "HushApp", "Stats", "Blocklist", "Resolver", "Sockets", .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "hush-bench", dependencies: ["Blocklist", "DNSWire", "Stats", "Resolver", "Sockets"], path: "bench/Sources/hush-bench"),
        .target(name: "FuzzTargets", dependencies: ["DNSWire", "Blocklist", "Resolver", "Server", "HushApp", "Sockets"]),
        .executableTarget(name: "hush-fuzz", dependencies: ["FuzzTargets"], path: "fuzz/Sources/hush-fuzz"),
        .target(name: "TestSupport", dependencies: [
            "DNSWire", "Sockets", "HushApp", "Resolver", "Server", "Blocklist", "Locking", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire"]),
        .testTarget(name: "BlocklistTests", dependencies: ["Blocklist"], exclude: ["Fixtures"]),
        // Tests mirror the modules; the end-to-end suites drive the real binary or a whole household.
        .testTarget(name: "ResolverTests", dependencies: [
            "Resolver", "Blocklist", "DNSWire", "Sockets", "TestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "StatsTests", dependencies: [
            "Stats", "HushApp", "Resolver", "Blocklist", "DNSWire", "Sockets", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "ServerTests", dependencies: ["HushApp", "Resolver", "Blocklist", "DNSWire", "Sockets", "TestSupport"]),
        .testTarget(name: "AppTests", dependencies: ["HushApp", "Stats", "Resolver", "Blocklist", "DNSWire", "Sockets", "TestSupport"]),
        .testTarget(name: "EncryptedDNSTests", dependencies: [
            "HushApp", "EncryptedDNS", "Stats", "Resolver", "DNSWire", "Sockets", "Locking", "TestSupport",
        ]),
        .testTarget(name: "EndToEndTests", dependencies: [
            "HushApp", "Stats", "Resolver", "DNSWire", "Sockets", "Locking", "FuzzTargets", "TestSupport",
        ]),
    ]
)
