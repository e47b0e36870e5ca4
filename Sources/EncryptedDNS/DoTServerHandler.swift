import NIOCore
import NIOSSL
import Server
import Sockets

/// Queries on one DNS-over-TLS connection: each frame is answered as soon as its answer is ready, so a
/// slow forwarded name does not hold up the cached ones behind it (RFC 7766 §6.2.1.1). A client that
/// stops reading stops being read (no unbounded buffering of its answers), and one that closes its side
/// still gets the answers it is owed before the connection closes.
final class DoTServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let processor: QueryProcessor
    let client: IPAddress?
    // Touched on the channel's loop only.
    private var unflushed = false
    private var awaited = 0
    private var inputClosed = false

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
            awaited += 1
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            pending.whenReady { bytes in
                bound.eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.awaited -= 1
                    if !bytes.isEmpty {
                        context.writeAndFlush(handler.wrapOutboundOut(context.channel.allocator.framed(bytes)), promise: nil)
                    }
                    if handler.inputClosed, handler.awaited == 0 { context.close(promise: nil) }
                }
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

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        _ = context.channel.setOption(.autoRead, value: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            if awaited == 0 { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TCP close without TLS's close_notify is how many clients half-close: `inputClosed` follows,
        // and the answers still owed go out first.
        if case NIOSSLError.uncleanShutdown = error { return }
        // A client that fails the handshake or breaks the stream: nothing to answer.
        context.close(promise: nil)
    }
}
