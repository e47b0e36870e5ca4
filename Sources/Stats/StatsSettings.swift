/// How much the stats keep. The database holds a household's browsing history: the default keeps blocked
/// attempts in full and allowed queries only as per-device counts.
public struct StatsSettings: Sendable, Equatable {
    public enum Privacy: String, Sendable, CaseIterable {
        /// Every query in full, like Pi-hole.
        case all
        /// Blocked attempts in full; allowed queries only as per-device hourly counts.
        case blocked
        /// Per-device hourly counts only.
        case none
    }

    public var path: String
    public var privacy: Privacy = .blocked
    public var retentionDays = 90
    /// Records waiting for the writer; past this, records are dropped and counted.
    public var queueCapacity = 200_000
    /// Raw rows kept per device, name and hour; a retry storm past this is only counted, in the hourly table.
    public var rawRowsPerNameHour = 100
    /// How often the writer commits: records reach the file within about a second, and bigger batches
    /// fold a retry storm into fewer rows.
    public var flushMilliseconds = 500
    /// The per-name hourly totals are written with every flush while at most this many keys wait; under
    /// load, with more, at most every `aggregateSeconds` (the raw log and per-device counts still go with
    /// every flush, and after a crash the totals are rebuilt from the raw log).
    public var aggregateKeysPerFlush = 1_000
    public var aggregateSeconds = 10.0
    /// Find telemetry no list names yet from each device's allowed queries (off under privacy `none`).
    public var discovery = true
    /// (address, name) pairs discovery keeps in memory; past this the least recently asked go.
    public var discoveryPairs = 20_000

    public init(path: String) {
        self.path = path
    }
}
