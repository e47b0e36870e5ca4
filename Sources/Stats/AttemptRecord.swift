import DNSWire
import Resolver
import Sockets

/// One answered query as the stats keep it. Made on the answering path, so it holds only what is already
/// there (the name's bytes, the disposition value); strings are built later, on the writer's thread.
public struct AttemptRecord: Sendable {
    public var time: Double            // seconds since 1970
    public var client: IPAddress
    public let domain: DomainName
    public var type: UInt16
    public let outcome: Disposition
    /// Worked out here, while the name is in this core's cache, so the writer's loop never reads the name
    /// or looks into `outcome` for a key it has seen: that lookup was most of the writer's time.
    let nameHash: Int
    let code: UInt8
    let blocked: Bool

    public init(time: Double, client: IPAddress, name: DomainName, type: UInt16, disposition: Disposition) {
        self.time = time
        self.client = client
        self.domain = name
        self.type = type
        self.outcome = disposition
        self.nameHash = name.bytes.withUnsafeBytes { bytes in
            var hasher = Hasher()
            hasher.combine(bytes.count)
            hasher.combine(bytes: bytes)
            return hasher.finalize()
        }
        self.code = disposition.code
        self.blocked = disposition.isBlocked
    }

    public init(time: Double, client: IPAddress, name: String, type: UInt16, disposition: Disposition) {
        self.init(time: time, client: client, name: DomainName(name), type: type, disposition: disposition)
    }

    var name: String { domain.description }
    var disposition: String { outcome.label }
    var cname: String? { if case .blockedByCNAME(let cname, _) = outcome { cname } else { nil } }
    var list: String? { outcome.listMatch?.list.label }
    var rule: String? { outcome.listMatch?.rule }
    var vendor: String? { outcome.listMatch.flatMap { $0.list.vendor.isEmpty ? nil : $0.list.vendor } }
    var category: String? { outcome.listMatch?.list.category }
}
