import Blocklist
import CSQLite
import DNSWire
import Foundation
import GRDB
import Resolver
import Sockets

/// Ids the writer has already looked up or created, so a record costs dictionary lookups, not queries.
/// Cleared when a transaction rolls back (the ids it created are gone) and when retention deletes names.
struct KnownIDs {
    var devices: [DeviceDirectory.Identity: Int64] = [:]
    var rules: [RuleKey: Int64] = [:]
    var names: [DomainName: Int64] = [:]
    /// A storm of random names must not grow the cache without end; past this it starts over.
    static let nameLimit = 500_000
}

extension StatsStore {
    /// Writes one batch in one transaction: devices and their addresses, per-device hourly counts, and —
    /// as the privacy setting allows — the hourly per-name aggregate and the packed raw log.
    /// `rawCounts` says how many raw entries each (hour, device, name, disposition) has had; it is updated,
    /// and past `rawPerNameHour` a retry storm is only counted.
    func write(
        _ batch: [AttemptRecord], identity: (IPAddress) -> DeviceDirectory.Identity, dropped: Int,
        privacy: StatsSettings.Privacy, rawCounts: inout [NameHour: Int], rawPerNameHour: Int, ids: inout KnownIDs
    ) throws {
        try database.write { db in
            // Per record only dictionary work on integer or name-byte keys and 44 bytes appended to the
            // packed log: ids, strings and vendor totals are worked out once per distinct key.
            var hourlyCounts: [HourDevice: (queries: Int, blocked: Int)] = [:]
            var aggregates: [NameHour: Aggregate] = [:]
            var clients: [IPAddress: ClientActivity] = [:]
            var raw = PackedBatch(expected: batch.count)
            for index in batch.indices {
                let time = batch[index].time
                let address = batch[index].client
                let device: Int64
                if let known = clients[address]?.device {
                    device = known
                    clients[address]!.last = time
                } else {
                    device = try deviceID(identity(address), time: time, db: db, cache: &ids.devices)
                    clients[address] = ClientActivity(device: device, last: time)
                }
                let hour = Int64(time / 3600)
                let blocked = batch[index].blocked
                modify(&hourlyCounts[HourDevice(hour: hour, device: device), default: (0, 0)]) { counts in
                    counts.queries += 1
                    if blocked { counts.blocked += 1 }
                }
                guard privacy == .all || (privacy == .blocked && blocked) else { continue }

                let code = batch[index].outcome.code
                let key = NameHour(hour: hour, device: device, name: try nameID(batch[index].domain, db: db, ids: &ids), disposition: code)
                var aggregate = Aggregate(record: index, first: time)
                var isNew = false
                modify(&aggregates[key, default: aggregate]) { stored in
                    isNew = stored.count == 0
                    stored.count += 1
                    stored.first = min(stored.first, time)
                    stored.last = max(stored.last, time)
                    aggregate = stored
                }
                if isNew {
                    let rule = try batch[index].outcome.listMatch.map { try ruleID($0, db: db, cache: &ids.rules) } ?? 0
                    let cname = try batch[index].cname.map { try nameID(DomainName($0), db: db, ids: &ids) } ?? 0
                    aggregates[key]!.rule = rule
                    aggregates[key]!.cname = cname
                    aggregate = aggregates[key]!
                }
                var allowed = false
                modify(&rawCounts[key, default: 0]) { count in
                    if count < rawPerNameHour {
                        count += 1
                        allowed = true
                    }
                }
                guard allowed else { continue }
                // A later CNAME for the same key can differ from the first; the raw entry keeps its own.
                let cname = code == 4 && !isNew ? try batch[index].cname.map { try nameID(DomainName($0), db: db, ids: &ids) } ?? 0 : aggregate.cname
                raw.add(AttemptEntry(time: time, device: device, name: key.name, cname: cname, rule: aggregate.rule,
                                     type: batch[index].type, disposition: code, client: address))
                if raw.isFull { try raw.insert(db) }
            }
            try raw.insert(db)
            try writeAggregates(aggregates, batch: batch, hourlyCounts: hourlyCounts, db: db)
            try touchDevices(clients, db: db)
            if dropped > 0 { try Self.add(dropped, to: "dropped", db) }
        }
    }

    /// Last seen, for each device and each of its addresses.
    private func touchDevices(_ clients: [IPAddress: ClientActivity], db: Database) throws {
        var seen: [Int64: (time: Double, addresses: [String: Double])] = [:]
        for (address, activity) in clients {
            seen[activity.device, default: (activity.last, [:])].time = max(seen[activity.device]?.time ?? 0, activity.last)
            seen[activity.device]!.addresses[address.description] = activity.last
        }
        let touchDevice = try db.cachedStatement(sql: "UPDATE devices SET last_seen = max(last_seen, ?) WHERE id = ?")
        let touchAddress = try db.cachedStatement(sql: """
            INSERT INTO device_addresses (device_id, address, last_seen) VALUES (?, ?, ?)
            ON CONFLICT (device_id, address) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)
            """)
        for (device, activity) in seen {
            try touchDevice.execute(arguments: [activity.time, device])
            for (address, last) in activity.addresses { try touchAddress.execute(arguments: [device, address, last]) }
        }
    }

    /// The per-hour totals: per device, per device and name (with what matched), per device and vendor.
    /// Bound in C; one upsert per distinct key of the batch, all integer keys but the disposition.
    private func writeAggregates(_ aggregates: [NameHour: Aggregate], batch: [AttemptRecord],
                                 hourlyCounts: [HourDevice: (queries: Int, blocked: Int)], db: Database) throws {
        let upsertCounts = try db.cachedStatement(sql: """
            INSERT INTO device_hourly (hour, device_id, queries, blocked) VALUES (?, ?, ?, ?)
            ON CONFLICT (hour, device_id) DO UPDATE SET queries = queries + excluded.queries, blocked = blocked + excluded.blocked
            """).sqliteStatement
        for (key, counts) in hourlyCounts {
            sqlite3_reset(upsertCounts)
            sqlite3_bind_int64(upsertCounts, 1, key.hour)
            sqlite3_bind_int64(upsertCounts, 2, key.device)
            sqlite3_bind_int64(upsertCounts, 3, Int64(counts.queries))
            sqlite3_bind_int64(upsertCounts, 4, Int64(counts.blocked))
            try Self.step(upsertCounts)
        }
        let upsertAggregate = try db.cachedStatement(sql: """
            INSERT INTO name_hourly (hour, device_id, name_id, disposition, rule_id, cname_id, count, first, last)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (hour, device_id, name_id, disposition) DO UPDATE SET
                count = count + excluded.count, first = min(first, excluded.first), last = max(last, excluded.last)
            """).sqliteStatement
        var vendorHours: [VendorHour: Int] = [:]
        for (key, aggregate) in aggregates {
            let record = batch[aggregate.record]
            if record.blocked {
                vendorHours[VendorHour(hour: key.hour, device: key.device, vendor: record.vendor ?? "(unknown)", category: record.category ?? ""), default: 0] += aggregate.count
            }
            sqlite3_reset(upsertAggregate)
            sqlite3_bind_int64(upsertAggregate, 1, key.hour)
            sqlite3_bind_int64(upsertAggregate, 2, key.device)
            sqlite3_bind_int64(upsertAggregate, 3, key.name)
            Self.bind(upsertAggregate, 4, AttemptEntry.labels[Int(key.disposition)])
            Self.bindID(upsertAggregate, 5, aggregate.rule)
            Self.bindID(upsertAggregate, 6, aggregate.cname)
            sqlite3_bind_int64(upsertAggregate, 7, Int64(aggregate.count))
            sqlite3_bind_double(upsertAggregate, 8, aggregate.first)
            sqlite3_bind_double(upsertAggregate, 9, aggregate.last)
            try Self.step(upsertAggregate)
        }
        let upsertVendorHour = try db.cachedStatement(sql: """
            INSERT INTO device_vendor_hourly (hour, device_id, vendor, category, count) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (hour, device_id, vendor, category) DO UPDATE SET count = count + excluded.count
            """)
        for (key, count) in vendorHours {
            try upsertVendorHour.execute(arguments: [key.hour, key.device, key.vendor, key.category, count])
        }
    }

    /// An id, or NULL for 0 (none).
    private static func bindID(_ statement: OpaquePointer, _ index: Int32, _ id: Int64) {
        if id > 0 { sqlite3_bind_int64(statement, index, id) } else { sqlite3_bind_null(statement, index) }
    }

    private static func bind(_ statement: OpaquePointer, _ index: Int32, _ text: String?) {
        guard var text else {
            sqlite3_bind_null(statement, index)
            return
        }
        text.withUTF8 { bytes in
            let pointer = UnsafeRawPointer(bytes.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) }
            hush_bind_required(statement, index, pointer, Int32(bytes.count))
        }
    }

    private static func step(_ statement: OpaquePointer) throws {
        let status = sqlite3_step(statement)
        guard status == SQLITE_DONE else {
            throw StatsError.storage("write failed: \(String(cString: sqlite3_errstr(status)))")
        }
    }

    /// The id of a device, created on first sight; its name and MAC are kept current.
    private func deviceID(_ identity: DeviceDirectory.Identity, time: Double, db: Database, cache: inout [DeviceDirectory.Identity: Int64]) throws -> Int64 {
        if let id = cache[identity] { return id }
        try db.execute(sql: """
            INSERT INTO devices (key, mac, name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET name = coalesce(excluded.name, name), mac = coalesce(excluded.mac, mac)
            """, arguments: [identity.key, identity.mac, identity.name, time, time])
        let id = try Int64.fetchOne(db, sql: "SELECT id FROM devices WHERE key = ?", arguments: [identity.key])!
        cache[identity] = id
        return id
    }

    /// The id of a name, stored on first sight.
    private func nameID(_ name: DomainName, db: Database, ids: inout KnownIDs) throws -> Int64 {
        if let id = ids.names[name] { return id }
        let id = try Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO names (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id
            """), arguments: [name.description])!
        if ids.names.count >= KnownIDs.nameLimit { ids.names.removeAll() }
        ids.names[name] = id
        return id
    }

    /// The id of a (list, rule) pair, created on first sight.
    private func ruleID(_ match: ListMatch, db: Database, cache: inout [RuleKey: Int64]) throws -> Int64 {
        let key = RuleKey(list: match.list.label, rule: match.rule)
        if let id = cache[key] { return id }
        try db.execute(sql: """
            INSERT INTO rules (list, rule, vendor, category) VALUES (?, ?, ?, ?)
            ON CONFLICT (list, rule) DO UPDATE SET vendor = excluded.vendor, category = excluded.category
            """, arguments: [key.list, key.rule, match.list.vendor.isEmpty ? nil : match.list.vendor, match.list.category])
        let id = try Int64.fetchOne(db, sql: "SELECT id FROM rules WHERE list = ? AND rule = ?", arguments: [key.list, key.rule])!
        cache[key] = id
        return id
    }

    static func add(_ amount: Int, to counter: String, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO counters (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = value + excluded.value
            """, arguments: [counter, amount])
    }

    /// Records, once the database is writable again, that writing failed and why.
    func recordFault(failures: Int, lastError: String) throws {
        try database.write { db in
            try Self.add(failures, to: "write_failures", db)
            try db.execute(sql: "INSERT INTO status (key, value) VALUES ('last_write_error', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           arguments: ["\(ISO8601DateFormatter().string(from: Date())) \(lastError)"])
        }
    }

    /// Deletes what is older than the retention period: the raw log, the aggregates, and names nothing
    /// refers to any more. A packed batch that straddles the cutoff is rewritten without its old entries.
    public func applyRetention(days: Int, now: Double = Date().timeIntervalSince1970) throws {
        let cutoff = now - Double(days) * 86_400
        let cutoffHour = Int64(cutoff / 3600)
        try database.write { db in
            try db.execute(sql: "DELETE FROM attempt_batches WHERE last < ?", arguments: [cutoff])
            for row in try Row.fetchAll(db, sql: "SELECT id, entries FROM attempt_batches WHERE first < ?", arguments: [cutoff]) {
                let entries: Data = row["entries"]
                let kept = entries.withUnsafeBytes { bytes in
                    (0..<AttemptEntry.count(entries)).compactMap { AttemptEntry.decode(bytes, at: $0) }.filter { $0.time >= cutoff }
                }
                var bytes: [UInt8] = []
                for entry in kept { entry.append(to: &bytes) }
                try db.execute(sql: "UPDATE attempt_batches SET first = ?, count = ?, entries = ? WHERE id = ?",
                               arguments: [kept.map(\.time).min() ?? cutoff, kept.count, Data(bytes), row["id"] as Int64])
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

struct RuleKey: Hashable {
    var list: String
    var rule: String
}

/// An hour of one device's attempts at one name with one outcome: the aggregate's key, and the raw cap's.
struct NameHour: Hashable {
    var hour: Int64
    var device: Int64
    var name: Int64
    var disposition: UInt8
}

private struct VendorHour: Hashable {
    var hour: Int64
    var device: Int64
    var vendor: String
    var category: String
}

private struct HourDevice: Hashable {
    var hour: Int64
    var device: Int64
}

/// A key's attempts within a batch: counts and times, what matched, and one record to take vendor and
/// category from.
private struct Aggregate {
    var record: Int
    var first: Double
    var last = 0.0
    var count = 0
    var rule: Int64 = 0
    var cname: Int64 = 0
}

private struct ClientActivity {
    var device: Int64
    var last: Double
}

/// Changes a value in place: with a dictionary's `subscript(_:default:)`, one hash lookup for read and write.
@inline(__always)
private func modify<Value>(_ value: inout Value, _ change: (inout Value) -> Void) {
    change(&value)
}
