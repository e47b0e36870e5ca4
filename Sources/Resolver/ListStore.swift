import Blocklist
import DNSWire
import Synchronization

/// The lists in force. Reload builds a whole new `ListSet` off to the side and swaps it in here, so a
/// query sees either the old lists or the new ones, never half of each.
public final class ListStore: Sendable {
    private let current: Mutex<ListSet>

    public init(_ lists: ListSet = .empty) {
        current = Mutex(lists)
    }

    public func replace(with lists: ListSet) {
        var lists = lists
        current.withLock { swap(&$0, &lists) }
        // `lists` now holds the old set, freed here rather than under the lock the answering thread takes.
    }

    public var snapshot: ListSet { current.withLock { $0 } }

    public func verdict(for name: [UInt8]) -> Verdict {
        current.withLock { $0.verdict(for: name) }
    }
}

extension ListStore: Prefetching {
    /// Starts loading the block set's filter words for every name, then the slots of the suffixes the
    /// filter passes (`DomainSet.prefetch`); by the time the first name is looked up its lines are on the
    /// way. Prefetching the arena lines as a third step gains nothing (bench/README.md). The allow set is consulted only
    /// after a block rule matched, so it is left alone.
    public func prefetch(_ names: [DomainName]) {
        // Under the lock rather than on a copy: copying the set retains and releases its seven buffers.
        current.withLock { lists in
            for step in [DomainSet.PrefetchStep.filter, .slots] {
                for name in names { name.bytes.withUnsafeBufferPointer { lists.block.prefetch($0, step) } }
            }
        }
    }
}
