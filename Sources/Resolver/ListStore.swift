import Blocklist
import Synchronization

/// The lists in force. Reload builds a whole new `ListSet` off to the side and swaps it in here, so a
/// query sees either the old lists or the new ones, never half of each.
public final class ListStore: Sendable {
    private let current: Mutex<ListSet>

    public init(_ lists: ListSet = .empty) {
        current = Mutex(lists)
    }

    public func replace(with lists: ListSet) {
        current.withLock { $0 = lists }
    }

    public var snapshot: ListSet { current.withLock { $0 } }

    public func verdict(for name: [UInt8]) -> Verdict {
        current.withLock { $0.verdict(for: name) }
    }
}
