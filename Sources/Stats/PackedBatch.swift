import Foundation
import GRDB

/// Raw attempts on their way into one `attempt_batches` row.
struct PackedBatch {
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0
    private var first = Double.infinity
    private var last = -Double.infinity

    init(expected: Int = 0) {
        bytes.reserveCapacity(min(expected, AttemptEntry.perBatch) * AttemptEntry.size)
    }

    var isFull: Bool { count >= AttemptEntry.perBatch }

    mutating func add(_ entry: AttemptEntry) {
        entry.append(to: &bytes)
        count += 1
        first = min(first, entry.time)
        last = max(last, entry.time)
    }

    /// Writes the row, if there is anything to write, and starts over.
    mutating func insert(_ db: Database) throws {
        guard count > 0 else { return }
        try db.execute(sql: "INSERT INTO attempt_batches (first, last, count, entries) VALUES (?, ?, ?, ?)",
                       arguments: [first, last, count, Data(bytes)])
        self = PackedBatch(expected: count)
    }
}
