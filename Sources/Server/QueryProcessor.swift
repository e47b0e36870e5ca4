import DNSWire
import Resolver
import Sockets

/// Packet in, reply out: the fast parser, the resolver stages, then the reply writer. Shared by every
/// transport: UDP, TCP, and the encrypted listeners.
public struct QueryProcessor: Sendable {
    let resolver: any Resolving
    let observers: [any AnswerObserver]
    let prefetchers: [any Prefetching]
    /// How long a connection may sit idle, told to clients that ask (RFC 7828 keepalive).
    public var connectionIdleSeconds: Int

    public init(resolver: any Resolving, observers: [any AnswerObserver] = [], prefetchers: [any Prefetching] = [],
                connectionIdleSeconds: Int = 10) {
        self.resolver = resolver
        self.observers = observers
        self.prefetchers = prefetchers
        self.connectionIdleSeconds = connectionIdleSeconds
    }

    /// The bytes to send: now for local answers and cache hits, later for forwarded queries (empty bytes
    /// then mean send nothing). nil when nothing goes back now: a dropped packet, or a rate-limited query's
    /// silence.
    public func process(_ packet: UnsafeBufferPointer<UInt8>, client: IPAddress, transport: Request.Transport) -> Eventual<[UInt8]>? {
        var out: [UInt8] = []
        let later = answer(QueryParser.parse(packet), client: client, transport: transport, appendingTo: &out)
        if let later { return .later(later) }
        return out.isEmpty ? nil : .now(out)
    }

    /// `process` for a packet already parsed (the UDP loop parses a whole batch first). A local answer or
    /// cache hit is appended to `out` at once (nothing appended: send nothing); a forwarded one comes back
    /// pending.
    public func answer(
        _ parse: QueryParse, client: IPAddress, transport: Request.Transport, appendingTo out: inout [UInt8]
    ) -> Pending<[UInt8]>? {
        switch parse {
        case .drop:
            return nil
        case .reject(let rejected):
            out.append(contentsOf: ReplyWriter.reject(rejected))
            return nil
        case .query(let query):
            let request = Request(query: query, client: client, transport: transport)
            switch resolver.resolve(request) {
            case .now(let answer):
                reply(answer, to: request, appendingTo: &out)
                return nil
            case .later(let pending):
                return pending.map { [self] answer in
                    var out: [UInt8] = []
                    reply(answer, to: request, appendingTo: &out)
                    return out
                }
            }
        }
    }

    /// Observers first (each only queues a record), so whoever sees the reply can also see it counted.
    private func reply(_ answer: Answer, to request: Request, appendingTo out: inout [UInt8]) {
        for observer in observers { observer.observe(request, answer) }
        let start = out.count
        Self.write(answer, for: request.query, limit: request.replyLimit, appendingTo: &out)
        // On a connection, the client's keepalive gets the idle timeout, and an encrypted client that pads
        // gets a padded reply (RFC 8467).
        guard request.transport.isConnection, let edns = request.query.edns, edns.keepalive || edns.padding else { return }
        EDNSOptions.append(to: &out, from: start, keepaliveSeconds: edns.keepalive ? connectionIdleSeconds : nil,
                           padBlock: request.transport.isEncrypted && edns.padding ? EDNSOptions.replyBlock : nil)
    }

    /// Lets the stages start loading what they will read for a batch of names (see `Prefetching`).
    public func prefetch(_ names: [DomainName]) {
        for prefetcher in prefetchers { prefetcher.prefetch(names) }
    }

    /// Appends the reply's bytes; nothing for silence.
    static func write(_ answer: Answer, for query: Query, limit: Int, appendingTo out: inout [UInt8]) {
        switch answer.content {
        case .silence:
            return
        case .synthesized(let synthesized):
            ReplyWriter.synthesized(synthesized, for: query, limit: limit, appendingTo: &out)
        case .stored(let served):
            ReplyWriter.stored(
                served.message, for: query, age: served.age, ttlCap: served.ttlCap,
                extendedError: answer.storedNote, limit: limit, appendingTo: &out)
        }
    }
}
