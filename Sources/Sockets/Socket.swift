import CHushSocket
import Glibc

/// A system call that failed, with what Hush was doing and the errno text.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var code: Int32
    public var description: String { "\(operation): \(String(cString: strerror(code)))" }

    public init(_ operation: String, code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }
}

/// Small wrappers around socket(2) and friends; each returns a plain descriptor the caller owns.
public enum Socket {
    /// A bound socket. UDP sockets get pktinfo and a large receive buffer; TCP sockets listen.
    public static func bind(_ address: SocketAddress, type: Int32, backlog: Int32 = 128) throws -> Int32 {
        let fd = socket(address.family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        _ = hush_setsockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        if address.family == AF_INET6 { _ = hush_setsockopt_int(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
        if type == Int32(SOCK_DGRAM.rawValue) {
            setBufferSizes(fd, 4 << 20)
            _ = hush_enable_pktinfo(fd, address.family)
        }
        let bound = address.withSockaddr { Glibc.bind(fd, $0, $1) }
        guard bound == 0 else {
            let error = SocketError("bind \(address)")
            close(fd)
            throw error
        }
        if type == Int32(SOCK_STREAM.rawValue), listen(fd, backlog) != 0 {
            let error = SocketError("listen \(address)")
            close(fd)
            throw error
        }
        _ = hush_set_nonblocking(fd)
        return fd
    }

    /// The address a bound socket ended up on (for port 0).
    public static func localAddress(_ fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return result == 0 ? SocketAddress(storage: storage) : nil
    }

    /// A non-blocking UDP socket for talking to `peer`, on a port the kernel picks at random. It is not
    /// connected: a connected socket reports ICMP errors as EPOLLERR, which libdispatch's read sources never
    /// deliver and keep re-arming, spinning a core. The caller checks each reply's source instead.
    public static func udpClient(for peer: SocketAddress) throws -> Int32 {
        let fd = socket(peer.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        _ = hush_set_nonblocking(fd)
        // One socket carries many questions at once; a burst of replies must not overflow it.
        setBufferSizes(fd, 1 << 20)
        return fd
    }

    /// Large buffers so bursts are not dropped. The plain options are capped by net.core.rmem_max/wmem_max
    /// (208 KiB on a stock kernel); the FORCE variants pass the cap when started as root, before privileges
    /// are dropped.
    static func setBufferSizes(_ fd: Int32, _ bytes: Int32) {
        if hush_setsockopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes) != 0 {
            _ = hush_setsockopt_int(fd, SOL_SOCKET, SO_RCVBUF, bytes)
        }
        if hush_setsockopt_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, bytes) != 0 {
            _ = hush_setsockopt_int(fd, SOL_SOCKET, SO_SNDBUF, bytes)
        }
    }

    /// Sends one datagram to `peer`. Returns whether all of it went.
    public static func sendDatagram(_ bytes: [UInt8], on fd: Int32, to peer: SocketAddress) -> Bool {
        let sent = bytes.withUnsafeBytes { raw in peer.withSockaddr { sendto(fd, raw.baseAddress, raw.count, 0, $0, $1) } }
        return sent == bytes.count
    }

    /// Receives one datagram without blocking, with its source. nil when none is waiting.
    public static func receive(on fd: Int32, into buffer: inout [UInt8]) -> (count: Int, from: SocketAddress?)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let n = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, &length)
                }
            }
        }
        return n > 0 ? (n, SocketAddress(storage: storage)) : nil
    }

    /// A blocking TCP socket connected to `peer` with send and receive timeouts.
    public static func connectedTCP(to peer: SocketAddress, timeoutMilliseconds: Int) throws -> Int32 {
        let fd = socket(peer.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        _ = hush_set_timeouts(fd, Int32(timeoutMilliseconds))
        let connected = peer.withSockaddr { connect(fd, $0, $1) }
        guard connected == 0 else {
            let error = SocketError("connect \(peer)")
            close(fd)
            throw error
        }
        return fd
    }

    /// Sets the send and receive timeouts of a blocking socket.
    public static func setTimeouts(_ fd: Int32, milliseconds: Int) {
        _ = hush_set_timeouts(fd, Int32(milliseconds))
    }

    /// Writes all of `bytes` to a blocking socket.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + written, bytes.count - written, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw SocketError("send") }
            written += n
        }
    }

    /// Reads exactly `count` bytes from a blocking socket.
    public static func readExactly(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var read = 0
        while read < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + read, count - read, 0) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw SocketError(n == 0 ? "connection closed" : "recv", code: n == 0 ? ECONNRESET : errno) }
            read += n
        }
        return buffer
    }

    /// One DNS message over TCP: 2-byte length, then the message (RFC 7766).
    public static func tcpExchange(_ query: [UInt8], with peer: SocketAddress, timeoutMilliseconds: Int) throws -> [UInt8] {
        let fd = try connectedTCP(to: peer, timeoutMilliseconds: timeoutMilliseconds)
        defer { close(fd) }
        try writeAll(fd, [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query)
        let header = try readExactly(fd, 2)
        return try readExactly(fd, Int(header[0]) << 8 | Int(header[1]))
    }
}

public extension Socket {
    static let udp = Int32(SOCK_DGRAM.rawValue)
    static let tcp = Int32(SOCK_STREAM.rawValue)

    /// Accepts one waiting connection as a non-blocking socket: its descriptor and the peer, or nil when
    /// none is waiting.
    static func acceptNonblocking(_ fd: Int32) -> (fd: Int32, peer: SocketAddress?)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { hush_accept_nonblocking(fd, $0, &length) }
        }
        guard client >= 0 else { return nil }
        return (client, SocketAddress(storage: storage))
    }
}
