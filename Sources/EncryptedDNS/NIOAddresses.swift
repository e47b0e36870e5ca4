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
    /// The client address of a NIO channel (an IPv4-mapped address comes back as IPv4, as `init(_:)` does).
    init?(_ address: NIOCore.SocketAddress?) {
        guard let text = address?.ipAddress else { return nil }
        self.init(text)
    }
}
