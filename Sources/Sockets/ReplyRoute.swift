import CHushSocket
import Glibc

/// Where a reply goes: the client's address and the local address the query came to (so the reply leaves
/// from the address the client asked). Its buffer pointer is replaced before each send, so it may cross
/// threads.
public struct ReplyRoute: @unchecked Sendable {
    var datagram: hush_datagram

    /// Sends one reply now.
    public func send(_ bytes: [UInt8], on fd: Int32) {
        var outgoing = datagram
        bytes.withUnsafeBufferPointer { bytes in
            outgoing.data = UnsafeMutablePointer(mutating: bytes.baseAddress)
            outgoing.length = bytes.count
            _ = hush_send_batch(fd, &outgoing, 1)
        }
    }
}

/// A turn's replies, their bytes back to back in one buffer the caller keeps, sent in one sendmmsg. The
/// pointers are set only when sending, once the buffer has stopped growing.
public struct OutgoingDatagrams {
    private var datagrams: [hush_datagram] = []

    public init() {}

    public var isEmpty: Bool { datagrams.isEmpty }

    /// The reply of `length` bytes just appended to the buffer goes along `route`.
    public mutating func append(_ route: ReplyRoute, length: Int) {
        var datagram = route.datagram
        datagram.length = length
        datagrams.append(datagram)
    }

    /// Sends every reply from `buffer`, then forgets them (keeping the room).
    public mutating func send(on fd: Int32, from buffer: inout [UInt8]) {
        defer { datagrams.removeAll(keepingCapacity: true) }
        guard !datagrams.isEmpty else { return }
        buffer.withUnsafeMutableBufferPointer { base in
            var offset = 0
            for i in datagrams.indices {
                datagrams[i].data = base.baseAddress! + offset
                offset += datagrams[i].length
            }
            _ = hush_send_batch(fd, &datagrams, UInt32(datagrams.count))
        }
    }
}
