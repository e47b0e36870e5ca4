import DNSWire

/// A part of the resolver that can start loading, for a whole batch of queries, the memory it will read
/// to answer each one. The UDP loop calls it once per received batch before answering any, so the batch's
/// cache misses overlap instead of queueing one behind another.
public protocol Prefetching: Sendable {
    func prefetch(_ names: [DomainName])
}
