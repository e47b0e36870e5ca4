import CHushSocket
import Glibc

/// Buffers for receiving many datagrams in one recvmmsg, with each one's source.
public final class DatagramBatch: @unchecked Sendable {
    public let count: Int
    private let size: Int
    private let buffers: UnsafeMutableRawPointer
    private var datagrams: [hush_datagram]

    public init(count: Int, size: Int) {
        self.count = count
        self.size = size
        buffers = .allocate(byteCount: count * size, alignment: 16)
        datagrams = (0..<count).map { _ in hush_datagram() }
        for i in 0..<count {
            datagrams[i].data = (buffers + i * size).assumingMemoryBound(to: UInt8.self)
            datagrams[i].capacity = size
        }
    }

    deinit { buffers.deallocate() }

    /// Takes whatever is queued on a socket, up to `count`, without waiting. Returns how many, or -1 when
    /// the socket reports an error (errno says which).
    public func receive(on fd: Int32) -> Int {
        Int(hush_recv_batch(fd, &datagrams, UInt32(count), 0))
    }

    /// Where a reply to the i-th datagram of the last receive goes (its source, and the local address it
    /// came to when the socket asked for packet info).
    public func route(_ i: Int) -> ReplyRoute {
        ReplyRoute(datagram: datagrams[i])
    }

    /// The i-th datagram of the last receive (valid until the next) and where it came from. A datagram cut
    /// short by the buffer comes back empty.
    public subscript(i: Int) -> (bytes: UnsafeBufferPointer<UInt8>, source: SocketAddress?) {
        let datagram = datagrams[i]
        return (UnsafeBufferPointer(start: datagram.data, count: datagram.length), SocketAddress(storage: datagram.peer))
    }
}
