/// Whether a device asks for a name at a steady interval. A person's browsing is bursty; a beacon repeats
/// every 30 s, 5 min or hour whether anyone uses the device or not. It reads only the gaps between the
/// last few queries, so it decides within ten occurrences whatever the period, seconds to an hour, and a
/// missed beat (an interval twice the period) does not break it.
public enum BeaconDetector {
    /// Queries needed before deciding: four gaps.
    public static let minimumQueries = 5
    /// Gaps kept per name.
    public static let keptQueries = 10
    /// How far a gap may stray from the period, as a share of it.
    static let tolerance = 0.2
    /// Shorter periods are a burst (retries, a page's repeated lookups), not a beacon.
    static let shortestPeriod = 2.0

    public struct Beacon: Sendable, Equatable {
        public var period: Double
        /// The share of gaps on the beat (0.75 to 1).
        public var regularity: Double
    }

    /// The beacon in `times` (ascending seconds), if they show one. `ttl` is the answer's lifetime: gaps
    /// that match it are the device re-resolving a name it keeps using, not a beacon.
    public static func beacon(in times: [Double], ttl: Double?) -> Beacon? {
        guard times.count >= minimumQueries else { return nil }
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        let period = gaps.sorted()[gaps.count / 2]
        guard period >= shortestPeriod else { return nil }
        if let ttl, ttl >= shortestPeriod, abs(period - ttl) <= ttl * tolerance { return nil }
        // On the beat, or a whole number of beats (a missed query).
        let onBeat = gaps.filter { gap in
            let beats = (gap / period).rounded()
            return beats >= 1 && beats <= 3 && abs(gap - beats * period) <= period * tolerance
        }.count
        let regularity = Double(onBeat) / Double(gaps.count)
        return regularity >= 0.75 ? Beacon(period: period, regularity: regularity) : nil
    }
}
