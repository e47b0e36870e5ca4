import Foundation
import NIOCore
import NIOHTTP1
import Server
import Sockets

/// One DNS-over-HTTPS request (RFC 8484), on an HTTP/2 stream or an HTTP/1.1 connection: GET with the
/// query in `?dns=` (base64url) or POST with an `application/dns-message` body, on the configured path.
final class DoHServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    static let maxMessage = 65_535
    let processor: QueryProcessor
    let path: String
    let client: IPAddress?
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(processor: QueryProcessor, path: String, client: IPAddress?) {
        self.processor = processor
        self.path = path
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            tooLarge = false
        case .body(var buffer):
            if body.count + buffer.readableBytes > Self.maxMessage { tooLarge = true } else {
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            }
        case .end:
            guard let head else { return }
            self.head = nil
            answer(head, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let (requestPath, query) = Self.split(head.uri)
        guard requestPath == path else { return respond(.notFound, head, context: context) }
        let message: [UInt8]
        switch head.method {
        case .GET:
            guard let encoded = Self.parameter("dns", in: query), let decoded = Self.base64URLDecoded(encoded) else {
                return respond(.badRequest, head, context: context, text: "expected ?dns= with a base64url DNS message")
            }
            message = decoded
        case .POST:
            guard !tooLarge else { return respond(.payloadTooLarge, head, context: context) }
            guard head.headers["content-type"].first?.lowercased().hasPrefix("application/dns-message") == true else {
                return respond(.unsupportedMediaType, head, context: context, text: "expected application/dns-message")
            }
            message = body
        default:
            return respond(.methodNotAllowed, head, context: context)
        }
        guard let client else { return respond(.internalServerError, head, context: context) }
        let reply = message.withUnsafeBufferPointer { processor.process($0, client: client, transport: .https) }
        switch reply {
        case nil:
            respond(.badRequest, head, context: context, text: "not a DNS query")
        case .now(let bytes)?:
            respond(.ok, head, context: context, message: bytes)
        case .later(let pending)?:
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            pending.whenReady { bytes in
                loopBound.eventLoop.execute {
                    let (handler, context) = loopBound.value
                    if bytes.isEmpty {
                        handler.respond(.serviceUnavailable, head, context: context)
                    } else {
                        handler.respond(.ok, head, context: context, message: bytes)
                    }
                }
            }
        }
    }

    private func respond(_ status: HTTPResponseStatus, _ request: HTTPRequestHead, context: ChannelHandlerContext,
                         message: [UInt8]? = nil, text: String? = nil) {
        var headers = HTTPHeaders()
        let body = message ?? Array((text ?? status.reasonPhrase).utf8)
        headers.add(name: "content-type", value: message == nil ? "text/plain; charset=utf-8" : "application/dns-message")
        headers.add(name: "content-length", value: "\(body.count)")
        if message != nil { headers.add(name: "cache-control", value: "max-age=0") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    static func split(_ uri: String) -> (path: Substring, query: Substring) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri[...], "") }
        return (uri[..<mark], uri[uri.index(after: mark)...])
    }

    static func parameter(_ name: String, in query: Substring) -> Substring? {
        for pair in query.split(separator: "&") where pair.hasPrefix(name + "=") {
            return pair.dropFirst(name.count + 1)
        }
        return nil
    }

    /// RFC 4648 §5 without padding, as RFC 8484 §4.1 sends it.
    static func base64URLDecoded(_ text: Substring) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map { Array($0) }
    }
}
