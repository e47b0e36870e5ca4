/// The patterns of the lists in force, indexed by their anchors (the literal domains a matching name ends
/// in), so a name is tried only against the patterns for domains it is under. A small bitmap of anchor
/// hashes answers "none here" for most names without touching the index, and a set with no patterns
/// costs one comparison.
public struct PatternSet: Sendable {
    struct Entry: Sendable {
        var pattern: NamePattern
        var listIndex: Int
    }

    private(set) var entries: [Entry] = []
    private var byAnchor: [UInt64: [Int32]] = [:]
    /// Patterns without an anchor, tried for every name.
    private var unanchored: [Int32] = []
    /// About 16 bits per anchor (at least 64 words), so few suffixes pass it by chance; sized by `seal`.
    private var filter = [UInt64](repeating: 0, count: 64)
    private var filterMaskBits = 63

    public init() {}

    public var count: Int { entries.count }
    public var patterns: [NamePattern] { entries.map(\.pattern) }

    public mutating func insert(_ pattern: NamePattern, listIndex: Int) {
        let index = Int32(entries.count)
        entries.append(Entry(pattern: pattern, listIndex: listIndex))
        guard !pattern.anchors.isEmpty else {
            unanchored.append(index)
            return
        }
        for anchor in pattern.anchors {
            let hash = anchor.withUnsafeBufferPointer { DomainSet.hash($0, 0, $0.count) }
            byAnchor[hash, default: []].append(index)
            setFilterBit(hash)
        }
    }

    /// Sizes the filter to the anchors: a thousand anchors in 64 words would pass most suffixes.
    public mutating func seal() {
        var words = 64
        while words * 64 < byAnchor.count * 16 { words *= 2 }
        guard words != filter.count else { return }
        filter = [UInt64](repeating: 0, count: words)
        filterMaskBits = words - 1
        for hash in byAnchor.keys { setFilterBit(hash) }
    }

    private mutating func setFilterBit(_ hash: UInt64) {
        filter[filterWord(hash)] |= Self.filterMask(hash)
    }

    /// The first pattern covering `name` (lower-case presentation bytes), shortest anchor first.
    func entry(matching name: UnsafeBufferPointer<UInt8>) -> Entry? {
        guard !entries.isEmpty, !name.isEmpty else { return nil }
        var found: Int32?
        DomainSet.forEachSuffix(of: name) { hash, start in
            guard found == nil, filter[filterWord(hash)] & Self.filterMask(hash) != 0, let candidates = byAnchor[hash] else { return }
            for candidate in candidates where entries[Int(candidate)].pattern.matches(name, anchorStart: start) {
                found = candidate
                return
            }
        }
        if found == nil {
            for candidate in unanchored where entries[Int(candidate)].pattern.matches(name, anchorStart: 0) {
                found = candidate
                break
            }
        }
        return found.map { entries[Int($0)] }
    }

    @inline(__always)
    private func filterWord(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 6) & filterMaskBits }

    @inline(__always)
    private static func filterMask(_ hash: UInt64) -> UInt64 { 1 << (hash & 63) }
}
