import Dispatch
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Resolver
import Sockets

/// An upstream reached by DNS over HTTPS (RFC 8484): POSTs of `application/dns-message` multiplexed as
/// HTTP/2 streams on one kept connection, each query with ID 0 as the RFC asks (the asker's ID is put
/// back in the reply). The server's address is given, or found by the bootstrap servers over plain DNS
/// (never through Hush itself) when the connection opens.
public final class HTTPSUpstream: EncryptedUpstream, @unchecked Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var path: String
        /// The server's address, when given; otherwise looked up with `bootstrap`.
        public var address: IPAddress?
        public var bootstrap: [Sockets.SocketAddress] = []
        public var tls: ClientTLS
        public var timing = ConnectionTiming()

        public init(host: String, port: Int, path: String, address: IPAddress?, tls: ClientTLS) {
            self.host = host
            self.port = port
            self.path = path
            self.address = address
            self.tls = tls
            self.tls.applicationProtocols = ["h2"]
        }
    }

    let settings: Settings
    /// Touched on `loop` only.
    private var connection: EventLoopFuture<HTTPSConnection>?
    /// The address the last connection went to, for explaining a refused certificate.
    private var connectingTo: Sockets.SocketAddress?

    public init(_ settings: Settings, description: String, loops: EncryptedEventLoops, logger: Logger) throws {
        self.settings = settings
        try super.init(description: description, tls: settings.tls, timing: settings.timing, loops: loops, logger: logger)
    }

    override func send(_ query: [UInt8], _ done: @escaping @Sendable (Result<[UInt8], UpstreamFailure>) -> Void) {
        // The deadline starts now, so a connection that hangs while opening fails its queries in time too.
        let exchange = DoHExchange(originalID: query.messageID, upstream: description, done: done)
        exchange.timeout = loop.scheduleTask(in: timing.timeout) { [description] in
            exchange.finish(.failure(UpstreamFailure("\(description) timed out")))
        }
        let opened = connection ?? open()
        opened.whenComplete { [self] result in
            switch result {
            case .success(let connection):
                connection.send(query, exchange, to: settings)
                // HTTP/2 stream IDs run out after 2^30 streams: well before that, new queries go to a new
                // connection and this one closes once idle.
                if connection.streams >= HTTPSConnection.streamsPerConnection, self.connection === opened { self.connection = nil }
            case .failure(let error):
                exchange.finish(.failure(UpstreamFailure("\(description): \(describeTLSFailure(error))")))
            }
        }
    }

    private func open() -> EventLoopFuture<HTTPSConnection> {
        let host = settings.host
        let sni = IPAddress(host) == nil ? host : nil
        let handshake = loop.makePromise(of: Void.self)
        let opened = address().flatMap { [self] address in
            connectingTo = address
            return connect(to: address, serverName: sni) { [IdleCloser(), HandshakeWatcher(handshake)] }
        }.flatMap { [timing] channel -> EventLoopFuture<HTTPSConnection> in
            // The handshake's own deadline, from the moment TCP is up (finding the address has its own).
            channel.eventLoop.scheduleTask(in: timing.timeout) { handshake.fail(HandshakeTimeout()) }
            // A refused certificate fails the handshake after TCP connected: wait for it, so the refusal
            // is reported as such rather than as a lost stream.
            return handshake.futureResult.flatMapError { error in
                channel.close(promise: nil)
                return channel.eventLoop.makeFailedFuture(error)
            }.flatMapThrowing {
                let multiplexer = HTTP2StreamMultiplexer(mode: .client, channel: channel, inboundStreamInitializer: nil)
                try channel.pipeline.syncOperations.addHandlers([NIOHTTP2Handler(mode: .client), multiplexer])
                return HTTPSConnection(channel: channel, multiplexer: multiplexer)
            }
        }
        connection = opened
        opened.whenComplete { [self] result in
            switch result {
            case .success(let connection):
                connection.channel.closeFuture.whenComplete { [self] _ in
                    loop.execute { if self.connection === opened { self.connection = nil } }
                    logger.debug("encrypted upstream connection closed", metadata: ["upstream": "\(description)"])
                }
            case .failure(let error):
                handshake.fail(error)   // a promise must not be left unfulfilled
                if self.connection === opened { self.connection = nil }
                refused(error, at: connectingTo, serverName: sni)
            }
        }
        return opened
    }

    /// The server's address: given, or looked up by the bootstrap servers off the event loop.
    private func address() -> EventLoopFuture<Sockets.SocketAddress> {
        let (settings, promise) = (settings, loop.makePromise(of: Sockets.SocketAddress.self))
        if let address = settings.address {
            promise.succeed(Sockets.SocketAddress(ip: address, port: UInt16(settings.port)))
        } else {
            DispatchQueue.global().async {
                promise.completeWith(Result {
                    Sockets.SocketAddress(ip: try Bootstrap.lookup(settings.host, using: settings.bootstrap, timeoutMilliseconds: 1000),
                                          port: UInt16(settings.port))
                })
            }
        }
        return promise.futureResult
    }
}

/// One HTTP/2 connection to a DoH server. Lives on its channel's loop.
final class HTTPSConnection: @unchecked Sendable {
    static let streamsPerConnection = 1 << 24
    let channel: any Channel
    let multiplexer: HTTP2StreamMultiplexer
    private(set) var streams = 0

    init(channel: any Channel, multiplexer: HTTP2StreamMultiplexer) {
        self.channel = channel
        self.multiplexer = multiplexer
    }

    /// One query, one stream: POST the message, read the status and body. The exchange already carries
    /// its deadline.
    func send(_ query: [UInt8], _ exchange: DoHExchange, to settings: HTTPSUpstream.Settings) {
        guard !exchange.isFinished else { return }
        streams += 1
        let promise = channel.eventLoop.makePromise(of: (any Channel).self)
        multiplexer.createStreamChannel(promise: promise) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandlers([
                    HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https),
                    DoHClientStreamHandler(exchange: exchange),
                ])
            }
        }
        promise.futureResult.whenComplete { [channel] result in
            switch result {
            case .failure(let error):
                // A connection that cannot open streams is of no more use: closing it makes the next query open another.
                exchange.finish(.failure(UpstreamFailure("\(exchange.upstream): cannot open a stream (\(error))")))
                channel.close(promise: nil)
            case .success(let stream):
                guard !exchange.isFinished else { return stream.close(promise: nil) }
                exchange.stream = stream
                var headers = HTTPHeaders()
                let host = settings.host.contains(":") ? "[\(settings.host)]" : settings.host
                headers.add(name: "host", value: settings.port == 443 ? host : "\(host):\(settings.port)")
                headers.add(name: "content-type", value: "application/dns-message")
                headers.add(name: "accept", value: "application/dns-message")
                headers.add(name: "content-length", value: "\(query.count)")
                let head = HTTPRequestHead(version: .http2, method: .POST, uri: settings.path, headers: headers)
                stream.write(HTTPClientRequestPart.head(head), promise: nil)
                stream.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: query.withID(0)))), promise: nil)
                stream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            }
        }
    }
}

/// One DoH query's state; finished exactly once, on its stream's loop.
final class DoHExchange: @unchecked Sendable {
    let originalID: UInt16
    let upstream: String
    private var done: (@Sendable (Result<[UInt8], UpstreamFailure>) -> Void)?
    var timeout: Scheduled<Void>?
    /// The stream it was sent on, closed if the deadline comes first.
    var stream: (any Channel)?

    init(originalID: UInt16, upstream: String, done: @escaping @Sendable (Result<[UInt8], UpstreamFailure>) -> Void) {
        self.originalID = originalID
        self.upstream = upstream
        self.done = done
    }

    var isFinished: Bool { done == nil }

    func finish(_ result: Result<[UInt8], UpstreamFailure>) {
        guard let done else { return }
        self.done = nil
        timeout?.cancel()
        stream?.close(promise: nil)
        stream = nil
        done(result.map { $0.withID(originalID) })
    }
}

/// Reads one DoH response on its stream.
final class DoHClientStreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let exchange: DoHExchange
    private var status: HTTPResponseStatus?
    private var body: [UInt8] = []

    init(exchange: DoHExchange) {
        self.exchange = exchange
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body(var buffer):
            guard body.count + buffer.readableBytes <= 65_535 else {
                exchange.finish(.failure(UpstreamFailure("\(exchange.upstream): reply larger than a DNS message")))
                context.close(promise: nil)
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            if status == .ok {
                exchange.finish(.success(body))
            } else {
                exchange.finish(.failure(UpstreamFailure("\(exchange.upstream): HTTP \(status.map { "\($0.code)" } ?? "without a status")")))
            }
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        exchange.finish(.failure(UpstreamFailure("\(exchange.upstream): \(describeTLSFailure(error))")))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange.finish(.failure(UpstreamFailure("\(exchange.upstream): connection lost")))
        context.fireChannelInactive()
    }
}

/// Tells when the TLS handshake is done or why it failed (a second completion of the promise is ignored).
final class HandshakeWatcher: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    private let handshake: EventLoopPromise<Void>

    init(_ handshake: EventLoopPromise<Void>) {
        self.handshake = handshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { handshake.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handshake.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}
