import Blocklist
import CSQLite
import DNSWire
import Foundation
import GRDB
import Resolver
import Sockets

/// Keeping the totals whole and the file bounded: folding in raw batches the totals missed (after a crash
/// or a failed commit), and deleting what is older than the retention period.
extension StatsStore {
    /// Folds raw batches the per-name hourly totals do not include yet (written while they were deferred,
    /// then a crash or a failed commit) into them. Run before the first write after opening or a failure.
    func catchUpAggregates() throws {
        try database.write { db in try catchUpAggregates(db) }
    }

    func catchUpAggregates(_ db: Database) throws {
        let through = try Int64.fetchOne(db, sql: "SELECT value FROM counters WHERE key = 'aggregated_through_batch'") ?? 0
        var totals: [StoredKey: NameHourTable.Entry] = [:]
        var rules: [Int64: (vendor: String?, category: String?)] = [:]
        let merged = try Self.mergedDevices(db)
        let batches = try Row.fetchCursor(db, sql: "SELECT entries, overflow FROM attempt_batches WHERE id > ? ORDER BY id", arguments: [through])
        while let batch = try batches.next() {
            for (logged, count) in PackedBatch.decode(entries: batch["entries"], overflow: batch["overflow"]).counted {
                var entry = logged
                entry.device = merged[entry.device] ?? entry.device
                let key = StoredKey(hour: Int64(entry.time / 3600), device: entry.device, name: entry.name, disposition: entry.disposition)
                if totals[key] == nil {
                    if Disposition.isBlocked(code: entry.disposition), rules[entry.rule] == nil {
                        let row = try Row.fetchOne(db, sql: "SELECT vendor, category FROM rules WHERE id = ?", arguments: [entry.rule])
                        rules[entry.rule] = (row?["vendor"], row?["category"])
                    }
                    var first = NameHourTable.Entry(
                        hour: key.hour, device: entry.device, name: entry.name, disposition: entry.disposition, rule: entry.rule,
                        cname: entry.cname, vendor: rules[entry.rule]?.vendor, category: rules[entry.rule]?.category)
                    first.first = entry.time
                    first.last = entry.time
                    totals[key] = first
                }
                modify(&totals[key]!) { total in
                    total.pending += count
                    total.first = min(total.first, entry.time)
                    total.last = max(total.last, entry.time)
                }
            }
        }
        try writeAggregates(Array(totals.values), db: db)
    }

    /// Deletes what is older than the retention period: the raw log, the aggregates, and names nothing
    /// refers to any more. A packed batch that straddles the cutoff is rewritten without its old entries.
    public func applyRetention(days: Int, now: Double = Date().timeIntervalSince1970) throws {
        let cutoff = now - Double(days) * 86_400
        let cutoffHour = Int64(cutoff / 3600)
        try database.write { db in
            // Names are deleted below when no per-name total refers to them: first make sure the totals
            // include every raw batch.
            try catchUpAggregates(db)
            try db.execute(sql: "DELETE FROM attempt_batches WHERE last < ?", arguments: [cutoff])
            for row in try Row.fetchAll(db, sql: "SELECT id, entries, overflow FROM attempt_batches WHERE first < ?", arguments: [cutoff]) {
                var kept = PackedBatch.decode(entries: row["entries"], overflow: row["overflow"])
                kept.logged.removeAll { $0.time < cutoff }
                kept.overflow.removeAll { $0.entry.time < cutoff }
                let rebuilt = PackedBatch.rebuild(kept)
                try db.execute(sql: "UPDATE attempt_batches SET first = ?, count = ?, entries = ?, overflow = ? WHERE id = ?",
                               arguments: [rebuilt.count == 0 && kept.overflow.isEmpty ? cutoff : rebuilt.first, rebuilt.count, rebuilt.entries, rebuilt.overflow, row["id"] as Int64])
            }
            try db.execute(sql: "DELETE FROM name_hourly WHERE hour < ?", arguments: [cutoffHour])
            try db.execute(sql: "DELETE FROM device_hourly WHERE hour < ?", arguments: [cutoffHour])
            try db.execute(sql: "DELETE FROM device_vendor_hourly WHERE hour < ?", arguments: [cutoffHour])
            // Every raw entry's name is also in the hourly table for its hour, which outlives it.
            try db.execute(sql: """
                DELETE FROM names WHERE id NOT IN (SELECT name_id FROM name_hourly)
                    AND id NOT IN (SELECT cname_id FROM name_hourly WHERE cname_id IS NOT NULL)
                """)
        }
    }
}

/// A per-name hourly row's key as stored.
private struct StoredKey: Hashable {
    var hour: Int64
    var device: Int64
    var name: Int64
    var disposition: UInt8
}
