import DNSWire

/// What makes two questions the same for the cache and for coalescing.
public struct CacheKey: Hashable, Sendable {
    public var name: DomainName
    public var type: RecordType
    public var recordClass: UInt16

    public init(_ query: Query) {
        name = query.name
        type = query.type
        recordClass = query.recordClass
    }
}

/// Seconds since boot; never jumps with the wall clock.
public enum MonotonicClock {
    public static func seconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// The kernel's copy from its last tick (a few milliseconds behind): a memory read instead of a
    /// timestamp-counter read, for the cache, whose ages are whole seconds and which asks on every query.
    public static func coarseSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

#if canImport(Glibc)
import Glibc
#endif
