import Blocklist
import Foundation
import HushApp
import Locking
import Logging
import Resolver
import Server
import Sockets
import Synchronization

/// A Hush service on 127.0.0.1 port 0 in front of a fresh stub upstream.
public final class TestServer: @unchecked Sendable {
    public let upstream: StubUpstream
    public let service: HushService

    public let recorder = AnswerRecorder()

    public init(configure: (inout HushConfig) -> Void = { _ in }, upstream: StubUpstream? = nil) throws {
        let upstream = try upstream ?? StubUpstream()
        var config = HushConfig()
        config.listen = [SocketAddress("127.0.0.1:0")!]
        config.upstreams = [.plain(upstream.address)]
        config.upstreamTimeoutMilliseconds = 400
        config.bundledLists = false
        config.statsEnabled = false
        configure(&config)
        var logger = Logger(label: "hush-test")
        // HUSH_TEST_LOG=debug shows the server's log while a test runs.
        logger.logLevel = ProcessInfo.processInfo.environment["HUSH_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        self.upstream = upstream
        self.service = try HushService(config: config, logger: logger, observers: [recorder])
        service.start()
    }

    deinit {
        service.stop()
        upstream.stop()
    }

    public var address: SocketAddress { service.server.addresses[0] }

    public func udp(_ packet: [UInt8], from source: String = "127.0.0.1", timeoutMilliseconds: Int = 3000) -> [UInt8]? {
        DNSTestClient.udp(packet, to: address, from: source, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Writes a list file into a temporary folder and returns its path.
    public static func listFile(_ name: String, _ text: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Keeps every (name, disposition) the server reported, for tests to inspect.
public final class AnswerRecorder: AnswerObserver {
    // A pthread mutex, which ThreadSanitizer understands (it reports false races inside Synchronization.Mutex).
    private let seen = Locked<[(name: String, disposition: Disposition)]>([])
    public init() {}
    public func observe(_ request: Request, _ answer: Answer) {
        seen.withLock { $0.append((request.query.name.description, answer.disposition)) }
    }
    public var dispositions: [(name: String, disposition: Disposition)] { seen.withLock { $0 } }
    public func last(_ name: String) -> Disposition? { dispositions.last { $0.name == name }?.disposition }
}
