import NIOCore
import Server
import Sockets

/// Queries on one DNS-over-TLS connection: each frame is answered as soon as its answer is ready, so a
/// slow forwarded name does not hold up the cached ones behind it (RFC 7766 §6.2.1.1).
final class DoTServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let processor: QueryProcessor
    let client: IPAddress?
    private var unflushed = false

    init(processor: QueryProcessor, client: IPAddress?) {
        self.processor = processor
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let client else {
            context.close(promise: nil)
            return
        }
        var frame = unwrapInboundIn(data)
        let message = frame.readBytes(length: frame.readableBytes) ?? []
        let reply = message.withUnsafeBufferPointer { processor.process($0, client: client, transport: .tls) }
        switch reply {
        case nil:
            return
        case .now(let bytes)?:
            // Flushed once the read is done: the answers to a batch of pipelined queries share TLS records
            // and one send.
            context.write(wrapOutboundOut(context.channel.allocator.framed(bytes)), promise: nil)
            unflushed = true
        case .later(let pending)?:
            let channel = context.channel
            pending.whenReady { bytes in
                guard !bytes.isEmpty else { return }
                channel.writeAndFlush(channel.allocator.framed(bytes), promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A client that fails the handshake or drops mid-message: nothing to answer.
        context.close(promise: nil)
    }
}
