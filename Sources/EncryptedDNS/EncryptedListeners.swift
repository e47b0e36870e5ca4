import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Server
import Sockets
import Synchronization

/// DNS over TLS (RFC 7858) and over HTTPS (RFC 8484) for the household's devices. Every query goes through
/// the same processor as plain DNS (access control, rate limits, blocking, cache, stats by the
/// connection's address), so an encrypted client gets exactly what a plain one gets. Connections follow
/// RFC 7766/7858: an idle timeout, a cap on open connections shared with nothing else, and the timeout
/// offered to clients that send edns-tcp-keepalive.
public final class EncryptedListeners: @unchecked Sendable {
    public struct Settings: Sendable {
        public var tlsListen: [Sockets.SocketAddress] = []
        public var httpsListen: [Sockets.SocketAddress] = []
        public var httpsPath = "/dns-query"
        public var idleTimeoutSeconds = 10
        public var maxConnections = 256
        /// Clients allowed to connect; others are closed before the TLS handshake costs anything. Empty
        /// allows everyone (the resolver stages still check each query).
        public var allowedClients: [AddressRange] = []

        public init() {}
    }

    let settings: Settings
    let logger: Logger
    /// Set by `start`: the listeners bind first, so that their ports are known to the stages (DDR).
    private let processor = Mutex<QueryProcessor?>(nil)
    private var channels: [any Channel] = []
    /// Where the listeners really listen (port 0 replaced by the kernel's choice).
    public private(set) var tlsAddresses: [Sockets.SocketAddress] = []
    public private(set) var httpsAddresses: [Sockets.SocketAddress] = []
    /// The connections now open: counted against the cap, and closed on stop.
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let refusedSinceWarning = Atomic<Int>(0)

    public var openConnections: Int { connections.withLock { $0.count } }
    private let contexts: ServerContexts

    /// Binds every address now, so a taken port fails at start-up with a clear error. Connections are
    /// turned away until `start`.
    public init(settings: Settings, identity: ServerIdentity, loops: EncryptedEventLoops, logger: Logger) throws {
        let group = loops.group
        self.settings = settings
        self.logger = logger
        let contexts = try ServerContexts(identity)
        self.contexts = contexts
        do {
            for address in settings.tlsListen {
                let channel = try bind(address, group: group, halfClosure: true) { channel, processor in
                    try channel.pipeline.syncOperations.addHandlers([
                        NIOSSLServerHandler(context: contexts.current.dot),
                        ByteToMessageHandler(LengthPrefixedDecoder()),
                        DoTServerHandler(processor: processor, client: IPAddress(channel.remoteAddress)),
                    ])
                }
                tlsAddresses.append(Self.address(of: channel, requested: address))
                channels.append(channel)
            }
            for address in settings.httpsListen {
                let path = settings.httpsPath
                let channel = try bind(address, group: group) { channel, processor in
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: contexts.current.doh))
                    let client = IPAddress(channel.remoteAddress)
                    _ = channel.configureCommonHTTPServerPipeline { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(DoHServerHandler(processor: processor, path: path, client: client))
                        }
                    }
                }
                httpsAddresses.append(Self.address(of: channel, requested: address))
                channels.append(channel)
            }
        } catch {
            for channel in channels { channel.close(promise: nil) }
            throw error
        }
    }

    /// A listening socket whose connections get the idle timeout, the cap, and then `configure`.
    private func bind(_ address: Sockets.SocketAddress, group: any EventLoopGroup, halfClosure: Bool = false,
                      configure: @escaping @Sendable (any Channel, QueryProcessor) throws -> Void) throws -> any Channel {
        let idle = TimeAmount.seconds(Int64(settings.idleTimeoutSeconds))
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        if !address.ip.isIPv4 {
            // IPv6 only, as the plain listeners are, so "0.0.0.0:853" and "[::]:853" can both be bound.
            bootstrap = bootstrap.serverChannelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        return try bootstrap
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client may close its side once it has sent its queries: the answers still go back.
            .childChannelOption(.allowRemoteHalfClosure, value: halfClosure)
            .childChannelInitializer { [self] channel in
                guard let processor = processor.withLock({ $0 }), admit(channel) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([IdleStateHandler(allTimeout: idle), IdleCloser()])
                    try configure(channel, processor)
                }
            }
            .bind(to: address.nio).wait()
    }

    /// Counts the connection in, or refuses it: a client outside the allowed ranges, or one past the cap
    /// (warned about at most once a burst, not per connection).
    private func admit(_ channel: any Channel) -> Bool {
        if !settings.allowedClients.isEmpty {
            guard let client = IPAddress(channel.remoteAddress), settings.allowedClients.contains(where: { $0.contains(client) }) else {
                return false
            }
        }
        let key = ObjectIdentifier(channel)
        let admitted = connections.withLock { open in
            guard open.count < settings.maxConnections else { return false }
            open[key] = channel
            return true
        }
        guard admitted else {
            if refusedSinceWarning.add(1, ordering: .relaxed).oldValue == 0 {
                logger.warning("encrypted connection refused: \(settings.maxConnections) already open")
            }
            return false
        }
        channel.closeFuture.whenComplete { [self] _ in
            let nowEmpty = connections.withLock { open in
                open[key] = nil
                return open.isEmpty
            }
            if nowEmpty { refusedSinceWarning.store(0, ordering: .relaxed) }
        }
        return true
    }

    static func address(of channel: any Channel, requested: Sockets.SocketAddress) -> Sockets.SocketAddress {
        Sockets.SocketAddress(ip: requested.ip, port: UInt16(channel.localAddress?.port ?? Int(requested.port)))
    }

    /// New connections present `identity` from now on (a renewed certificate, on SIGHUP); open ones keep
    /// theirs. A certificate and key that do not make a TLS context are refused and the old ones stay.
    public func replaceIdentity(_ identity: ServerIdentity) throws {
        try contexts.replace(with: identity)
    }

    /// Starts answering connections with `processor`.
    public func start(_ processor: QueryProcessor) {
        self.processor.withLock { $0 = processor }
    }

    /// Stops listening and closes every open connection.
    public func stop() {
        for channel in channels { try? channel.close().wait() }
        channels = []
        for connection in connections.withLock({ Array($0.values) }) { try? connection.close().wait() }
    }
}

/// Closes a connection that has been quiet for the idle timeout (RFC 7766 §6.2.3).
final class IdleCloser: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// The TLS contexts new connections get, for DoT and for DoH (which offers HTTP/2 and HTTP/1.1); replaced
/// whole when the certificate is reloaded.
final class ServerContexts: Sendable {
    private let contexts: Mutex<(dot: NIOSSLContext, doh: NIOSSLContext)>

    init(_ identity: ServerIdentity) throws {
        contexts = Mutex(try Self.make(identity))
    }

    var current: (dot: NIOSSLContext, doh: NIOSSLContext) { contexts.withLock { $0 } }

    func replace(with identity: ServerIdentity) throws {
        let made = try Self.make(identity)
        contexts.withLock { $0 = made }
    }

    static func make(_ identity: ServerIdentity) throws -> (dot: NIOSSLContext, doh: NIOSSLContext) {
        var dot = TLSConfiguration.makeServerConfiguration(
            certificateChain: identity.chain.map { .certificate($0) }, privateKey: .privateKey(identity.key))
        dot.minimumTLSVersion = .tlsv12
        dot.applicationProtocols = ["dot"]
        var doh = dot
        doh.applicationProtocols = ["h2", "http/1.1"]
        return (try NIOSSLContext(configuration: dot), try NIOSSLContext(configuration: doh))
    }
}
