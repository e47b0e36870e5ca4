import Blocklist
import CSQLite
import DNSWire
import Foundation
import GRDB
import Resolver
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
            // Per record only integer-keyed or name-byte-keyed dictionary work and one raw insert: strings,
            // rule ids and vendor totals are worked out once per distinct key, not once per query.
            var hourlyCounts: [HourDevice: (queries: Int, blocked: Int)] = [:]
            var aggregates: [AggregateKey: Aggregate] = [:]
            var clients: [IPAddress: ClientActivity] = [:]
            let insertRaw = try db.cachedStatement(sql: """
                INSERT INTO attempts (time, device_id, client, name, type, disposition, cname, rule_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).sqliteStatement
            for index in batch.indices {
                let time = batch[index].record.time
                let address = batch[index].record.client
                // One lookup per record for the client: its device, its text, when it was last seen.
                let device: Int64
                let client: String
                if let known = clients[address] {
                    device = known.device
                    client = known.text
                    clients[address]!.last = time
                } else {
                    device = try deviceID(batch[index].identity, time: time, db: db, cache: &deviceIDs)
                    client = address.description
                    clients[address] = ClientActivity(device: device, text: client, last: time)
                }
                let hour = Int64(time / 3600)
                let blocked = batch[index].record.blocked
                modify(&hourlyCounts[HourDevice(hour: hour, device: device), default: (0, 0)]) { counts in
                    counts.queries += 1
                    if blocked { counts.blocked += 1 }
                }
                guard privacy == .all || (privacy == .blocked && blocked) else { continue }

                let name = batch[index].record.domain
                let key = AggregateKey(hour: hour, device: device, name: name, disposition: batch[index].record.outcome.code)
                var rule: Int64?
                var isNew = false
                modify(&aggregates[key, default: Aggregate()]) { aggregate in
                    isNew = aggregate.count == 0
                    aggregate.count += 1
                    aggregate.last = time
                    rule = aggregate.rule
                }
                if isNew {
                    rule = try batch[index].record.outcome.listMatch.map { try ruleID($0, db: db, cache: &ruleIDs) }
                    aggregates[key]!.first = batch[index].record
                    aggregates[key]!.rule = rule
                }
                var allowed = false
                modify(&rawAllowance[RawKey(hour: hour, device: device, name: name), default: rawPerNameHour]) { left in
                    if left > 0 {
                        left -= 1
                        allowed = true
                    }
                }
                guard allowed else { continue }
                let status = Self.insertAttempt(insertRaw, batch[index].record, device: device, client: client, rule: rule)
                guard status == SQLITE_DONE else {
                    throw StatsError.storage("insert failed: \(String(cString: sqlite3_errstr(status)))")
                }
            }
            var seen: [Int64: (time: Double, addresses: [String: Double])] = [:]
            for activity in clients.values {
                seen[activity.device, default: (activity.last, [:])].time = max(seen[activity.device]?.time ?? 0, activity.last)
                seen[activity.device]!.addresses[activity.text] = activity.last
            }
            try writeAggregates(aggregates, hourlyCounts: hourlyCounts, db: db)
            let touchDevice = try db.cachedStatement(sql: "UPDATE devices SET last_seen = max(last_seen, ?) WHERE id = ?")
            let touchAddress = try db.cachedStatement(sql: """
                INSERT INTO device_addresses (device_id, address, last_seen) VALUES (?, ?, ?)
                ON CONFLICT (device_id, address) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)
                """)
            for (device, activity) in seen {
                try touchDevice.execute(arguments: [activity.time, device])
                for (address, last) in activity.addresses { try touchAddress.execute(arguments: [device, address, last]) }
            }
            if dropped > 0 { try Self.add(dropped, to: "dropped", db) }
        }
    }

    /// The per-hour totals: per device, per device and name (with what matched), per device and vendor.
    /// Bound in C like the raw insert; one upsert per distinct key of the batch.
    private func writeAggregates(_ aggregates: [AggregateKey: Aggregate], hourlyCounts: [HourDevice: (queries: Int, blocked: Int)], db: Database) throws {
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
            INSERT INTO hourly (hour, device_id, name, disposition, list, rule, vendor, category, cname, count, first, last)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (hour, device_id, name, disposition) DO UPDATE SET
                count = count + excluded.count, last = max(last, excluded.last)
            """).sqliteStatement
        var vendorHours: [VendorHour: Int] = [:]
        for (key, aggregate) in aggregates {
            guard let r = aggregate.first else { continue }
            if r.blocked {
                vendorHours[VendorHour(hour: key.hour, device: key.device, vendor: r.vendor ?? "(unknown)", category: r.category ?? ""), default: 0] += aggregate.count
            }
            sqlite3_reset(upsertAggregate)
            sqlite3_bind_int64(upsertAggregate, 1, key.hour)
            sqlite3_bind_int64(upsertAggregate, 2, key.device)
            Self.bind(upsertAggregate, 3, r.name)
            Self.bind(upsertAggregate, 4, r.disposition)
            Self.bind(upsertAggregate, 5, r.list)
            Self.bind(upsertAggregate, 6, r.rule)
            Self.bind(upsertAggregate, 7, r.vendor)
            Self.bind(upsertAggregate, 8, r.category)
            Self.bind(upsertAggregate, 9, r.cname)
            sqlite3_bind_int64(upsertAggregate, 10, Int64(aggregate.count))
            sqlite3_bind_double(upsertAggregate, 11, r.time)
            sqlite3_bind_double(upsertAggregate, 12, aggregate.last)
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

    static func insertAttempt(_ statement: OpaquePointer, _ record: AttemptRecord, device: Int64, client: String, rule: Int64?) -> Int32 {
        var client = client
        var disposition = record.disposition
        var cname = record.cname
        return client.withUTF8 { client in
            record.domain.bytes.withUnsafeBufferPointer { name in
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
    var name: DomainName
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

private struct AggregateKey: Hashable {
    var hour: Int64
    var device: Int64
    var name: DomainName
    var disposition: UInt8
}

/// A name's attempts in one hour from one device within a batch: the first one in full, then counts.
private struct Aggregate {
    var first: AttemptRecord?
    var rule: Int64?
    var count = 0
    var last = 0.0
}

private struct ClientActivity {
    var device: Int64
    var text: String
    var last: Double
}

/// Changes a value in place: with a dictionary's `subscript(_:default:)`, one hash lookup for read and write.
@inline(__always)
private func modify<Value>(_ value: inout Value, _ change: (inout Value) -> Void) {
    change(&value)
}

private extension Disposition {
    /// A small stand-in for `label` in dictionary keys.
    var code: UInt8 {
        switch self {
        case .forwarded: 0
        case .cached: 1
        case .stale: 2
        case .blocked: 3
        case .blockedByCNAME: 4
        case .refused: 5
        case .rateLimited: 6
        case .minimalAny: 7
        case .failed: 8
        }
    }
}
