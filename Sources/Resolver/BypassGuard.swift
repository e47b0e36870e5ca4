import Blocklist
import DNSWire
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Names that would let a device slip past Hush, answered here the way Pi-hole answers them, each
/// switchable: Firefox's canary `use-application-dns.net` gets NXDOMAIN so the browser keeps using the
/// network's resolver instead of its own DNS-over-HTTPS; iCloud Private Relay's `mask.icloud.com` and
/// `mask-h2.icloud.com` get NXDOMAIN, the fast negative answer Apple asks networks for; and `resolver.arpa`
/// (RFC 9462 discovery of designated resolvers) gets NODATA while Hush serves no encrypted DNS itself.
/// They are recorded as blocked by the built-in "Bypass protection" list, and no allowlist undoes them.
public struct BypassGuard: Resolving {
    public struct Settings: Sendable, Equatable {
        public var dohCanary = true
        public var privateRelay = true
        public var resolverDiscovery = true
        public init() {}

        public var isEmpty: Bool { !dohCanary && !privateRelay && !resolverDiscovery }
    }

    public static let list = ListInfo(source: "built-in", label: "built-in", name: "Bypass protection", category: "bypass", vendor: "Hush")

    struct Guarded: Sendable {
        var name: [UInt8]
        var policy: BlockPolicy
        var match: ListMatch
    }

    let guarded: [Guarded]
    let next: any Resolving

    public init(settings: Settings, ttl: UInt32 = BlockPolicy.defaultTTL, next: any Resolving) {
        let nxdomain = BlockPolicy(mode: .nxdomain, ttl: ttl)
        let nodata = BlockPolicy(mode: .address(v4: nil, v6: nil), ttl: ttl)
        var names: [(String, BlockPolicy)] = []
        if settings.dohCanary { names.append(("use-application-dns.net", nxdomain)) }
        if settings.privateRelay { names += [("mask.icloud.com", nxdomain), ("mask-h2.icloud.com", nxdomain)] }
        if settings.resolverDiscovery { names.append(("resolver.arpa", nodata)) }
        guarded = names.map { Guarded(name: Array($0.0.utf8), policy: $0.1, match: ListMatch(list: Self.list, rule: $0.0)) }
        self.next = next
    }

    public func resolve(_ request: Request) -> Resolution {
        let name = request.query.name.bytes
        for entry in guarded where Self.isEqualOrBelow(name, entry.name) {
            return .now(.synthesized(entry.policy.answer(for: request.query, match: entry.match), .blocked(entry.match)))
        }
        return next.resolve(request)
    }

    /// `name` is `domain` or a name below it.
    @inline(__always)
    static func isEqualOrBelow(_ name: [UInt8], _ domain: [UInt8]) -> Bool {
        guard name.count >= domain.count, name.last == domain.last else { return false }
        let offset = name.count - domain.count
        guard offset == 0 || name[offset - 1] == UInt8(ascii: ".") else { return false }
        return name.withUnsafeBufferPointer { name in
            domain.withUnsafeBufferPointer { domain in
                memcmp(name.baseAddress! + offset, domain.baseAddress!, domain.count) == 0
            }
        }
    }
}
