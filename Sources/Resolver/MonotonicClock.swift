#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The one clock for durations, timeouts and ages: seconds since boot, which never jump with the wall clock.
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

    /// Whole milliseconds, for heartbeats and upstream socket ages.
    public static func milliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }
}

