import Foundation
import Sockets

/// The source tree the tests run from.
public enum Repository {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The bundled lists.
    public static let blocklists = root.appendingPathComponent("blocklists").path
}

/// The real `hush` binary, built beside the test bundle.
public enum HushBinary {
    public static var url: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? Bundle.main.bundlePath)
        var directory = bundle.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: directory.appendingPathComponent("hush").path) {
            directory = Repository.root.appendingPathComponent(".build/debug")
        }
        return directory.appendingPathComponent("hush")
    }

    /// Runs `hush ARGUMENTS` from the source tree to its end.
    public static func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String, error: String) {
        let result = try Command.run(url.path, arguments, input: input, in: Repository.root)
        return (result.status, result.output, result.error)
    }

    /// A port that was free a moment ago, for a process that cannot report its own.
    public static func freePort() throws -> UInt16 {
        let fd = try Socket.bind(SocketAddress("127.0.0.1:0")!, type: Socket.udp)
        defer { close(fd) }
        return Socket.localAddress(fd)!.port
    }
}

/// Files tests write: a fresh stats database path, and a small Xiaomi list.
public enum TestFiles {
    /// A new empty folder under the temporary directory.
    public static func directory(_ purpose: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hush-\(purpose)-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public static func databasePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("hush-stats-\(UUID().uuidString)/stats.db").path
    }

    public static let xiaomiList = TestServer.listFile("xiaomi.txt", """
        # Name: Xiaomi telemetry
        # Category: vendor-telemetry
        # Vendor: Xiaomi
        sa.api.intl.miui.com
        tracking.intl.miui.com
        """)
}
