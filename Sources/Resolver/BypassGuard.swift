import Blocklist
import DNSWire

/// Names that would let a device slip past Hush, answered here the way Pi-hole answers them, each
/// switchable: Firefox's canary `use-application-dns.net` gets NXDOMAIN so the browser keeps using the
/// network's resolver instead of its own DNS-over-HTTPS; iCloud Private Relay's `mask.icloud.com` and
/// `mask-h2.icloud.com` get NXDOMAIN, the fast negative answer Apple asks networks for; and `resolver.arpa`
/// (RFC 9462 discovery of designated resolvers) gets NODATA while Hush serves no encrypted DNS itself; once
/// it does, `_dns.resolver.arpa` SVCB names Hush's own DoT and DoH endpoints, so devices upgrade to them, and
/// the name in those records resolves to Hush.
/// They are recorded as blocked by the built-in "Bypass protection" list, and no allowlist undoes them.
public struct BypassGuard: Resolving {
    public struct Settings: Sendable, Equatable {
        public var dohCanary = true
        public var privateRelay = true
        public var resolverDiscovery = true
        /// Hush's own encrypted endpoints, advertised at `_dns.resolver.arpa`; empty while it has none.
        public var designatedResolvers: [ServiceBinding] = []
        public init() {}

        public var isEmpty: Bool { !dohCanary && !privateRelay && !resolverDiscovery && designatedResolvers.isEmpty }
    }

    /// The guarded names as a list set, so "the name or one below it" is the lists' own lookup: one for
    /// the NXDOMAIN names, one for the NODATA ones, each answered by its policy.
    let lists: ListSet
    let policies: [BlockPolicy]
    let next: any Resolving

    public init(settings: Settings, ttl: UInt32 = BlockPolicy.defaultTTL, next: any Resolving) {
        var nxdomain: [String] = []
        if settings.dohCanary { nxdomain.append("use-application-dns.net") }
        if settings.privateRelay { nxdomain += ["mask.icloud.com", "mask-h2.icloud.com"] }
        let nodata = settings.resolverDiscovery || !settings.designatedResolvers.isEmpty ? ["resolver.arpa"] : []
        var rules = RuleSets()
        for (index, names) in [nxdomain, nodata].enumerated() {
            for name in names { rules.block.insert(Array(name.utf8), listIndex: index, syntax: .plain) }
        }
        rules.seal()
        let list = { ListInfo(source: "built-in", label: "built-in", name: "Bypass protection", category: "bypass", vendor: "Hush") }
        lists = ListSet(lists: [list(), list()], rules: rules)
        policies = [BlockPolicy(mode: .nxdomain, ttl: ttl), BlockPolicy(mode: .address(v4: nil, v6: nil), ttl: ttl)]
        self.next = next
        discovery = settings.designatedResolvers.map { SynthesizedRecord(type: .svcb, ttl: ttl, rdata: $0.rdata) }
        let endpoint = settings.designatedResolvers.first
        target = endpoint?.target
        targetAddresses = [
            .a: endpoint?.ipv4Hints.map { SynthesizedRecord(type: .a, ttl: ttl, rdata: $0) } ?? [],
            .aaaa: endpoint?.ipv6Hints.map { SynthesizedRecord(type: .aaaa, ttl: ttl, rdata: $0) } ?? [],
        ]
    }

    /// The SVCB records for `_dns.resolver.arpa`.
    let discovery: [SynthesizedRecord]
    static let discoveryName = DomainName("_dns.resolver.arpa")
    /// The name those records point at (`server.tls-name`), answered with Hush's own addresses, so a device
    /// that follows the target rather than the address hints still finds Hush.
    let target: DomainName?
    let targetAddresses: [RecordType: [SynthesizedRecord]]

    public func resolve(_ request: Request) -> Resolution {
        let name = request.query.name
        if !discovery.isEmpty, name == Self.discoveryName || name == target {
            let records = name == target ? targetAddresses[request.query.type] ?? [] : request.query.type == .svcb ? discovery : []
            return .now(.synthesized(SynthesizedAnswer(rcode: .noError, records: records, negativeSOA: records.isEmpty ? NegativeSOA(ttl: 60) : nil), .local))
        }
        guard case .blocked(let match) = lists.verdict(for: request.query.name.bytes) else { return next.resolve(request) }
        let policy = match.list.isIdentical(to: lists.lists[0]) ? policies[0] : policies[1]
        return .now(.synthesized(policy.answer(for: request.query, match: match), .blocked(match)))
    }
}
