import DNSWire
import Resolver
import Sockets

/// Packet in, reply out: the fast parser, the resolver stages, then the reply writer. Shared by UDP and TCP.
public struct QueryProcessor: Sendable {
    let resolver: any Resolving
    let observers: [any AnswerObserver]
    let prefetchers: [any Prefetching]

    public init(resolver: any Resolving, observers: [any AnswerObserver] = [], prefetchers: [any Prefetching] = []) {
        self.resolver = resolver
        self.observers = observers
        self.prefetchers = prefetchers
    }

    /// Calls `reply` once with the bytes to send (possibly later, for forwarded queries), or never when the
    /// packet must be dropped. Returns whether a reply will come.
    @discardableResult
    public func process(
        _ packet: UnsafeBufferPointer<UInt8>, client: IPAddress, transport: Request.Transport,
        reply: @escaping @Sendable ([UInt8]) -> Void
    ) -> Bool {
        answer(QueryParser.parse(packet), client: client, transport: transport, reply: reply)
    }

    /// `process` for a packet already parsed (the UDP loop parses a whole batch first).
    @discardableResult
    public func answer(
        _ parse: QueryParse, client: IPAddress, transport: Request.Transport,
        reply: @escaping @Sendable ([UInt8]) -> Void
    ) -> Bool {
        switch parse {
        case .drop:
            return false
        case .reject(let rejected):
            reply(ReplyWriter.reject(rejected))
            return true
        case .query(let query):
            let request = Request(query: query, client: client, transport: transport)
            let limit = transport == .udp ? query.udpReplyLimit : 65_535
            // The closure keeps the request alone (the query is inside it): each value it holds costs
            // reference counting on every query.
            resolver.resolve(request) { [observers] answer in
                // Observers first (each only queues a record), so whoever sees the reply can also see it counted.
                for observer in observers { observer.observe(request, answer) }
                reply(Self.write(answer, for: request.query, limit: limit))
            }
            return true
        }
    }

    /// Lets the stages start loading what they will read for a batch of names (see `Prefetching`).
    public func prefetch(_ names: [DomainName]) {
        for prefetcher in prefetchers { prefetcher.prefetch(names) }
    }

    /// The reply's bytes; empty means send nothing.
    static func write(_ answer: Answer, for query: Query, limit: Int) -> [UInt8] {
        switch answer.content {
        case .silence:
            return []
        case .synthesized(let synthesized):
            return ReplyWriter.synthesized(synthesized, for: query, limit: limit)
        case .stored(let served):
            let staleNote = served.stale
                ? ExtendedError(code: ExtendedError.staleAnswerCode, text: "upstream unreachable; stale answer") : nil
            return ReplyWriter.stored(
                served.message, for: query, age: served.age, ttlCap: served.ttlCap,
                extendedError: staleNote, limit: limit)
        }
    }
}
