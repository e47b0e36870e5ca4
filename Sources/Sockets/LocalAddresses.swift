import Glibc

extension IPAddress {
    /// The address's bytes in network order (4 or 16).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value): withUnsafeBytes(of: value.bigEndian) { Array($0) }
        case .v6(let high, let low): withUnsafeBytes(of: high.bigEndian) { Array($0) } + withUnsafeBytes(of: low.bigEndian) { Array($0) }
        }
    }

    /// 0.0.0.0 or ::, "every address of this machine" when bound.
    public var isUnspecified: Bool {
        switch self {
        case .v4(let value): value == 0
        case .v6(let high, let low): high == 0 && low == 0
        }
    }

    public var isLoopback: Bool { AddressRange.loopback.contains { $0.contains(self) } }

    /// IPv6 link-local (fe80::/10): meaningless without an interface, so never advertised.
    public var isLinkLocal: Bool {
        if case .v6(let high, _) = self { return high >> 54 == 0x3FA }
        return false
    }

    /// The addresses of this machine's interfaces that are up, loopback and link-local left out.
    public static func local() -> [IPAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var result: [IPAddress] = []
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard entry.pointee.ifa_flags & UInt32(IFF_UP) != 0, let address = entry.pointee.ifa_addr else { continue }
            var storage = sockaddr_storage()
            let length = address.pointee.sa_family == sa_family_t(AF_INET) ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size
            guard address.pointee.sa_family == sa_family_t(AF_INET) || address.pointee.sa_family == sa_family_t(AF_INET6) else { continue }
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: length)) }
            guard let ip = SocketAddress(storage: storage)?.ip, !ip.isLoopback, !ip.isLinkLocal, !result.contains(ip) else { continue }
            result.append(ip)
        }
        return result
    }
}
