import Resolver
import Sockets

/// One answered query as the stats keep it.
public struct AttemptRecord: Sendable {
    public var time: Double            // seconds since 1970
    public var client: IPAddress
    public var name: String
    public var type: UInt16
    public var disposition: String     // Disposition.label
    public var blocked: Bool
    public var cname: String?
    public var list: String?
    public var rule: String?
    public var vendor: String?
    public var category: String?

    public init(time: Double, client: IPAddress, name: String, type: UInt16, disposition: Disposition) {
        self.time = time
        self.client = client
        self.name = name
        self.type = type
        self.disposition = disposition.label
        self.blocked = disposition.isBlocked
        if case .blockedByCNAME(let cname, _) = disposition { self.cname = cname }
        if let match = disposition.listMatch {
            list = match.list.label
            rule = match.rule
            vendor = match.list.vendor.isEmpty ? nil : match.list.vendor
            category = match.list.category
        }
    }
}
