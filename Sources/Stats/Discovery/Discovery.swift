import Blocklist
import Sockets

/// Finds the telemetry no list knows yet, from each device's own queries: a name that is neither blocked
/// nor allowlisted becomes a suggestion when the evidence says telemetry. Beacons (a steady interval),
/// telemetry words, a family of listed names, and several devices asking are scored together; the score
/// says which fired. Works under privacy `blocked`: what it needs stays in memory, in a fixed number of
/// (device, name) pairs, oldest evicted, and only flagged names are stored. Used from the stats writer's
/// thread only.
public struct Discovery {
    public struct Evidence: Sendable, Equatable {
        public var name: String
        public var score: Double
        /// Drawn from `beacon`, `keyword`, `family`, `spread`.
        public var reasons: [String]
        public var interval: Double?
        public var words: [String]
        public var vendor: String?
        /// Device keys (`mac:…`, `ip:…`).
        public var devices: [String]
        public var count: Int
        public var firstSeen: Double
        public var lastSeen: Double
    }

    /// One client address's queries for one name. Keyed by address and the name's hash, which the queue
    /// already carries, so a query costs the writer no string; addresses become devices when scored.
    struct Pair {
        var times: [Double] = []
        var count = 0
        var first = 0.0
        var last = 0.0
        var ttl: Double?
    }

    struct Key: Hashable {
        var address: IPAddress
        var name: Int
    }

    /// Pairs kept; past this the least recently asked go.
    public let capacity: Int
    public static let minimumScore = 0.5
    private var pairs: [Key: Pair] = [:]
    /// Each name's text and the addresses seen asking for it (bounded with the pairs).
    private var names: [Int: String] = [:]
    private var askers: [Int: Set<IPAddress>] = [:]
    private var families = NameFamilies()
    /// Names the household dismissed or applied: never suggested again.
    private var settled: Set<String> = []
    /// Names whose evidence changed since `takeChanged`.
    private var changed: Set<Int> = []

    public init(capacity: Int = 20_000) {
        self.capacity = capacity
    }

    public mutating func update(families: NameFamilies) { self.families = families }
    public mutating func settle(_ names: Set<String>) { settled = names }

    public var pairCount: Int { pairs.count }

    /// An allowed query for the name hashed `nameHash` from `address` at `time`, answered with `ttl`.
    /// Returns true when discovery does not know the name's text yet: the caller then gives it with
    /// `name(_:is:)`, so a query costs no string (the writer sees hundreds of thousands a second).
    public mutating func observe(address: IPAddress, nameHash: Int, time: Double, ttl: Double?) -> Bool {
        let key = Key(address: address, name: nameHash)
        if pairs.count >= capacity, pairs[key] == nil { evictOldest() }
        var counted = false
        // In place: a copy of the pair would copy its times on every append.
        modifyPair(key, first: time) { pair in
            // A repeat within a second is the same lookup (A and AAAA, a retry), not a beat.
            if let last = pair.times.last, time - last < 1 { return }
            if pair.times.count >= BeaconDetector.keptQueries { pair.times.removeFirst() }
            pair.times.append(time)
            pair.count += 1
            pair.last = time
            if let ttl { pair.ttl = ttl }
            counted = true
        }
        guard counted else { return false }
        if pairs[key]!.count >= 2 { changed.insert(nameHash) }
        if askers[nameHash]?.contains(address) != true { askers[nameHash, default: []].insert(address) }
        return names[nameHash] == nil
    }

    /// The text of a name `observe` asked for.
    public mutating func name(_ nameHash: Int, is text: String) {
        names[nameHash] = text
    }

    private mutating func modifyPair(_ key: Key, first: Double, _ change: (inout Pair) -> Void) {
        change(&pairs[key, default: Pair(first: first)])
    }

    /// Drops the eighth of the pairs asked least recently: one pass, rather than a scan per new pair.
    private mutating func evictOldest() {
        let cut = pairs.values.map(\.last).sorted()[pairs.count / 8]
        for (key, pair) in pairs where pair.last <= cut {
            pairs[key] = nil
            askers[key.name]?.remove(key.address)
            if askers[key.name]?.isEmpty == true {
                askers[key.name] = nil
                names[key.name] = nil
            }
        }
    }

    /// The evidence for the name hashed `nameHash` now, if it scores; nil when it does not, or when a
    /// device needs it. `device` says which device an address is.
    func evidence(for nameHash: Int, device: (IPAddress) -> String) -> Evidence? {
        guard let name = names[nameHash], !settled.contains(name), !families.isProtected(name),
              let words = TelemetryWords.score(name) else { return nil }
        let addresses = askers[nameHash] ?? []
        let mine = addresses.compactMap { pairs[Key(address: $0, name: nameHash)] }
        let devices = Set(addresses.map(device))
        let count = mine.reduce(0) { $0 + $1.count }
        guard count >= 2 else { return nil }   // a name asked once is no evidence
        var score = 0.0
        var reasons: [String] = []
        let beacons = mine.compactMap { BeaconDetector.beacon(in: $0.times, ttl: $0.ttl) }
        if let best = beacons.max(by: { $0.regularity < $1.regularity }) {
            score += 0.45 + 0.15 * best.regularity
            reasons.append("beacon")
        }
        if words.value > 0 {
            score += 0.35 * words.value
            reasons.append("keyword")
        }
        let family = families.relation(of: name)
        if let family {
            score += family.sameShape ? 0.35 : 0.2
            reasons.append("family")
        }
        if devices.count >= 2 {
            score += min(0.2, 0.1 * Double(devices.count - 1))
            reasons.append("spread")
        }
        guard score >= Self.minimumScore else { return nil }
        return Evidence(
            name: name, score: min(1, score), reasons: reasons,
            interval: beacons.map(\.period).sorted().first, words: words.words, vendor: family?.vendor,
            devices: devices.sorted(), count: count, firstSeen: mine.map(\.first).min() ?? 0, lastSeen: mine.map(\.last).max() ?? 0)
    }

    /// The evidence for every name asked again since the last call that now scores.
    mutating func takeChanged(device: (IPAddress) -> String) -> [Evidence] {
        defer { changed.removeAll(keepingCapacity: true) }
        return changed.compactMap { evidence(for: $0, device: device) }
    }

    /// Roughly what the pairs hold in memory, for the README's figure.
    public var approximateBytes: Int {
        pairs.reduce(0) { total, entry in
            total + MemoryLayout<Key>.stride + MemoryLayout<Pair>.stride + entry.value.times.capacity * 8 + 32
        } + names.values.reduce(0) { $0 + 16 + $1.utf8.count } + askers.count * 80
    }
}
