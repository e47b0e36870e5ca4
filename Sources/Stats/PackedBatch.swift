import CSQLite
import Foundation
import GRDB

/// Raw attempts on their way into one `attempt_batches` row. Past the storm cap a key's attempts are not
/// logged one by one, but the row still carries how many there were (`overflow`: an entry and a count per
/// key), so the per-name totals can be rebuilt from the rows alone after a crash.
struct PackedBatch {
    private var bytes: [UInt8] = []
    private var encoder = AttemptEncoder()
    private(set) var count = 0
    private var overflow: [UInt8] = []
    private var overflowEncoder = AttemptEncoder()
    private var first = Double.infinity
    private var last = -Double.infinity

    var isFull: Bool { count >= LoggedAttempt.perBatch }

    mutating func add(_ entry: LoggedAttempt) {
        encoder.append(entry, to: &bytes)
        count += 1
        first = min(first, entry.time)
        last = max(last, entry.time)
    }

    /// `count` more attempts like `entry` that were only counted.
    mutating func addOverflow(_ entry: LoggedAttempt, count: Int) {
        overflowEncoder.append(entry, count: count, to: &overflow)
        first = min(first, entry.time)
        last = max(last, entry.time)
    }

    /// Writes the row, if there is anything to write, and starts over, keeping the buffer for the next one.
    mutating func insert(_ db: Database) throws {
        guard count > 0 || !overflow.isEmpty else { return }
        let statement = try db.cachedStatement(sql: "INSERT INTO attempt_batches (first, last, count, entries, overflow) VALUES (?, ?, ?, ?, ?)")
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_bind_double(handle, 1, first)
        sqlite3_bind_double(handle, 2, last)
        sqlite3_bind_int64(handle, 3, Int64(count))
        // Bound in place, not copied: a second 3 MB copy per flush showed in the profile.
        let status = bytes.withUnsafeBytes { entries in
            overflow.withUnsafeBytes { overflow in
                hush_bind_blob(handle, 4, entries.baseAddress, Int32(entries.count))
                if overflow.isEmpty { sqlite3_bind_null(handle, 5) } else { hush_bind_blob(handle, 5, overflow.baseAddress, Int32(overflow.count)) }
                defer { sqlite3_clear_bindings(handle) }
                return sqlite3_step(handle)
            }
        }
        guard status == SQLITE_DONE else { throw sqliteFailure(status, "writing the raw log") }
        reset()
    }

    /// Empty again, keeping the buffers.
    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        overflow.removeAll(keepingCapacity: true)
        encoder = AttemptEncoder()
        overflowEncoder = AttemptEncoder()
        count = 0
        first = .infinity
        last = -.infinity
    }

    /// A stored row's contents: the logged entries in order, then the overflow counts.
    struct Contents {
        var logged: [LoggedAttempt] = []
        var overflow: [(entry: LoggedAttempt, count: Int)] = []

        /// Every entry with how many attempts it stands for.
        var counted: [(entry: LoggedAttempt, count: Int)] { logged.map { ($0, 1) } + overflow }
    }

    static func decode(entries: Data, overflow: Data?) -> Contents {
        var contents = Contents()
        entries.withUnsafeBytes { bytes in
            var decoder = AttemptDecoder(bytes)
            while let next = decoder.next() { contents.logged.append(next.entry) }
        }
        overflow?.withUnsafeBytes { bytes in
            var decoder = AttemptDecoder(bytes)
            while let next = decoder.next(withCount: true) { contents.overflow.append(next) }
        }
        return contents
    }

    /// The logged entries of a stored row, in order.
    static func entries(_ entries: Data) -> [LoggedAttempt] {
        decode(entries: entries, overflow: nil).logged
    }

    /// The row's columns as they would be stored now.
    var stored: (entries: Data, overflow: Data?, count: Int, first: Double) {
        (Data(bytes), overflow.isEmpty ? nil : Data(overflow), count, first)
    }

    /// A stored row again, from contents (retention keeps part of a row).
    static func rebuild(_ contents: Contents) -> (entries: Data, overflow: Data?, count: Int, first: Double) {
        var batch = PackedBatch()
        for entry in contents.logged { batch.add(entry) }
        for (entry, count) in contents.overflow { batch.addOverflow(entry, count: count) }
        return batch.stored
    }
}
