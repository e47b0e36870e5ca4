import NIOCore

/// DNS over a stream (RFC 1035 §4.2.2, RFC 7858): each message behind a two-byte length.
struct LengthPrefixedDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              let message = buffer.getSlice(at: buffer.readerIndex + 2, length: Int(length)) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2 + Int(length))
        context.fireChannelRead(wrapInboundOut(message))
        return .continue
    }
}

extension ByteBufferAllocator {
    /// A message with its two-byte length in front, ready to write to a stream.
    func framed(_ message: [UInt8]) -> ByteBuffer {
        var buffer = buffer(capacity: message.count + 2)
        buffer.writeInteger(UInt16(message.count))
        buffer.writeBytes(message)
        return buffer
    }
}

extension Array where Element == UInt8 {
    /// The message with its ID replaced (the first two bytes).
    func withID(_ id: UInt16) -> [UInt8] {
        var copy = self
        if copy.count >= 2 {
            copy[0] = UInt8(id >> 8)
            copy[1] = UInt8(id & 0xFF)
        }
        return copy
    }

    var messageID: UInt16 { count >= 2 ? UInt16(self[0]) << 8 | UInt16(self[1]) : 0 }
}
