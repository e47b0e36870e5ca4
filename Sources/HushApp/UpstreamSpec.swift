import Sockets

/// One entry of `upstream.servers` as written: a plain server, `tls://ADDRESS[:853][#hostname]`
/// (RFC 7858) or `https://hostname[:443]/path[#ADDRESS]` (RFC 8484; without an address, the bootstrap
/// servers find it).
public enum UpstreamSpec: Sendable, Equatable, CustomStringConvertible {
    case plain(SocketAddress)
    case tls(SocketAddress, serverName: String?)
    case https(host: String, port: Int, path: String, address: IPAddress?)

    public init?(_ text: String) {
        if text.hasPrefix("tls://") {
            let rest = text.dropFirst("tls://".count)
            let parts = rest.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            guard let address = SocketAddress(String(parts[0]), defaultPort: 853) else { return nil }
            let name = parts.count > 1 ? String(parts[1]) : nil
            // The name checked in the certificate (and sent as SNI, which may not be an address).
            guard name.map({ !$0.isEmpty && Self.isHostName($0) && IPAddress($0) == nil }) ?? true else { return nil }
            self = .tls(address, serverName: name)
        } else if text.hasPrefix("https://") {
            let rest = text.dropFirst("https://".count)
            let parts = rest.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
            let address = parts.count > 1 ? IPAddress(String(parts[1])) : nil
            guard parts.count == 1 || address != nil else { return nil }
            let location = parts[0]
            let slash = location.firstIndex(of: "/") ?? location.endIndex
            let authority = location[..<slash]
            let path = slash == location.endIndex ? "/dns-query" : String(location[slash...])
            var host = String(authority)
            var port = 443
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { return nil }
                host = String(authority[authority.index(after: authority.startIndex)..<close])
                let after = authority[authority.index(after: close)...]
                if after.hasPrefix(":") { guard let number = Int(after.dropFirst()), (1...65_535).contains(number) else { return nil }; port = number }
            } else if let colon = authority.lastIndex(of: ":") {
                guard let number = Int(authority[authority.index(after: colon)...]), (1...65_535).contains(number) else { return nil }
                host = String(authority[..<colon])
                port = number
            }
            guard !host.isEmpty, IPAddress(host) != nil || Self.isHostName(host) else { return nil }
            self = .https(host: host, port: port, path: path, address: address ?? IPAddress(host))
        } else if let address = SocketAddress(text, defaultPort: 53) {
            self = .plain(address)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .plain(let address): "\(address)"
        case .tls(let address, let name): "tls://\(address)" + (name.map { "#\($0)" } ?? "")
        case .https(let host, let port, let path, _):
            "https://\(host.contains(":") ? "[\(host)]" : host)\(port == 443 ? "" : ":\(port)")\(path)"
        }
    }

    public var isEncrypted: Bool { if case .plain = self { false } else { true } }

    static func isHostName(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }
    }
}
