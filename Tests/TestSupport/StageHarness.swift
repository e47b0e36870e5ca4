import DNSWire
import Locking
import Resolver
import Sockets

/// A next stage for testing one stage alone (the shape of CoreDNS's test helpers): it answers every request
/// with what `respond` makes and keeps what it was asked, so a test can tell whether the stage under test
/// passed a query on, and what it did with the answer that came back.
public final class StubNext: Resolving, @unchecked Sendable {
    private let respond: @Sendable (Request) -> Answer
    private let asked = Locked<[Request]>([])

    public init(_ respond: @escaping @Sendable (Request) -> Answer = { _ in StageHarness.forwarded(rcode: .noError) }) {
        self.respond = respond
    }

    public func resolve(_ request: Request) -> Resolution {
        asked.withLock { $0.append(request) }
        return .now(respond(request))
    }

    public var requests: [Request] { asked.withLock { $0 } }
}

public enum StageHarness {
    /// A query as a client sends it, from `client` over `transport`.
    public static func request(_ name: String, _ type: RecordType = .a, from client: String = "192.168.1.20",
                               transport: Request.Transport = .udp, edns: EDNS? = EDNS()) -> Request {
        let domain = DomainName(name)
        return Request(query: Query(id: 7, nameWire: domain.wire, name: domain, type: type, edns: edns),
                       client: IPAddress(client)!, transport: transport)
    }

    /// An upstream reply stored as the cache keeps it: `rcode`, and for each record its type and rdata,
    /// owned by the question's name.
    public static func stored(for query: Query, rcode: RCode, records: [(RecordType, [UInt8])] = []) -> StoredMessage {
        var wire: [UInt8] = [0, 0, 0x81, 0x80 | UInt8(rcode.rawValue), 0, 1, 0, UInt8(records.count), 0, 0, 0, 0]
        wire += query.name.wire + [UInt8(query.type.rawValue >> 8), UInt8(query.type.rawValue & 0xFF), 0, 1]
        for (type, rdata) in records {
            wire += [0xC0, 0x0C, UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1, 0, 0, 0x0E, 0x10,
                     UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
        }
        return try! StoredMessage(upstreamReply: wire, expectedID: 0, question: query)
    }

    /// What the forwarding stage would hand back: a stored reply with no records.
    public static func forwarded(rcode: RCode) -> Answer {
        let query = request("stub.test").query
        return Answer(.stored(ServedMessage(message: stored(for: query, rcode: rcode))), .forwarded(upstream: "stub", latency: 0))
    }
}
