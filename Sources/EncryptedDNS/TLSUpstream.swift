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
public final class TLSUpstream: EncryptedUpstream, @unchecked Sendable {
    public struct Settings: Sendable {
        public var address: Sockets.SocketAddress
        /// The name the certificate must carry (and SNI); nil checks the address instead.
        public var serverName: String?
        public var tls: ClientTLS
        public var timing = ConnectionTiming()

        public init(address: Sockets.SocketAddress, serverName: String?, tls: ClientTLS) {
            self.address = address
            self.serverName = serverName
            self.tls = tls
        }
    }

    let settings: Settings
    /// Touched on `loop` only.
    private var connection: TLSUpstreamConnection?

    public init(_ settings: Settings, description: String, loops: EncryptedEventLoops, logger: Logger) throws {
        self.settings = settings
        try super.init(description: description, tls: settings.tls, timing: settings.timing, loops: loops, logger: logger)
    }

    override func send(_ query: [UInt8], _ done: @escaping @Sendable (Result<[UInt8], UpstreamFailure>) -> Void) {
        (connection ?? open()).send(query, timeout: timing.timeout, done)
    }

    private func open() -> TLSUpstreamConnection {
        let connection = TLSUpstreamConnection(upstream: self)
        self.connection = connection
        let connecting = connect(to: settings.address, serverName: settings.serverName) {
            [ByteToMessageHandler(LengthPrefixedDecoder()), TLSUpstreamHandler(connection: connection)]
        }
        connecting.whenComplete { result in
            switch result {
            case .success(let channel): connection.connected(channel)
            case .failure(let error): connection.ended(because: error, beforeHandshake: true)
            }
        }
        return connection
    }

    /// Called on `loop` when a connection ends; a refusal before the handshake finished holds off retries.
    fileprivate func ended(_ connection: TLSUpstreamConnection, error: (any Error)?, reason: String, refused: Bool) {
        if self.connection === connection { self.connection = nil }
        if refused, let error {
            self.refused(error, at: settings.address, serverName: settings.serverName)
        } else {
            logger.debug("encrypted upstream connection closed", metadata: ["upstream": "\(description)", "reason": "\(reason)"])
        }
    }

}

/// One TLS connection to the upstream and the queries waiting on it. Lives on the upstream's loop.
final class TLSUpstreamConnection: @unchecked Sendable {
    unowned let upstream: TLSUpstream
    private var channel: (any Channel)?
    private var inFlight = InFlightQueries()
    /// Queries written before the TCP connection was up.
    private var queued: [ByteBuffer] = []
    private var handshakeDone = false
    /// Why the connection ended, once it has.
    private var endReason: UpstreamFailure?

    init(upstream: TLSUpstream) {
        self.upstream = upstream
    }

    func send(_ query: [UInt8], timeout: TimeAmount, _ done: @escaping @Sendable (Result<[UInt8], UpstreamFailure>) -> Void) {
        // A connect can fail before `open` returns (no route, say): the query fails now, with the reason.
        if let endReason { return done(.failure(endReason)) }
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
        guard endReason == nil else {
            channel.close(promise: nil)
            return
        }
        self.channel = channel
        for frame in queued { channel.write(frame, promise: nil) }
        queued = []
        channel.flush()
        // A server that takes the connection but never finishes the handshake is a refusal, not a wait.
        upstream.loop.scheduleTask(in: upstream.timing.timeout) { [self] in
            if !handshakeDone { ended(because: HandshakeTimeout()) }
        }
    }

    func received(_ reply: [UInt8]) {
        _ = inFlight.answer(reply)
    }

    func handshakeCompleted() {
        handshakeDone = true
        upstream.accepted()
    }

    /// The connection is gone: every query on it fails now, so the forwarding stage can try the next upstream.
    func ended(because error: (any Error)?, beforeHandshake: Bool = false) {
        guard endReason == nil else { return }
        let refused = error != nil && (beforeHandshake || !handshakeDone)
        let reason = error.map(describeTLSFailure) ?? "connection closed"
        let failure = UpstreamFailure("\(upstream.description): \(refused ? reason : "connection lost (\(reason))")")
        endReason = failure
        upstream.ended(self, error: error, reason: reason, refused: refused)
        inFlight.failAll(failure)
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
