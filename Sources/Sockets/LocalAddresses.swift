import Glibc

extension IPAddress {
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
