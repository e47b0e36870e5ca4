import Glibc

/// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack socket
/// reports for IPv4 clients) are turned into IPv4 so one device never appears under two addresses.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt64, UInt64)

    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            self.init(v6)
        } else {
            return nil
        }
    }

    public init(_ address: in6_addr) {
        let bytes = withUnsafeBytes(of: address) { Array($0) }
        let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if high == 0, low >> 32 == 0xFFFF {
            self = .v4(UInt32(truncatingIfNeeded: low))
        } else {
            self = .v6(high, low)
        }
    }

    public var isIPv4: Bool { if case .v4 = self { true } else { false } }

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

    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6:
            var address = in6Address
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
            return String(cString: buffer)
        }
    }

    var in6Address: in6_addr {
        guard case .v6(let high, let low) = self else { return in6_addr() }
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { raw in
            for i in 0..<8 {
                raw[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * i))
                raw[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * i))
            }
        }
        return address
    }
}

/// A CIDR range such as 192.168.0.0/16 or fc00::/7.
public struct AddressRange: Hashable, Sendable, CustomStringConvertible {
    public let base: IPAddress
    public let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        let maximum = address.isIPv4 ? 32 : 128
        let prefix = parts.count == 2 ? Int(parts[1]) : maximum
        guard let prefix, (0...maximum).contains(prefix) else { return nil }
        self.base = address
        self.prefix = prefix
    }

    public func contains(_ address: IPAddress) -> Bool {
        switch (base, address) {
        case (.v4(let a), .v4(let b)):
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
            return a & mask == b & mask
        case (.v6(let aHigh, let aLow), .v6(let bHigh, let bLow)):
            let highMask: UInt64 = prefix >= 64 ? ~0 : (prefix == 0 ? 0 : ~UInt64(0) << (64 - prefix))
            let lowMask: UInt64 = prefix <= 64 ? 0 : (prefix == 128 ? ~0 : ~UInt64(0) << (128 - prefix))
            return aHigh & highMask == bHigh & highMask && aLow & lowMask == bLow & lowMask
        default:
            return false
        }
    }

    public var description: String { "\(base)/\(prefix)" }

    /// 127.0.0.0/8 and ::1: clients on this machine, which nobody outside can spoof.
    public static let loopback: [AddressRange] = ["127.0.0.0/8", "::1/128"].compactMap(AddressRange.init)

    /// Loopback, RFC 1918, CGNAT, link-local and ULA: the clients a home resolver should answer.
    public static let privateNetworks: [AddressRange] = [
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
        "::1/128", "fe80::/10", "fc00::/7",
    ].compactMap(AddressRange.init)
}
