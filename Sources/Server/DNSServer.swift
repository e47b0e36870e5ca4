import Dispatch
import Glibc
import Logging
import Resolver
import Sockets

/// The listeners: UDP and TCP on each listen address, sharing one port per address.
public final class DNSServer: @unchecked Sendable {
    public struct Settings: Sendable {
        public var listen: [SocketAddress]
        public var tcpIdleTimeoutSeconds: Int = 10
        public var tcpMaxConnections: Int = 256

        public init(listen: [SocketAddress], tcpIdleTimeoutSeconds: Int = 10, tcpMaxConnections: Int = 256) {
            self.listen = listen
            self.tcpIdleTimeoutSeconds = tcpIdleTimeoutSeconds
            self.tcpMaxConnections = tcpMaxConnections
        }
    }

    private var udp: [UDPListener] = []
    private var tcp: [TCPListener] = []
    /// Where the server really listens (port 0 replaced by the kernel's choice).
    public private(set) var addresses: [SocketAddress] = []

    /// Binds every address now, so a taken port fails at start-up with a clear error.
    public init(settings: Settings, processor: QueryProcessor, upstreamReplies: (any UpstreamReplySource)? = nil,
                logger: Logger) throws {
        let tcpSettings = TCPListener.Settings(
            idleTimeoutSeconds: settings.tcpIdleTimeoutSeconds, maxConnections: settings.tcpMaxConnections)
        do {
            for requested in settings.listen {
                let (udpFD, tcpFD, bound) = try Self.bindPair(requested)
                udp.append(UDPListener(fd: udpFD, address: bound, processor: processor, upstreamReplies: upstreamReplies, logger: logger))
                tcp.append(TCPListener(fd: tcpFD, address: bound, processor: processor, settings: tcpSettings, logger: logger))
                addresses.append(bound)
            }
        } catch {
            for listener in udp { close(listener.fd) }
            for listener in tcp { close(listener.fd) }
            throw error
        }
    }

    /// UDP and TCP on the same port; with port 0, the port the kernel gave UDP (retried if TCP has it taken).
    static func bindPair(_ requested: SocketAddress) throws -> (Int32, Int32, SocketAddress) {
        for _ in 0..<20 {
            let udpFD = try Socket.bind(requested, type: Socket.udp)
            var bound = Socket.localAddress(udpFD) ?? requested
            bound.ip = requested.ip
            do {
                let tcpFD = try Socket.bind(bound, type: Socket.tcp)
                return (udpFD, tcpFD, bound)
            } catch let error as SocketError where requested.port == 0 && error.code == EADDRINUSE {
                close(udpFD)
            } catch {
                close(udpFD)
                throw error
            }
        }
        throw SocketError("bind \(requested): no port free for both UDP and TCP", code: EADDRINUSE)
    }

    public func start() {
        for listener in udp { listener.start() }
        for listener in tcp { listener.start() }
    }

    public func stop() {
        for listener in udp { listener.stop() }
        for listener in tcp { listener.stop() }
    }

    public var openTCPConnections: Int { tcp.reduce(0) { $0 + $1.openConnections } }

    /// Every UDP loop turned within the last two seconds (it turns at least every 100 ms).
    public var isHealthy: Bool {
        let now = MonotonicClock.milliseconds()
        return udp.allSatisfy { now &- $0.heartbeat.load(ordering: .relaxed) < 2000 }
    }
}
