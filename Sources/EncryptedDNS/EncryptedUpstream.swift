import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Resolver
import Sockets

/// What the DoT and DoH upstreams share: their name, TLS context and event loop, their timing, and the
/// memory of a refusal. A query is handed to the loop, and answered at once while the server is refused;
/// otherwise the transport sends it on its kept connection.
public class EncryptedUpstream: StreamUpstream, @unchecked Sendable {
    public let description: String
    let context: NIOSSLContext
    let loop: any EventLoop
    let logger: Logger
    let timing: ConnectionTiming
    /// Touched on `loop` only.
    private var refusal = Refusal()

    init(description: String, tls: ClientTLS, timing: ConnectionTiming, loops: EncryptedEventLoops, logger: Logger) throws {
        self.description = description
        self.context = try tls.context()
        self.loop = loops.group.next()
        self.timing = timing
        self.logger = logger
    }

    public func exchange(_ query: [UInt8], _ done: @escaping @Sendable (Result<[UInt8], UpstreamFailure>) -> Void) {
        loop.execute { [self] in
            if let reason = refusal.reason { return done(.failure(UpstreamFailure("\(description): \(reason)"))) }
            send(query, done)
        }
    }

    /// Sends on the kept connection, opening one when there is none. Called on `loop`.
    func send(_ query: [UInt8], _ done: @escaping @Sendable (Result<[UInt8], UpstreamFailure>) -> Void) {
        preconditionFailure("each transport sends its own way")
    }

    /// The server refused Hush (or Hush refused its certificate): queries fail at once for the backoff.
    /// A certificate that failed verification is looked at once more to say why. Called on `loop`.
    func refused(_ error: any Error, at address: Sockets.SocketAddress?, serverName: String?) {
        let reason = describeTLSFailure(error)
        refusal.remember(reason, for: timing.refusalBackoff)
        guard isCertificateVerificationFailure(error), let address else {
            logger.warning("encrypted upstream refused", metadata: ["upstream": "\(description)", "error": "\(reason)"])
            return
        }
        CertificateDiagnosis.explain(address, serverName: serverName, on: loop, timeout: timing.timeout).whenSuccess { [self] why in
            refusal.remember(why, for: timing.refusalBackoff)
            logger.warning("encrypted upstream refused", metadata: ["upstream": "\(description)", "error": "\(why)"])
        }
    }

    /// A handshake succeeded: whatever refusal there was is over. Called on `loop`.
    func accepted() { refusal.clear() }

    /// Opens a TLS connection to `address` that checks `serverName` (or the address, when nil), closes when
    /// idle, and ends in the transport's own `handlers`.
    func connect(to address: Sockets.SocketAddress, serverName: String?,
                 handlers: @escaping @Sendable () -> [any ChannelHandler]) -> EventLoopFuture<any Channel> {
        let (context, idle) = (context, timing.idleTimeout)
        return ClientBootstrap(group: loop)
            .connectTimeout(timing.timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        [try NIOSSLClientHandler(context: context, serverHostname: serverName), IdleStateHandler(allTimeout: idle)]
                            + handlers())
                }
            }
            .connect(to: address.nio)
    }
}
