import NIOCore

/// What both encrypted upstreams share: how long a query waits, how long an unused connection stays open,
/// and how long a server that refused Hush is left alone.
public struct ConnectionTiming: Sendable {
    public var timeoutMilliseconds = 1500
    public var idleSeconds = 30
    public var refusalBackoffSeconds = 5

    public init() {}

    var timeout: TimeAmount { .milliseconds(Int64(timeoutMilliseconds)) }
    var idleTimeout: TimeAmount { .seconds(Int64(idleSeconds)) }
    var refusalBackoff: TimeAmount { .seconds(Int64(refusalBackoffSeconds)) }
}

/// A server that refused Hush (a certificate, a handshake, a closed port), remembered for the backoff, so
/// a misconfigured upstream costs one attempt, not one per query. Lives on the upstream's loop.
struct Refusal {
    private var last: (until: NIODeadline, reason: String)?

    /// Why the server is still refused, if it is.
    var reason: String? {
        guard let last, last.until > .now() else { return nil }
        return last.reason
    }

    mutating func remember(_ reason: String, for backoff: TimeAmount) { last = (.now() + backoff, reason) }
    mutating func clear() { last = nil }
}

/// A server that took the TCP connection but did not finish the TLS handshake in time.
struct HandshakeTimeout: Error, CustomStringConvertible {
    var description: String { "no TLS handshake within the timeout" }
}
