import DNSWire
import Foundation
import Glibc
import Sockets

/// Sends raw queries to a server under test and returns raw replies.
public enum DNSTestClient {
    /// A query in wire form. `name` keeps its letter case.
    public static func query(
        _ name: String, _ type: RecordType = .a, id: UInt16 = .random(in: 0...UInt16.max), edns: EDNS? = nil,
        recursionDesired: Bool = true, opcode: UInt8 = 0
    ) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), (opcode << 3) | (recursionDesired ? 1 : 0), 0, 0, 1, 0, 0, 0, 0, 0, edns == nil ? 0 : 1]
        for label in name.split(separator: ".") {
            out.append(UInt8(label.utf8.count))
            out += Array(label.utf8)
        }
        out += [0, UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1]
        if let edns {
            out += [0, 0, 41, UInt8(edns.udpSize >> 8), UInt8(edns.udpSize & 0xFF), 0, edns.version, edns.dnssecOK ? 0x80 : 0, 0, 0, 0]
        }
        return out
    }

    /// One UDP exchange from `source` (another loopback address acts as another device). nil on timeout.
    public static func udp(_ packet: [UInt8], to server: SocketAddress, from source: String = "127.0.0.1", timeoutMilliseconds: Int = 3000) -> [UInt8]? {
        let fd = socket(server.family, Socket.udp, 0)
        defer { close(fd) }
        if let local = SocketAddress(source, defaultPort: 0) {
            _ = local.withSockaddr { bind(fd, $0, $1) }
        }
        _ = hushTestSetTimeout(fd, milliseconds: timeoutMilliseconds)
        _ = server.withSockaddr { connect(fd, $0, $1) }
        _ = packet.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 65_535)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[0..<n]) : nil
    }

    /// Sends every packet in one TCP write (pipelined) and reads that many framed replies.
    public static func tcp(_ packets: [[UInt8]], to server: SocketAddress, timeoutMilliseconds: Int = 3000) throws -> [[UInt8]] {
        let fd = try Socket.connectedTCP(to: server, timeoutMilliseconds: timeoutMilliseconds)
        defer { close(fd) }
        try Socket.writeAll(fd, packets.flatMap { [UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 })
        return try packets.map { _ in
            let header = try Socket.readExactly(fd, 2)
            return try Socket.readExactly(fd, Int(header[0]) << 8 | Int(header[1]))
        }
    }

    /// Sends every query from one socket without waiting for answers (a flood does not), reading what comes
    /// back as it goes; with a `window`, at most that many wait unanswered (a forwarder's pace). Returns the
    /// size of every reply.
    public static func flood(_ packets: [[UInt8]], to server: SocketAddress, from source: String, window: Int? = nil) -> [Int] {
        let fd = socket(server.family, Socket.udp, 0)
        defer { close(fd) }
        if let local = SocketAddress(source, defaultPort: 0) { _ = local.withSockaddr { bind(fd, $0, $1) } }
        _ = server.withSockaddr { connect(fd, $0, $1) }
        _ = hushTestSetTimeout(fd, milliseconds: 300)
        var sizes: [Int] = []
        var buffer = [UInt8](repeating: 0, count: 65_535)
        func drain(wait: Bool) {
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, wait ? 0 : Int32(MSG_DONTWAIT)) }
                guard n > 0 else { return }
                sizes.append(n)
            }
        }
        for (index, packet) in packets.enumerated() {
            _ = packet.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            if let window, index + 1 - sizes.count >= window {
                // Wait for one reply, then take whatever else is there.
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n > 0 { sizes.append(n) }
                drain(wait: false)
            } else if index % 20 == 19 {
                drain(wait: false)
            }
        }
        drain(wait: true)
        return sizes
    }
}

public func hushTestSetTimeout(_ fd: Int32, milliseconds: Int) -> Int32 {
    var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
    let size = socklen_t(MemoryLayout<timeval>.size)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, size)
    return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, size)
}
