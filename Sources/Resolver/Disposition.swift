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
    /// Answered by Hush about itself: its own encrypted endpoints (DDR, RFC 9462).
    case local

    public var isBlocked: Bool {
        switch self {
        case .blocked, .blockedByCNAME: true
        default: false
        }
    }

    /// The stable code stored in the stats database; `labels[code]` is the name used in logs, stats and
    /// metrics. Codes are on disk: a new case takes the next number and a new label at the end.
    public var code: UInt8 {
        switch self {
        case .forwarded: 0
        case .cached: 1
        case .stale: 2
        case .blocked: 3
        case .blockedByCNAME: 4
        case .refused: 5
        case .rateLimited: 6
        case .minimalAny: 7
        case .failed: 8
        case .local: 9
        }
    }

    /// Every label, indexed by code.
    public static let labels = ["forwarded", "cached", "stale", "blocked", "blocked-cname", "refused", "rate-limited", "minimal-any", "failed", "local"]

    public var label: String { Self.labels[Int(code)] }

    /// The label of a stored code; "unknown" for a code this version does not know.
    public static func label(code: UInt8) -> String { Int(code) < labels.count ? labels[Int(code)] : "unknown" }

    /// The code of a stored label ("failed" for one this version does not know).
    public static func code(label: String) -> UInt8 { UInt8(labels.firstIndex(of: label) ?? Int(Disposition.failed(reason: "").code)) }

    public static let blockedCode = Disposition.blocked(ListMatch(list: ListInfo(source: ""), rule: "")).code
    public static let blockedByCNAMECode = Disposition.blockedByCNAME(cname: "", ListMatch(list: ListInfo(source: ""), rule: "")).code

    /// `isBlocked` for a stored code.
    public static func isBlocked(code: UInt8) -> Bool { code == blockedCode || code == blockedByCNAMECode }

    /// Codes of answers an upstream gave, now or from the cache: the names a device was allowed to reach.
    public static let answeredCodes: Set<UInt8> = [
        Disposition.forwarded(upstream: "", latency: 0).code, Disposition.cached.code, Disposition.stale.code,
    ]

    public var listMatch: ListMatch? {
        switch self {
        case .blocked(let match), .blockedByCNAME(_, let match): match
        default: nil
        }
    }
}
