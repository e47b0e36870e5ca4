import CSQLite
import Foundation
import GRDB

/// Raw attempts on their way into one `attempt_batches` row. Past the storm cap a key's attempts are not
/// logged one by one, but the row still carries how many there were (`overflow`: an entry and a count per
/// key), so the per-name totals can be rebuilt from the rows alone after a crash.
struct PackedBatch {
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0
    private var overflow: [UInt8] = []
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

    /// `count` more attempts like `entry` that were only counted.
    mutating func addOverflow(_ entry: AttemptEntry, count: Int) {
        entry.append(to: &overflow)
        withUnsafeBytes(of: UInt32(clamping: count).littleEndian) { overflow.append(contentsOf: $0) }
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
        guard status == SQLITE_DONE else { throw StatsError.storage("writing the raw log failed: \(String(cString: sqlite3_errstr(status)))") }
        reset()
    }

    /// Empty again, keeping the buffers.
    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        overflow.removeAll(keepingCapacity: true)
        count = 0
        first = .infinity
        last = -.infinity
    }

    /// The entries of a stored row, each with how many attempts it stands for.
    static func decode(entries: Data, overflow: Data?) -> [(entry: AttemptEntry, count: Int)] {
        var decoded = entries.withUnsafeBytes { bytes in
            (0..<AttemptEntry.count(entries)).compactMap { AttemptEntry.decode(bytes, at: $0).map { ($0, 1) } }
        }
        if let overflow {
            overflow.withUnsafeBytes { bytes in
                let stride = AttemptEntry.size + 4
                for start in Swift.stride(from: 0, to: bytes.count - stride + 1, by: stride) {
                    guard let entry = AttemptEntry.decode(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + stride)]), at: 0) else { continue }
                    let count = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: start + AttemptEntry.size, as: UInt32.self))
                    decoded.append((entry, Int(count)))
                }
            }
        }
        return decoded
    }

    /// A stored row again, without what `keep` rejects (retention).
    static func rebuild(_ decoded: [(entry: AttemptEntry, count: Int)]) -> (entries: Data, overflow: Data?, count: Int, first: Double) {
        var batch = PackedBatch()
        for (entry, count) in decoded {
            if count == 1 { batch.add(entry) } else { batch.addOverflow(entry, count: count) }
        }
        return (Data(batch.bytes), batch.overflow.isEmpty ? nil : Data(batch.overflow), batch.count, batch.first)
    }
}
