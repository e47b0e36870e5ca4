import CMemory

/// An immutable set of domain rules built for a million entries. Names live in one byte arena, each after
/// its 4-byte meta (list index << 8 | syntax), and an open-addressed table of 64-bit slots (24-bit
/// fingerprint, the name's length, the entry's arena offset) finds them. In a table far bigger than the
/// cache a hit costs two misses, the slot and then the arena line holding meta and name, and
/// `prefetch` lets a caller with a batch of names start every slot's load before the first lookup.
/// A lookup hashes the name once, right to left, and probes at each label boundary, so `a.b.example.com`
/// checks `com`, `example.com`, `b.example.com` and itself in one pass without allocating.
public struct DomainSet: Sendable {
    private static let metaSize = 4
    private var arena: [UInt8] = []
    private var slots: [UInt64] = Array(repeating: 0, count: 1024)
    /// One bit per 8 entries' worth of space, set for every entry's hash: most suffixes of a name are in no
    /// list, and this small bitmap stays in cache where the big table does not. Built by `seal()`.
    private var filter: [UInt64] = []
    private var filterMask = 0
    public private(set) var count = 0

    public init() {}

    /// Approximate bytes held, for the README's memory figures.
    public var memoryFootprint: Int {
        arena.capacity + slots.capacity * 8 + filter.capacity * 8
    }

    /// Adds a rule. Returns false when the name was already present (the first rule for a name wins,
    /// except that a rule for the name itself replaces a names-below-only rule).
    @discardableResult
    public mutating func insert(_ name: some Collection<UInt8>, listIndex: Int, syntax: RuleSyntax) -> Bool {
        let start = arena.count
        let meta = UInt32(truncatingIfNeeded: listIndex) << 8 | UInt32(syntax.rawValue)
        withUnsafeBytes(of: meta.littleEndian) { arena.append(contentsOf: $0) }
        arena.append(contentsOf: name)
        let length = arena.count - start - Self.metaSize
        guard length > 0, length <= 255, start <= Int(UInt32.max) else {
            arena.removeSubrange(start...)
            return false
        }
        let nameStart = start + Self.metaSize
        let hash = arena.withUnsafeBufferPointer { Self.hash($0, nameStart, nameStart + length) }
        if let existing = arena.withUnsafeBufferPointer({ find(hash: hash, in: $0, nameStart, length) }) {
            arena.removeSubrange(start...)
            if self.syntax(at: existing) == .namesBelow, syntax != .namesBelow {
                arena.withUnsafeMutableBytes { $0.storeBytes(of: meta.littleEndian, toByteOffset: existing, as: UInt32.self) }
            }
            return false
        }
        if (count + 1) * 10 > slots.count * 7 { rehash(slotCount: slots.count * 2) }
        if filterMask != 0 { filter = []; filterMask = 0 }
        place(hash: hash, length: length, offset: start)
        count += 1
        return true
    }

    /// The most specific rule covering `name` (lower-case presentation bytes): the name itself, or a
    /// parent. A names-below rule (`*.x`) does not cover x itself.
    public func match(_ name: UnsafeBufferPointer<UInt8>) -> DomainRule? {
        entry(matching: name).map { rule(at: $0.offset, length: $0.length) }
    }

    /// Where the most specific rule covering `name` sits in the arena, for callers that want its parts
    /// without building its text.
    func entry(matching name: UnsafeBufferPointer<UInt8>) -> Entry? {
        guard !name.isEmpty, name.count <= 255 else { return nil }
        var found: Entry?
        Self.forEachSuffix(of: name) { hash, start in
            guard mayContain(hash), let offset = find(hash: hash, in: name, start, name.count - start),
                  start > 0 || syntax(at: offset) != .namesBelow else { return }
            found = Entry(offset: offset, length: name.count - start)
        }
        return found
    }

    struct Entry {
        var offset: Int
        var length: Int
    }

    func listIndex(of entry: Entry) -> Int { Int(meta(at: entry.offset) >> 8) }

    /// The entry's rule text as a reference into the arena: no string is built unless someone reads it.
    func ruleText(of entry: Entry) -> RuleText {
        RuleText(arena: arena, start: entry.offset + Self.metaSize, length: entry.length, syntax: syntax(at: entry.offset))
    }

    /// Calls `body` with every name in the set and its list's index, in no particular order.
    public func forEachName(_ body: (_ name: UnsafeBufferPointer<UInt8>, _ listIndex: Int) -> Void) {
        arena.withUnsafeBufferPointer { arena in
            for value in slots where value != 0 {
                let offset = Int(value & 0xFFFF_FFFF)
                let length = Int(value >> 32 & 0xFF)
                body(UnsafeBufferPointer(rebasing: arena[(offset + Self.metaSize)..<(offset + Self.metaSize + length)]),
                     Int(meta(at: offset) >> 8))
            }
        }
    }

    public func match(_ name: [UInt8]) -> DomainRule? {
        name.withUnsafeBufferPointer { match($0) }
    }

    public func match(_ name: String) -> DomainRule? {
        match(Array(name.utf8))
    }

    /// How far `prefetch` goes: the filter's words, or the slots of the suffixes the filter passes.
    public enum PrefetchStep: Sendable { case filter, slots }

    /// Starts loading what `match` will read for `name`, and returns at once. A caller holding a batch of
    /// names prefetches them all, step by step, then matches each: their misses overlap instead of queueing
    /// one behind another. `.slots` reads the filter, so it should come after a `.filter` pass.
    public func prefetch(_ name: UnsafeBufferPointer<UInt8>, _ step: PrefetchStep) {
        guard !name.isEmpty, name.count <= 255, filterMask != 0 else { return }
        filter.withUnsafeBufferPointer { filter in
            slots.withUnsafeBufferPointer { slots in
                let mask = slots.count - 1
                Self.forEachSuffix(of: name) { hash, _ in
                    switch step {
                    case .filter:
                        hush_prefetch(filter.baseAddress! + (filterBit(hash) >> 6))
                    case .slots:
                        if mayContain(hash) { hush_prefetch(slots.baseAddress! + (Int(truncatingIfNeeded: hash) & mask)) }
                    }
                }
            }
        }
    }

    /// Calls `body` with the hash and start of each suffix of `name` that begins at a label, shortest
    /// first (`com`, `example.com`, `a.example.com`): the one walk `match` and `prefetch` both make.
    @inline(__always)
    static func forEachSuffix(of name: UnsafeBufferPointer<UInt8>, _ body: (_ hash: UInt64, _ start: Int) -> Void) {
        var hash = basis
        var index = name.count - 1
        while index >= 0 {
            hash = (hash ^ UInt64(name[index])) &* prime
            if index == 0 || name[index - 1] == UInt8(ascii: ".") { body(hash, index) }
            index -= 1
        }
    }

    private func syntax(at offset: Int) -> RuleSyntax {
        RuleSyntax(rawValue: UInt8(truncatingIfNeeded: meta(at: offset))) ?? .plain
    }

    private func meta(at offset: Int) -> UInt32 {
        UInt32(littleEndian: arena.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) })
    }

    private func rule(at offset: Int, length: Int) -> DomainRule {
        let start = offset + Self.metaSize
        return DomainRule(
            domain: String(decoding: arena[start..<(start + length)], as: UTF8.self),
            listIndex: Int(meta(at: offset) >> 8),
            syntax: syntax(at: offset))
    }

    /// The fingerprint and length bits of a slot. The length is at least 1, so a used slot is never 0.
    @inline(__always)
    private static func tag(_ hash: UInt64, _ length: Int) -> UInt64 {
        (hash >> 40) << 40 | UInt64(length) << 32
    }

    /// The arena offset of the entry (its meta) for the name at `bytes[start..<start+length]`.
    private func find(hash: UInt64, in bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ length: Int) -> Int? {
        let tag = Self.tag(hash, length)
        return slots.withUnsafeBufferPointer { slots in
            arena.withUnsafeBufferPointer { arena in
                let mask = slots.count - 1
                var slot = Int(truncatingIfNeeded: hash) & mask
                while true {
                    let value = slots[slot]
                    if value == 0 { return nil }
                    if value & 0xFFFF_FFFF_0000_0000 == tag {
                        let offset = Int(value & 0xFFFF_FFFF)
                        let name = offset + Self.metaSize
                        var i = 0
                        while i < length, arena[name + i] == bytes[start + i] { i += 1 }
                        if i == length { return offset }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    private mutating func place(hash: UInt64, length: Int, offset: Int) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = Self.tag(hash, length) | UInt64(offset)
    }

    /// Every entry's offset, length (kept only in the slots) and hash, for rebuilding.
    private func forEachEntry(_ body: (_ offset: Int, _ length: Int, _ hash: UInt64) -> Void) {
        arena.withUnsafeBufferPointer { arena in
            for value in slots where value != 0 {
                let offset = Int(value & 0xFFFF_FFFF)
                let length = Int(value >> 32 & 0xFF)
                let name = offset + Self.metaSize
                body(offset, length, Self.hash(arena, name, name + length))
            }
        }
    }

    /// Makes room for `additional` more entries at once (a list's line count, say), so a big list is not
    /// rehashed at every doubling. `seal()` gives back what was not used.
    public mutating func reserveCapacity(adding additional: Int) {
        let size = Self.slotCount(for: count + additional)
        if size > slots.count { rehash(slotCount: size) }
    }

    /// The table size for `entries`: a power of two, at most 70% full.
    private static func slotCount(for entries: Int) -> Int {
        var size = 1024
        while entries * 10 > size * 7 { size *= 2 }
        return size
    }

    /// Places every entry again in a table of `slotCount` slots; `hugePages` when the table is final.
    private mutating func rehash(slotCount: Int, hugePages: Bool = false) {
        var placed: [(offset: Int, length: Int, hash: UInt64)] = []
        placed.reserveCapacity(count)
        forEachEntry { placed.append(($0, $1, $2)) }
        slots = hugePages ? Self.hugePageArray(count: slotCount, from: []) : Array(repeating: 0, count: slotCount)
        for (offset, length, hash) in placed { place(hash: hash, length: length, offset: offset) }
    }

    static let basis: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// FNV-1a over the bytes from last to first, the order `match` walks them.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> UInt64 {
        var hash = basis
        var index = end - 1
        while index >= start {
            hash = (hash ^ UInt64(bytes[index])) &* prime
            index -= 1
        }
        return hash
    }

    /// The filter bit comes from the fingerprint bits the slot keeps, so `seal()` builds the filter from
    /// the slots alone, without hashing every name again.
    @inline(__always)
    private func filterBit(_ hash: UInt64) -> Int {
        Self.filterBit(hash, filterMask)
    }

    @inline(__always)
    private static func filterBit(_ hash: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: hash >> 40) & mask
    }

    @inline(__always)
    private func mayContain(_ hash: UInt64) -> Bool {
        guard filterMask != 0 else { return true }
        let bit = filterBit(hash)
        return filter.withUnsafeBufferPointer { $0[bit >> 6] } & (1 << UInt64(bit & 63)) != 0
    }

    /// An array of `count` elements starting with `source` (the rest zero), in memory advised to use huge
    /// pages before it is first written: lookups read the slots and the arena at random, and with 4 KiB
    /// pages nearly every read also missed the TLB.
    private static func hugePageArray<Element: BitwiseCopyable & FixedWidthInteger>(count: Int, from source: [Element]) -> [Element] {
        // An empty array is the runtime's shared empty storage: writing its count from two threads at once
        // (two tiny sets sealed together) is a race ThreadSanitizer reports.
        guard count > 0 else { return [] }
        return source.withUnsafeBufferPointer { source in
            [Element](unsafeUninitializedCapacity: count) { copy, initialized in
                hush_advise_huge_pages(copy.baseAddress, count * MemoryLayout<Element>.stride)
                let copied = copy.initialize(fromContentsOf: source)
                copy[copied...].initialize(repeating: 0)
                initialized = count
            }
        }
    }

    /// Ends loading: gives back unused room (in huge pages, see `hugePageArray`) and builds the
    /// prefilter. Inserting afterwards clears the filter.
    public mutating func seal() {
        // An exact copy: `Array(arena)` would hand back the same over-allocated buffer.
        arena = Self.hugePageArray(count: arena.count, from: arena)
        let size = Self.slotCount(for: count)
        if size < slots.count { rehash(slotCount: size, hugePages: true) } else { slots = Self.hugePageArray(count: size, from: slots) }
        // Eight bits per entry, up to the 24 fingerprint bits a slot keeps.
        var bits = 4096
        while bits < count * 8, bits < 1 << 24 { bits <<= 1 }
        var filter = [UInt64](repeating: 0, count: bits / 64)
        let mask = bits - 1
        for value in slots where value != 0 {
            // A slot's top 24 bits are its hash's (see `tag`), so they give the same bit a lookup tests.
            let bit = Self.filterBit(value, mask)
            filter[bit >> 6] |= 1 << UInt64(bit & 63)
        }
        self.filter = filter
        filterMask = mask
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

    public var text: String { RuleText(domain: domain, syntax: syntax).description }
}
