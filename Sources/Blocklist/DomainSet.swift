/// An immutable set of domain rules built for a million entries: names live in one byte arena and an
/// open-addressed table of 64-bit slots (24-bit fingerprint, the name's length, 32-bit entry number) finds
/// them. With the length in the slot and an entry's offset and list side by side, a hit costs three cache
/// misses in a table far bigger than the cache (slot, entry, bytes), not five.
/// A lookup hashes the name once, right to left, and probes at each label boundary, so `a.b.example.com`
/// checks `com`, `example.com`, `b.example.com` and itself in one pass without allocating.
public struct DomainSet: Sendable {
    private struct Entry {
        var offset: UInt32                      // in `arena`
        var meta: UInt32                        // list index << 8 | syntax
    }

    private var arena: [UInt8] = []
    private var entries: [Entry] = []
    private var slots: [UInt64] = Array(repeating: 0, count: 1024)
    /// One bit per 8 entries' worth of space, set for every entry's hash: most suffixes of a name are in no
    /// list, and this small bitmap stays in cache where the big table does not. Built by `seal()`.
    private var filter: [UInt64] = []
    private var filterMask = 0

    public init() {}

    public var count: Int { entries.count }

    /// Approximate bytes held, for the README's memory figures.
    public var memoryFootprint: Int {
        arena.capacity + entries.capacity * MemoryLayout<Entry>.stride + slots.capacity * 8 + filter.capacity * 8
    }

    /// Adds a rule. Returns false when the name was already present (the first rule for a name wins,
    /// except that a rule for the name itself replaces a names-below-only rule).
    @discardableResult
    public mutating func insert(_ name: some Collection<UInt8>, listIndex: Int, syntax: RuleSyntax) -> Bool {
        let start = arena.count
        arena.append(contentsOf: name)
        let length = arena.count - start
        guard length > 0, length <= 255 else {
            arena.removeSubrange(start...)
            return false
        }
        let hash = arena.withUnsafeBufferPointer { Self.hash($0, start, start + length) }
        let meta = UInt32(listIndex) << 8 | UInt32(syntax.rawValue)
        if let existing = arena.withUnsafeBufferPointer({ find(hash: hash, in: $0, start, length) }) {
            arena.removeSubrange(start...)
            if RuleSyntax(rawValue: UInt8(entries[existing].meta & 0xFF)) == .namesBelow, syntax != .namesBelow {
                entries[existing].meta = meta
            }
            return false
        }
        if (entries.count + 1) * 10 > slots.count * 7 { grow() }
        if filterMask != 0 { filter = []; filterMask = 0 }
        let entry = entries.count
        entries.append(Entry(offset: UInt32(start), meta: meta))
        place(hash: hash, length: length, entry: entry)
        return true
    }

    /// The most specific rule covering `name` (lower-case presentation bytes): the name itself, or a
    /// parent. A names-below rule (`*.x`) does not cover x itself.
    public func match(_ name: UnsafeBufferPointer<UInt8>) -> DomainRule? {
        guard !name.isEmpty, name.count <= 255 else { return nil }
        var found: (entry: Int, length: Int)?
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var index = name.count - 1
        while index >= 0 {
            hash = (hash ^ UInt64(name[index])) &* 0x0000_0100_0000_01B3
            if index == 0 || name[index - 1] == UInt8(ascii: "."), mayContain(hash) {
                if let entry = find(hash: hash, in: name, index, name.count - index),
                   index > 0 || entries[entry].meta & 0xFF != UInt32(RuleSyntax.namesBelow.rawValue) {
                    found = (entry, name.count - index)
                }
            }
            index -= 1
        }
        return found.map { rule($0.entry, length: $0.length) }
    }

    public func match(_ name: [UInt8]) -> DomainRule? {
        name.withUnsafeBufferPointer { match($0) }
    }

    public func match(_ name: String) -> DomainRule? {
        match(Array(name.utf8))
    }

    private func rule(_ entry: Int, length: Int) -> DomainRule {
        let start = Int(entries[entry].offset)
        return DomainRule(
            domain: String(decoding: arena[start..<(start + length)], as: UTF8.self),
            listIndex: Int(entries[entry].meta >> 8),
            syntax: RuleSyntax(rawValue: UInt8(entries[entry].meta & 0xFF)) ?? .plain)
    }

    /// The fingerprint and length bits of a slot.
    @inline(__always)
    private static func tag(_ hash: UInt64, _ length: Int) -> UInt64 {
        (hash >> 40) << 40 | UInt64(length) << 32
    }

    private func find(hash: UInt64, in bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ length: Int) -> Int? {
        let mask = slots.count - 1
        let tag = Self.tag(hash, length)
        var slot = Int(truncatingIfNeeded: hash) & mask
        return arena.withUnsafeBufferPointer { arena in
            while true {
                let value = slots[slot]
                if value == 0 { return nil }
                if value & 0xFFFF_FFFF_0000_0000 == tag {
                    let entry = Int(value & 0xFFFF_FFFF) - 1
                    do {
                        let offset = Int(entries[entry].offset)
                        var i = 0
                        while i < length, arena[offset + i] == bytes[start + i] { i += 1 }
                        if i == length { return entry }
                    }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    private mutating func place(hash: UInt64, length: Int, entry: Int) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = Self.tag(hash, length) | UInt64(entry + 1)
    }

    /// Every entry with its length (kept only in the slots) and hash, for rebuilding.
    private func forEachEntry(_ body: (_ entry: Int, _ length: Int, _ hash: UInt64) -> Void) {
        arena.withUnsafeBufferPointer { arena in
            for value in slots where value != 0 {
                let entry = Int(value & 0xFFFF_FFFF) - 1
                let length = Int(value >> 32 & 0xFF)
                let start = Int(entries[entry].offset)
                body(entry, length, Self.hash(arena, start, start + length))
            }
        }
    }

    private mutating func grow() {
        var placed: [(entry: Int, length: Int, hash: UInt64)] = []
        placed.reserveCapacity(entries.count)
        forEachEntry { placed.append(($0, $1, $2)) }
        slots = Array(repeating: 0, count: slots.count * 2)
        for (entry, length, hash) in placed { place(hash: hash, length: length, entry: entry) }
    }

    /// FNV-1a over the bytes from last to first, the order `match` walks them.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var index = end - 1
        while index >= start {
            hash = (hash ^ UInt64(bytes[index])) &* 0x0000_0100_0000_01B3
            index -= 1
        }
        return hash
    }

    @inline(__always)
    private func mayContain(_ hash: UInt64) -> Bool {
        guard filterMask != 0 else { return true }
        let bit = Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 40) & filterMask
        return filter.withUnsafeBufferPointer { $0[bit >> 6] } & (1 << UInt64(bit & 63)) != 0
    }

    /// Ends loading: drops spare capacity and builds the prefilter. Inserting afterwards clears the filter.
    public mutating func seal() {
        arena = Array(arena)
        entries = Array(entries)
        var bits = 4096
        while bits < entries.count * 8 { bits <<= 1 }
        var filter = [UInt64](repeating: 0, count: bits / 64)
        let filterMask = bits - 1
        forEachEntry { _, _, hash in
            let bit = Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 40) & filterMask
            filter[bit >> 6] |= 1 << UInt64(bit & 63)
        }
        self.filter = filter
        self.filterMask = filterMask
    }
}

/// How a rule was written, so it can be shown back as written.
public enum RuleSyntax: UInt8, Sendable {
    case plain = 0        // example.com, or a hosts line
    case adblock = 1      // ||example.com^ or @@||example.com^
    case namesBelow = 2   // *.example.com: names below only
}

/// A rule that matched: its domain, the list it came from, and how it was written.
public struct DomainRule: Sendable, Equatable {
    public var domain: String
    public var listIndex: Int
    public var syntax: RuleSyntax

    public var text: String {
        switch syntax {
        case .plain: domain
        case .adblock: "||\(domain)^"
        case .namesBelow: "*.\(domain)"
        }
    }
}
