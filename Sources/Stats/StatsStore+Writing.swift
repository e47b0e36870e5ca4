import Blocklist
import CSQLite
import Foundation
import GRDB
import Sockets

/// A record with its device resolved, ready to write.
struct ResolvedRecord {
    var record: AttemptRecord
    var identity: DeviceDirectory.Identity
}

extension StatsStore {
    /// Writes one batch in one transaction: devices and their addresses, per-device hourly counts, and —
    /// as the privacy setting allows — the hourly per-name aggregate and the raw log.
    /// `rawAllowance` says how many raw rows each (hour, device, name) may still take; it is updated.
    func write(
        _ batch: [ResolvedRecord], dropped: Int, privacy: StatsSettings.Privacy,
        rawAllowance: inout [RawKey: Int], rawPerNameHour: Int, deviceIDs: inout [DeviceDirectory.Identity: Int64],
        ruleIDs: inout [RuleKey: Int64]
    ) throws {
        try database.write { db in
            var hourlyCounts: [HourDevice: (queries: Int, blocked: Int)] = [:]
            var aggregates: [AggregateKey: Aggregate] = [:]
            var vendorDays: [VendorDay: Int] = [:]
            var seen: [Int64: (time: Double, addresses: Set<String>)] = [:]
            let insertRaw = try db.cachedStatement(sql: """
                INSERT INTO attempts (time, device_id, client, name, type, disposition, cname, rule_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var clients: [IPAddress: String] = [:]
            for item in batch {
                let record = item.record
                let device = try deviceID(item.identity, time: record.time, db: db, cache: &deviceIDs)
                let hour = Int64(record.time / 3600)
                hourlyCounts[HourDevice(hour: hour, device: device), default: (0, 0)].queries += 1
                if record.blocked { hourlyCounts[HourDevice(hour: hour, device: device)]!.blocked += 1 }
                seen[device, default: (record.time, [])].time = record.time
                seen[device]!.addresses.insert(record.client.description)

                let detailed = privacy == .all || (privacy == .blocked && record.blocked)
                guard detailed else { continue }
                if record.blocked {
                    vendorDays[VendorDay(hour: hour, device: device, vendor: record.vendor ?? "(unknown)", category: record.category ?? ""), default: 0] += 1
                }
                let key = AggregateKey(hour: hour, device: device, name: record.name, disposition: record.disposition)
                if var aggregate = aggregates[key] {
                    aggregate.count += 1
                    aggregate.last = record.time
                    aggregates[key] = aggregate
                } else {
                    aggregates[key] = Aggregate(record: record)
                }
                let allowanceKey = RawKey(hour: hour, device: device, name: record.name)
                let left = rawAllowance[allowanceKey] ?? rawPerNameHour
                if left > 0 {
                    rawAllowance[allowanceKey] = left - 1
                    let client = clients[record.client] ?? record.client.description
                    clients[record.client] = client
                    let rule = try record.outcome.listMatch.map { try ruleID($0, db: db, cache: &ruleIDs) }
                    let status = Self.insertAttempt(insertRaw.sqliteStatement, record, device: device, client: client, rule: rule)
                    guard status == SQLITE_DONE else {
                        throw StatsError.storage("insert failed: \(String(cString: sqlite3_errstr(status)))")
                    }
                }
            }
            let upsertCounts = try db.cachedStatement(sql: """
                INSERT INTO device_hourly (hour, device_id, queries, blocked) VALUES (?, ?, ?, ?)
                ON CONFLICT (hour, device_id) DO UPDATE SET queries = queries + excluded.queries, blocked = blocked + excluded.blocked
                """)
            for (key, counts) in hourlyCounts {
                try upsertCounts.execute(arguments: [key.hour, key.device, counts.queries, counts.blocked])
            }
            let upsertAggregate = try db.cachedStatement(sql: """
                INSERT INTO hourly (hour, device_id, name, disposition, list, rule, vendor, category, cname, count, first, last)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (hour, device_id, name, disposition) DO UPDATE SET
                    count = count + excluded.count, last = max(last, excluded.last)
                """)
            for (key, aggregate) in aggregates {
                let r = aggregate.record
                try upsertAggregate.execute(arguments: [
                    key.hour, key.device, key.name, key.disposition, r.list, r.rule, r.vendor, r.category, r.cname,
                    aggregate.count, r.time, aggregate.last,
                ])
            }
            let upsertVendorDay = try db.cachedStatement(sql: """
                INSERT INTO device_vendor_hourly (hour, device_id, vendor, category, count) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (hour, device_id, vendor, category) DO UPDATE SET count = count + excluded.count
                """)
            for (key, count) in vendorDays {
                try upsertVendorDay.execute(arguments: [key.hour, key.device, key.vendor, key.category, count])
            }
            let touchDevice = try db.cachedStatement(sql: "UPDATE devices SET last_seen = max(last_seen, ?) WHERE id = ?")
            let touchAddress = try db.cachedStatement(sql: """
                INSERT INTO device_addresses (device_id, address, last_seen) VALUES (?, ?, ?)
                ON CONFLICT (device_id, address) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)
                """)
            for (device, activity) in seen {
                try touchDevice.execute(arguments: [activity.time, device])
                for address in activity.addresses { try touchAddress.execute(arguments: [device, address, activity.time]) }
            }
            if dropped > 0 { try Self.add(dropped, to: "dropped", db) }
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

    static func insertAttempt(_ statement: OpaquePointer, _ record: AttemptRecord, device: Int64, client: String, rule: Int64?) -> Int32 {
        var client = client
        var name = record.name
        var disposition = record.disposition
        var cname = record.cname
        return client.withUTF8 { client in
            name.withUTF8 { name in
                disposition.withUTF8 { disposition in
                    func insert(_ cname: UnsafeBufferPointer<UInt8>?) -> Int32 {
                        func text(_ buffer: UnsafeBufferPointer<UInt8>) -> UnsafePointer<CChar>? {
                            UnsafeRawPointer(buffer.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) }
                        }
                        return hush_insert_attempt(
                            statement, record.time, device, text(client), Int32(client.count), text(name), Int32(name.count),
                            Int32(record.type), text(disposition), Int32(disposition.count),
                            cname.flatMap(text), Int32(cname?.count ?? 0), rule ?? 0)
                    }
                    if cname != nil { return cname!.withUTF8 { insert($0) } }
                    return insert(nil)
                }
            }
        }
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

    /// Deletes what is older than the retention period: the raw log and the aggregates alike.
    public func applyRetention(days: Int, now: Double = Date().timeIntervalSince1970) throws {
        let cutoff = now - Double(days) * 86_400
        try database.write { db in
            try db.execute(sql: "DELETE FROM attempts WHERE time < ?", arguments: [cutoff])
            try db.execute(sql: "DELETE FROM hourly WHERE hour < ?", arguments: [Int64(cutoff / 3600)])
            try db.execute(sql: "DELETE FROM device_hourly WHERE hour < ?", arguments: [Int64(cutoff / 3600)])
            try db.execute(sql: "DELETE FROM device_vendor_hourly WHERE hour < ?", arguments: [Int64(cutoff / 3600)])
        }
    }
}

struct RuleKey: Hashable {
    var list: String
    var rule: String
}

struct RawKey: Hashable {
    var hour: Int64
    var device: Int64
    var name: String
}

private struct VendorDay: Hashable {
    var hour: Int64
    var device: Int64
    var vendor: String
    var category: String
}

private struct HourDevice: Hashable {
    var hour: Int64
    var device: Int64
}

private struct AggregateKey: Hashable {
    var hour: Int64
    var device: Int64
    var name: String
    var disposition: String
}

private struct Aggregate {
    var record: AttemptRecord
    var count = 1
    var last: Double
    init(record: AttemptRecord) {
        self.record = record
        self.last = record.time
    }
}
