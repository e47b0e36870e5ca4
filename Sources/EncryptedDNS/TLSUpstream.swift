import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Resolver
import Sockets

/// An upstream reached by DNS over TLS (RFC 7858). One connection at a time, opened on first use and
/// kept: queries are pipelined on it and replies matched by ID in whatever order they come. The
/// connection closes after sitting idle; when it breaks, the queries on it fail at once so the forwarding
/// stage retries them elsewhere, and the next query opens a new one. A server whose certificate is refused
/// is not tried again for a few seconds, so a misconfigured upstream costs one handshake, not one per query.
public final class TLSUpstream: StreamUpstream, @unchecked Sendable {
    public struct Settings: Sendable {
        public var address: Sockets.SocketAddress
        /// The name the certificate must carry (and SNI); nil checks the address instead.
        public var serverName: String?
        public var tls: ClientTLS
        public var timeoutMilliseconds = 1500
        public var idleSeconds = 30
        /// How long a refused server is left alone.
        public var refusalBackoffSeconds = 5
        var timeout: TimeAmount { .milliseconds(Int64(timeoutMilliseconds)) }
        var idleTimeout: TimeAmount { .seconds(Int64(idleSeconds)) }
        var refusalBackoff: TimeAmount { .seconds(Int64(refusalBackoffSeconds)) }

        public init(address: Sockets.SocketAddress, serverName: String?, tls: ClientTLS) {
            self.address = address
            self.serverName = serverName
            self.tls = tls
        }
    }

    public let description: String
    let settings: Settings
    let context: NIOSSLContext
    let loop: any EventLoop
    let logger: Logger
    // Touched on `loop` only.
    private var connection: TLSUpstreamConnection?
    private var refused: (until: NIODeadline, reason: String)?

    public init(_ settings: Settings, description: String, loops: EncryptedEventLoops, logger: Logger) throws {
        self.settings = settings
        self.description = description
        self.context = try settings.tls.context()
        self.loop = loops.group.next()
        self.logger = logger
    }

    public func exchange(_ query: [UInt8], _ done: @escaping @Sendable (Result<[UInt8], UpstreamFailure>) -> Void) {
        loop.execute { [self] in
            if let refused, refused.until > .now() {
                done(.failure(UpstreamFailure("\(description): \(refused.reason)")))
                return
            }
            let connection = self.connection ?? open()
            connection.send(query, timeout: settings.timeout, done)
        }
    }

    var openConnection: Bool { (try? loop.submit { self.connection != nil }.wait()) ?? false }

    private func open() -> TLSUpstreamConnection {
        let connection = TLSUpstreamConnection(upstream: self)
        self.connection = connection
        let (context, serverName, idle) = (context, settings.serverName, settings.idleTimeout)
        ClientBootstrap(group: loop)
            .connectTimeout(settings.timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try NIOSSLClientHandler(context: context, serverHostname: serverName),
                        IdleStateHandler(allTimeout: idle),
                        ByteToMessageHandler(LengthPrefixedDecoder()),
                        TLSUpstreamHandler(connection: connection),
                    ])
                }
            }
            .connect(to: settings.address.nio)
            .whenComplete { result in
                switch result {
                case .success(let channel): connection.connected(channel)
                case .failure(let error): connection.ended(because: error, beforeHandshake: true)
                }
            }
        return connection
    }

    /// Called on `loop` when a connection ends; a refusal before the handshake finished holds off retries.
    fileprivate func ended(_ connection: TLSUpstreamConnection, reason: String, refusal: Bool) {
        if self.connection === connection { self.connection = nil }
        if refusal {
            refused = (.now() + settings.refusalBackoff, reason)
            logger.warning("encrypted upstream refused", metadata: ["upstream": "\(description)", "error": "\(reason)"])
        } else {
            logger.debug("encrypted upstream connection closed", metadata: ["upstream": "\(description)", "reason": "\(reason)"])
        }
    }

    fileprivate func handshakeSucceeded() { refused = nil }
}

/// One TLS connection to the upstream and the queries waiting on it. Lives on the upstream's loop.
final class TLSUpstreamConnection: @unchecked Sendable {
    unowned let upstream: TLSUpstream
    private var channel: (any Channel)?
    private var inFlight = InFlightQueries()
    /// Queries written before the TCP connection was up.
    private var queued: [ByteBuffer] = []
    private var handshakeDone = false
    private var isEnded = false

    init(upstream: TLSUpstream) {
        self.upstream = upstream
    }

    func send(_ query: [UInt8], timeout: TimeAmount, _ done: @escaping @Sendable (Result<[UInt8], UpstreamFailure>) -> Void) {
        guard inFlight.count < 60_000 else {   // the ID space is 16 bits
            done(.failure(UpstreamFailure("\(upstream.description): too many queries waiting on one connection")))
            return
        }
        let id = inFlight.freeID()
        inFlight.add(id: id, originalID: query.messageID, deadline: .now() + timeout, done)
        sweepLater()
        let frame = ByteBufferAllocator().framed(query.withID(id))
        if let channel {
            channel.write(frame, promise: nil)
            flushLater(channel)
        } else {
            queued.append(frame)
        }
    }

    private var flushPending = false
    private var sweepPending = false

    /// One flush (one TLS record, one send) for all the queries that arrive in the same turn of the loop.
    private func flushLater(_ channel: any Channel) {
        guard !flushPending else { return }
        flushPending = true
        upstream.loop.execute { [self] in
            flushPending = false
            channel.flush()
        }
    }

    /// While queries wait, a sweep every 100 ms fails the late ones.
    private func sweepLater() {
        guard !sweepPending else { return }
        sweepPending = true
        upstream.loop.scheduleTask(in: .milliseconds(100)) { [self] in
            sweepPending = false
            inFlight.expire(now: .now(), UpstreamFailure("\(upstream.description) timed out"))
            if !inFlight.isEmpty { sweepLater() }
        }
    }

    func connected(_ channel: any Channel) {
        guard !isEnded else {
            channel.close(promise: nil)
            return
        }
        self.channel = channel
        for frame in queued { channel.write(frame, promise: nil) }
        queued = []
        channel.flush()
    }

    func received(_ reply: [UInt8]) {
        _ = inFlight.answer(reply)
    }

    func handshakeCompleted() {
        handshakeDone = true
        upstream.handshakeSucceeded()
    }

    /// The connection is gone: every query on it fails now, so the forwarding stage can try the next upstream.
    func ended(because error: (any Error)?, beforeHandshake: Bool = false) {
        guard !isEnded else { return }
        isEnded = true
        let refusal = error != nil && (beforeHandshake || !handshakeDone)
        let reason = error.map(describeTLSFailure) ?? "connection closed"
        upstream.ended(self, reason: reason, refusal: refusal)
        inFlight.failAll(UpstreamFailure("\(upstream.description): \(refusal ? reason : "connection lost (\(reason))")"))
        channel?.close(promise: nil)
    }

    func idle() {
        if inFlight.isEmpty { ended(because: nil) }
    }
}

/// The pipeline's end: whole DNS messages in, connection events to the connection.
final class TLSUpstreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let connection: TLSUpstreamConnection

    init(connection: TLSUpstreamConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var message = unwrapInboundIn(data)
        connection.received(message.readBytes(length: message.readableBytes) ?? [])
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { connection.handshakeCompleted() }
        if event is IdleStateHandler.IdleStateEvent { connection.idle() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.ended(because: error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.ended(because: nil)
        context.fireChannelInactive()
    }
}
