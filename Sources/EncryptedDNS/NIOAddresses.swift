import NIOCore
import Sockets

extension Sockets.SocketAddress {
    /// The same address as NIO spells it.
    var nio: NIOCore.SocketAddress {
        // An address Hush already parsed always converts.
        try! NIOCore.SocketAddress(ipAddress: ip.description, port: Int(port))
    }
}

extension IPAddress {
    /// The client address of a NIO channel (an IPv4 client on a dual-stack socket as IPv4).
    init?(_ address: NIOCore.SocketAddress?) {
        guard let text = address?.ipAddress else { return nil }
        let plain = text.hasPrefix("::ffff:") && text.contains(".") ? String(text.dropFirst(7)) : text
        self.init(plain)
    }
}
