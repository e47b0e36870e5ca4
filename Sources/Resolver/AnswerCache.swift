import DNSWire
import Locking

/// Upstream answers by question, bounded in bytes, least recently used evicted first. Entries are kept
/// past their TTL for `staleWindow` seconds so they can be served stale when every upstream fails.
public final class AnswerCache: Sendable {
    public struct Hit: Sendable {
        public var message: StoredMessage
        public var age: UInt32
        public var lifetime: UInt32
        public var expired: Bool
    }

    public struct Statistics: Sendable, Equatable {
        public var entries: Int
        public var bytes: Int
        public var evictions: Int
    }

    private struct Entry {
        var key: CacheKey
        var message: StoredMessage?
        var storedAt: Double
        var lifetime: UInt32
        var cost: Int
        var newer: Int      // toward the most recently used; -1 at the head
        var older: Int      // toward the least recently used; -1 at the tail
    }

    private struct State {
        var index: [CacheKey: Int] = [:]
        var entries: [Entry] = []
        var free: [Int] = []
        var head = -1        // most recently used
        var tail = -1        // least recently used
        var bytes = 0
        var evictions = 0
    }

    private let state = Locked(State())
    public let maxBytes: Int
    public let staleWindow: Double

    public init(maxBytes: Int, staleWindow: Double = 86_400) {
        self.maxBytes = maxBytes
        self.staleWindow = staleWindow
    }

    public func lookup(_ key: CacheKey, now: Double = MonotonicClock.coarseSeconds()) -> Hit? {
        state.withLock { state -> Hit? in
            guard let slot = state.index[key] else { return nil }
            // Fields read in place: copying the entry would retain its key and message for nothing.
            let age = now - state.entries[slot].storedAt
            let lifetime = state.entries[slot].lifetime
            if age > Double(lifetime) + staleWindow {
                Self.remove(slot, from: &state)
                return nil
            }
            Self.moveToHead(slot, in: &state)
            return state.entries[slot].message.map {
                Hit(message: $0, age: UInt32(max(0, age)), lifetime: lifetime, expired: age >= Double(lifetime))
            }
        }
    }

    public func store(_ message: StoredMessage, for key: CacheKey, lifetime: UInt32, now: Double = MonotonicClock.coarseSeconds()) {
        let cost = message.wire.count + key.name.bytes.count + 160
        guard cost <= maxBytes else { return }
        state.withLock { state in
            if let slot = state.index[key] { Self.remove(slot, from: &state) }
            while state.bytes + cost > maxBytes, state.tail >= 0 {
                Self.remove(state.tail, from: &state)
                state.evictions += 1
            }
            let entry = Entry(key: key, message: message, storedAt: now, lifetime: lifetime, cost: cost, newer: -1, older: -1)
            let slot: Int
            if let reused = state.free.popLast() {
                state.entries[reused] = entry
                slot = reused
            } else {
                state.entries.append(entry)
                slot = state.entries.count - 1
            }
            state.index[key] = slot
            state.bytes += cost
            Self.linkAtHead(slot, in: &state)
        }
    }

    public var statistics: Statistics {
        state.withLock { Statistics(entries: $0.index.count, bytes: $0.bytes, evictions: $0.evictions) }
    }

    private static func remove(_ slot: Int, from state: inout State) {
        unlink(slot, in: &state)
        let entry = state.entries[slot]
        state.index[entry.key] = nil
        state.bytes -= entry.cost
        // Drop the message now; the slot keeps only a small husk until reused.
        state.entries[slot].message = nil
        state.free.append(slot)
    }

    private static func unlink(_ slot: Int, in state: inout State) {
        let newer = state.entries[slot].newer
        let older = state.entries[slot].older
        if newer >= 0 { state.entries[newer].older = older } else { state.head = older }
        if older >= 0 { state.entries[older].newer = newer } else { state.tail = newer }
        state.entries[slot].newer = -1
        state.entries[slot].older = -1
    }

    private static func linkAtHead(_ slot: Int, in state: inout State) {
        state.entries[slot].older = state.head
        state.entries[slot].newer = -1
        if state.head >= 0 { state.entries[state.head].newer = slot }
        state.head = slot
        if state.tail < 0 { state.tail = slot }
    }

    private static func moveToHead(_ slot: Int, in state: inout State) {
        guard state.head != slot else { return }
        unlink(slot, in: &state)
        linkAtHead(slot, in: &state)
    }
}
