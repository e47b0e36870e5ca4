import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Sockets

/// Why a server's certificate failed verification, in words a person can act on. BoringSSL says only that
/// verification failed; so Hush connects once more without verifying, just to read the certificate the
/// server presents, and looks at its dates. Runs once per refusal, not per query.
enum CertificateDiagnosis {
    static func explain(_ address: Sockets.SocketAddress, serverName: String?, on loop: any EventLoop,
                        timeout: TimeAmount) -> EventLoopFuture<String> {
        let fallback = "certificate refused: not signed by a CA Hush trusts (the system's store, or this upstream's CA file)"
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        guard let context = try? NIOSSLContext(configuration: configuration) else { return loop.makeSucceededFuture(fallback) }
        let promise = loop.makePromise(of: NIOSSLCertificate?.self)
        loop.scheduleTask(in: timeout) { promise.succeed(nil) }
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        try NIOSSLClientHandler(context: context, serverHostname: serverName), PeerCertificateReader(promise),
                    ])
                }
            }
            .connect(to: address.nio)
            .whenComplete { result in
                switch result {
                // Closed once the certificate is read or the time is up, whichever comes first.
                case .success(let channel): promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure: promise.succeed(nil)
                }
            }
        return promise.futureResult.map { certificate in
            guard let certificate else { return fallback }
            let now = Date()
            let notAfter = Date(timeIntervalSince1970: TimeInterval(certificate.notValidAfter))
            let notBefore = Date(timeIntervalSince1970: TimeInterval(certificate.notValidBefore))
            let day = Date.ISO8601FormatStyle().year().month().day()
            if notAfter < now { return "certificate refused: it expired on \(notAfter.formatted(day))" }
            if notBefore > now { return "certificate refused: it is not valid until \(notBefore.formatted(day))" }
            return fallback
        }
    }
}

/// Reads the peer's certificate once the handshake is done, then closes the connection.
private final class PeerCertificateReader: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    let promise: EventLoopPromise<NIOSSLCertificate?>

    init(_ promise: EventLoopPromise<NIOSSLCertificate?>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
            promise.succeed(handler?.peerCertificate)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.succeed(nil)
        context.close(promise: nil)
    }
}
