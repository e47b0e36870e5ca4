import Resolver

/// The writer's memory of the hours it is recording: per device, name and outcome, what was resolved once
/// (ids, vendor), how many raw entries it has had (the storm cap), and what `name_hourly` has not been told
/// yet. A recorded query costs one hash lookup here; everything else happens once per key.
struct NameHourTable {
    /// The name by its length and bytes hashed (Swift's hash, seeded at random per process, so names
    /// cannot be crafted to collide): comparing the bytes themselves cost a cache miss per query.
    struct Key: Equatable {
        var nameHash: Int
        var hour: Int64
        var device: Int64
        var disposition: UInt8

        /// The key a record counts under. The writer's prefetch makes it a few records early, so both go
        /// through here: a key that differed would load the wrong bucket without anyone noticing.
        init(_ record: RecordBatch.QueuedAttempt, device: Int64) {
            self.init(nameHash: record.nameHash, hour: record.hour, device: device, disposition: record.code)
        }

        init(nameHash: Int, hour: Int64, device: Int64, disposition: UInt8) {
            self.nameHash = nameHash
            self.hour = hour
            self.device = device
            self.disposition = disposition
        }
    }

    struct Entry {
        let hour: Int64
        let device: Int64
        let name: Int64
        let disposition: UInt8
        let rule: Int64        // 0: none
        let cname: Int64       // 0: none
        /// For blocked attempts only, as `device_vendor_hourly` names them: "(unknown)" and "" when the
        /// list gave none.
        let vendor: String?
        let category: String?
        var raw = 0
        var pending = 0
        /// Attempts past the storm cap since the last raw batch was written.
        var overflow = 0
        var first = 0.0
        var last = 0.0

        init(hour: Int64, device: Int64, name: Int64, disposition: UInt8, rule: Int64, cname: Int64, vendor: String?, category: String?) {
            self.hour = hour
            self.device = device
            self.name = name
            self.disposition = disposition
            self.rule = rule
            self.cname = cname
            let blocked = Disposition.isBlocked(code: disposition)
            self.vendor = blocked ? vendor.flatMap { $0.isEmpty ? nil : $0 } ?? "(unknown)" : nil
            self.category = blocked ? category ?? "" : nil
        }
    }

    private var slots = KeyIndex()
    private(set) var entries: [Entry] = []
    /// Slots with attempts not yet in `name_hourly`.
    private(set) var pendingSlots: [Int] = []
    /// Slots with attempts past the cap not yet in a raw batch.
    private(set) var overflowSlots: [Int] = []

    var count: Int { entries.count }

    func slot(for key: Key) -> Int? { slots.slot(for: key) }

    func prefetch(_ key: Key) { slots.prefetch(key) }

    mutating func add(_ entry: Entry, for key: Key) -> Int {
        entries.append(entry)
        slots.insert(key, slot: entries.count - 1)
        return entries.count - 1
    }

    /// Counts one attempt; true while the key may still take raw entries this hour.
    mutating func count(_ slot: Int, at time: Double, rawLimit: Int) -> Bool {
        entries.withUnsafeMutableBufferPointer { entries in
            if entries[slot].pending == 0 {
                pendingSlots.append(slot)
                entries[slot].first = time
                entries[slot].last = time
            } else {
                entries[slot].first = min(entries[slot].first, time)
                entries[slot].last = max(entries[slot].last, time)
            }
            entries[slot].pending += 1
            guard entries[slot].raw < rawLimit else {
                if entries[slot].overflow == 0 { overflowSlots.append(slot) }
                entries[slot].overflow += 1
                return false
            }
            entries[slot].raw += 1
            return true
        }
    }

    /// The attempts past the cap, per key, once; they go into the raw batch being written.
    mutating func takeOverflow() -> [(slot: Int, count: Int)] {
        defer { overflowSlots.removeAll(keepingCapacity: true) }
        return overflowSlots.map { slot in
            defer { entries[slot].overflow = 0 }
            return (slot, entries[slot].overflow)
        }
    }

    /// The keys whose attempts `name_hourly` has not been told, with those counts.
    var pending: [Entry] { pendingSlots.map { entries[$0] } }

    /// After the pending counts were committed: nothing is pending any more.
    mutating func written() {
        for slot in pendingSlots { entries[slot].pending = 0 }
        pendingSlots.removeAll(keepingCapacity: true)
    }

    /// At a new hour, after a failed commit (its counts will be made again from the waiting records), or
    /// when a storm of names has made the table too big: start over.
    mutating func removeAll() {
        slots = KeyIndex()
        entries.removeAll()
        pendingSlots.removeAll()
        overflowSlots.removeAll()
    }
}
