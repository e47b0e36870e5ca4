import CMemory

/// An open-addressing index from `NameHourTable.Key` to a slot number: linear probing over one array of
/// (key, slot) pairs, at most half full. The key's name part is already a seeded hash, so a multiply and
/// a shift spread it; Swift's Dictionary re-hashed every key with SipHash and touched three cache lines
/// per lookup, a fifth of the writer's time.
struct KeyIndex {
    private struct Bucket {
        var key: NameHourTable.Key
        var slot: Int32   // -1: empty
    }

    private var buckets: [Bucket]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1_024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        buckets = Array(repeating: Bucket(key: .init(nameHash: 0, hour: 0, device: 0, disposition: 0), slot: -1), count: size)
        mask = size - 1
    }

    @inline(__always)
    private func start(_ key: NameHourTable.Key) -> Int {
        var mixed = UInt64(bitPattern: Int64(key.nameHash)) ^ UInt64(bitPattern: key.hour &* 0x9E37_79B9) ^ UInt64(bitPattern: key.device << 40)
            ^ UInt64(key.disposition) << 56
        mixed = (mixed ^ (mixed >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        return Int(truncatingIfNeeded: mixed ^ (mixed >> 29)) & mask
    }

    func slot(for key: NameHourTable.Key) -> Int? {
        buckets.withUnsafeBufferPointer { buckets in
            var index = start(key)
            while true {
                let bucket = buckets[index]
                if bucket.slot < 0 { return nil }
                if bucket.key == key { return Int(bucket.slot) }
                index = (index + 1) & mask
            }
        }
    }

    /// Starts loading the bucket where `key`'s probe begins, so a lookup a few records later finds it in
    /// the cache: with many names an hour the table outgrows it, and that miss would be most of the writer's time.
    func prefetch(_ key: NameHourTable.Key) {
        buckets.withUnsafeBufferPointer { hush_prefetch($0.baseAddress! + start(key)) }
    }

    /// Adds a key that is not in the index yet.
    mutating func insert(_ key: NameHourTable.Key, slot: Int) {
        if (count + 1) * 2 > buckets.count { grow() }
        let mask = mask
        var index = start(key)
        buckets.withUnsafeMutableBufferPointer { buckets in
            while buckets[index].slot >= 0 { index = (index + 1) & mask }
            buckets[index] = Bucket(key: key, slot: Int32(slot))
        }
        count += 1
    }

    private mutating func grow() {
        let old = buckets
        self = KeyIndex(capacity: old.count)
        for bucket in old where bucket.slot >= 0 { insert(bucket.key, slot: Int(bucket.slot)) }
    }
}
