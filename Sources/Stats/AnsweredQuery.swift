import DNSWire
import Resolver
import Sockets

/// One answered query, for records made away from the answering path (tests, benchmarks, imports): the
/// recorder queues them as `RecordBatch` records like the ones it makes itself.
public struct AnsweredQuery: Sendable {
    public var time: Double            // seconds since 1970
    public var client: IPAddress
    public var domain: DomainName
    public var type: UInt16
    public var outcome: Disposition

    public init(time: Double, client: IPAddress, name: DomainName, type: UInt16, disposition: Disposition) {
        self.time = time
        self.client = client
        self.domain = name
        self.type = type
        self.outcome = disposition
    }

    public init(time: Double, client: IPAddress, name: String, type: UInt16, disposition: Disposition) {
        self.init(time: time, client: client, name: DomainName(name), type: type, disposition: disposition)
    }
}
