/// The data of an SVCB record (RFC 9460) as Discovery of Designated Resolvers (RFC 9462) uses it: where an
/// encrypted resolver listens, which protocol it speaks, and for DoH the path of its URI template.
public struct ServiceBinding: Sendable, Equatable {
    public var priority: UInt16
    public var target: DomainName
    /// "dot", "h2".
    public var alpn: [String]
    public var port: UInt16?
    /// Addresses in network order: 4 bytes each for IPv4, 16 for IPv6.
    public var ipv4Hints: [[UInt8]]
    public var ipv6Hints: [[UInt8]]
    /// "/dns-query{?dns}" for DoH (RFC 9461).
    public var dohPath: String?

    public init(priority: UInt16, target: DomainName, alpn: [String], port: UInt16? = nil,
                ipv4Hints: [[UInt8]] = [], ipv6Hints: [[UInt8]] = [], dohPath: String? = nil) {
        self.priority = priority
        self.target = target
        self.alpn = alpn
        self.port = port
        self.ipv4Hints = ipv4Hints
        self.ipv6Hints = ipv6Hints
        self.dohPath = dohPath
    }

    /// The record's data: priority, target, then the parameters in ascending key order (RFC 9460 §2.2).
    public var rdata: [UInt8] {
        var out: [UInt8] = []
        out.appendUInt16(priority)
        target.appendWire(to: &out)
        func parameter(_ key: UInt16, _ value: [UInt8]) {
            out.appendUInt16(key)
            out.appendUInt16(UInt16(value.count))
            out.append(contentsOf: value)
        }
        if !alpn.isEmpty { parameter(1, alpn.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }) }
        if let port { parameter(3, [UInt8(port >> 8), UInt8(port & 0xFF)]) }
        if !ipv4Hints.isEmpty { parameter(4, ipv4Hints.flatMap { $0 }) }
        if !ipv6Hints.isEmpty { parameter(6, ipv6Hints.flatMap { $0 }) }
        if let dohPath { parameter(7, Array(dohPath.utf8)) }
        return out
    }
}
