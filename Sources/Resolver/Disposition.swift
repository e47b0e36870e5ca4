import Blocklist

/// What happened to a query.
public enum Disposition: Sendable, Equatable {
    /// Answered by an upstream, after `latency` seconds.
    case forwarded(upstream: String, latency: Double)
    case cached
    /// Served past its TTL because every upstream failed (RFC 8767).
    case stale
    case blocked(ListMatch)
    /// An allowed name whose answer led through a CNAME to a blocked name.
    case blockedByCNAME(cname: String, ListMatch)
    case refused(reason: String)
    case rateLimited
    /// An ANY query, answered with one HINFO record (RFC 8482).
    case minimalAny
    /// No upstream answered in time.
    case failed(reason: String)

    public var isBlocked: Bool {
        switch self {
        case .blocked, .blockedByCNAME: true
        default: false
        }
    }

    /// The stable name used in logs, stats and metrics.
    public var label: String {
        switch self {
        case .forwarded: "forwarded"
        case .cached: "cached"
        case .stale: "stale"
        case .blocked: "blocked"
        case .blockedByCNAME: "blocked-cname"
        case .refused: "refused"
        case .rateLimited: "rate-limited"
        case .minimalAny: "minimal-any"
        case .failed: "failed"
        }
    }

    public var listMatch: ListMatch? {
        switch self {
        case .blocked(let match), .blockedByCNAME(_, let match): match
        default: nil
        }
    }
}
