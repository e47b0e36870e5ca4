import DNSWire
import Resolver
import Sockets

/// One answered query as the stats keep it. Made on the answering path, so it holds only what is already
/// there (the name's bytes, the disposition value); strings are built later, on the writer's thread.
public struct AttemptRecord: Sendable {
    public var time: Double            // seconds since 1970
    public var client: IPAddress
    public var domain: DomainName
    public var type: UInt16
    public var outcome: Disposition
    /// Worked out here, so the writer's loop need not look into `outcome`.
    let code: UInt8
    let blocked: Bool

    public init(time: Double, client: IPAddress, name: DomainName, type: UInt16, disposition: Disposition) {
        self.time = time
        self.client = client
        self.domain = name
        self.type = type
        self.outcome = disposition
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
