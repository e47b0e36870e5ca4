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
    /// The device each client address was last written under, so a change (its MAC became known) is
    /// noticed once, and the devices merged into others while this writer ran.
    var addressDevices: [IPAddress: Int64] = [:]
    var mergedDevices: [Int64: Int64] = [:]
    /// A storm of random names must not grow the cache without end; past this it starts over.
    static let nameLimit = 500_000
}

extension StatsStore {
    /// How many records ahead the writer starts loading a key's bucket: enough to cover a memory access,
    /// few enough that the line is still there when the record's turn comes.
    static let prefetchDistance = 8

    /// Writes one batch in one transaction: devices and their addresses, per-device hourly counts, the
    /// packed raw log as the privacy setting allows, and — when `aggregate` says so for the number of keys
    /// waiting — the per-name hourly totals `table` has gathered. Returns whether it wrote those.
    /// `table` also keeps each key's raw count for the storm cap (past `rawPerNameHour` only counted); `raw`
    /// is the packed log's buffer, kept from one flush to the next.
    func write(
        _ batch: RecordBatch, identity: (IPAddress) -> DeviceDirectory.Identity, dropped: Int,
        privacy: StatsSettings.Privacy, table: inout NameHourTable, raw: inout PackedBatch, rawPerNameHour: Int, ids: inout KnownIDs,
        aggregate: (_ pendingKeys: Int) -> Bool
    ) throws -> Bool {
        try database.write { db in
            // Per record: the last client and hour are remembered, one lookup in `table`, and a few bytes
            // appended to the packed log. Ids, strings and vendors are worked out once per key.
            var hourlyCounts: [HourDevice: (queries: Int, blocked: Int)] = [:]
            var clients: [IPAddress: ClientActivity] = [:]
            raw.reset()
            // The client and the (hour, device) of the record before: most records share them, and these
            // dictionaries are only touched when they change.
            var current = (address: IPAddress.v4(0), activity: ClientActivity(device: -1, last: 0))
            var counting = (key: HourDevice(hour: -1, device: -1), queries: 0, blocked: 0)
            func noteCounts() {
                guard counting.queries > 0 else { return }
                modify(&hourlyCounts[counting.key, default: (0, 0)]) { counts in
                    counts.queries += counting.queries
                    counts.blocked += counting.blocked
                }
                counting.queries = 0
                counting.blocked = 0
            }
            try batch.records.withUnsafeBufferPointer { records in
                for record in records.indices {
                    // The key of a record a few ahead, when it comes from the same client (the usual case:
                    // the answering thread queues runs of one client's queries), so its bucket is loaded
                    // by the time it is looked up.
                    let ahead = record + Self.prefetchDistance
                    if ahead < records.count, current.activity.device >= 0, records[ahead].client == current.address {
                        table.prefetch(NameHourTable.Key(records[ahead], device: current.activity.device))
                    }
                    let time = records[record].time
                    let address = records[record].client
                    if current.activity.device < 0 || address != current.address {
                        if current.activity.device >= 0 { clients[current.address] = current.activity }
                        let activity = try clients[address] ?? ClientActivity(
                            device: deviceID(for: address, identity(address), time: time, db: db, ids: &ids), last: time)
                        current = (address, activity)
                    }
                    let device = current.activity.device
                    current.activity.last = max(current.activity.last, time)
                    let hour = records[record].hour
                    let blocked = Disposition.isBlocked(code: records[record].code)
                    if counting.key.hour != hour || counting.key.device != device {
                        noteCounts()
                        counting.key = HourDevice(hour: hour, device: device)
                    }
                    counting.queries += 1
                    if blocked { counting.blocked += 1 }
                    guard privacy == .all || (privacy == .blocked && blocked) else { continue }

                    let code = records[record].code
                    let key = NameHourTable.Key(records[record], device: device)
                    let slot = try table.slot(for: key) ?? table.add(newEntry(records[record], in: batch, hour: hour, device: device, db: db, ids: &ids), for: key)
                    guard table.count(slot, at: time, rawLimit: rawPerNameHour) else { continue }
                    // Two fields read in place: a copy of the entry would retain its vendor and category too.
                    let (name, rule) = (table.entries[slot].name, table.entries[slot].rule)
                    // A later CNAME for the same key can differ from the first; the raw entry keeps its own.
                    let cname = code == Disposition.blockedByCNAMECode ? try batch.cname(records[record]).map { try nameID(DomainName($0), db: db, ids: &ids) } ?? 0 : 0
                    raw.add(AttemptEntry(time: time, device: device, name: name, cname: cname, rule: rule,
                                         type: records[record].type, disposition: code, client: address))
                    if raw.isFull { try raw.insert(db) }
                }
            }
            if current.activity.device >= 0 { clients[current.address] = current.activity }
            noteCounts()
            for (slot, count) in table.takeOverflow() {
                let entry = table.entries[slot]
                raw.addOverflow(AttemptEntry(time: entry.last, device: entry.device, name: entry.name, cname: entry.cname, rule: entry.rule,
                                             type: 0, disposition: entry.disposition, client: .v4(0)), count: count)
            }
            try raw.insert(db)
            try writeCounts(hourlyCounts, db: db)
            try touchDevices(clients, db: db)
            if dropped > 0 { try Self.add(dropped, to: "dropped", db) }
            guard aggregate(table.pendingSlots.count) else { return false }
            try writeAggregates(table.pending, db: db)
            return true
        }
    }

    /// Writes per-name hourly totals on their own (before the table that holds them starts again).
    func writeTotals(_ pending: [NameHourTable.Entry]) throws {
        try database.write { db in try writeAggregates(pending, db: db) }
    }

    /// Folds raw batches the per-name hourly totals do not include yet (written while they were deferred,
    /// then a crash or a failed commit) into them. Run before the first write after opening or a failure.
    func catchUpAggregates() throws {
        try database.write { db in try catchUpAggregates(db) }
    }

    private func catchUpAggregates(_ db: Database) throws {
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

    /// What a key needs once: its name's id, what matched, the CNAME, the vendor.
    private func newEntry(_ record: RecordBatch.Record, in batch: RecordBatch, hour: Int64, device: Int64, db: Database,
                          ids: inout KnownIDs) throws -> NameHourTable.Entry {
        let match = batch.match(record)
        return NameHourTable.Entry(
            hour: hour, device: device, name: try nameID(batch.name(record), db: db, ids: &ids), disposition: record.code,
            rule: try match.map { try ruleID($0, db: db, cache: &ids.rules) } ?? 0,
            cname: try batch.cname(record).map { try nameID(DomainName($0), db: db, ids: &ids) } ?? 0,
            vendor: match?.list.vendor, category: match?.list.category)
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

    /// Per device and hour: queries and blocked attempts.
    private func writeCounts(_ hourlyCounts: [HourDevice: (queries: Int, blocked: Int)], db: Database) throws {
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
    }

    /// Per device, hour and name (bound in C, integer keys but the disposition), and per device, hour and
    /// vendor; then notes that every raw batch so far is included.
    private func writeAggregates(_ pending: [NameHourTable.Entry], db: Database) throws {
        let merged = try Self.mergedDevices(db)
        let upsertAggregate = try db.cachedStatement(sql: """
            INSERT INTO name_hourly (hour, device_id, name_id, disposition, rule_id, cname_id, count, first, last)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (hour, device_id, name_id, disposition) DO UPDATE SET
                count = count + excluded.count, first = min(first, excluded.first), last = max(last, excluded.last)
            """).sqliteStatement
        var vendorHours: [VendorHour: Int] = [:]
        for entry in pending {
            // Totals gathered for a device before it was merged go to the device it became.
            let device = merged[entry.device] ?? entry.device
            if let vendor = entry.vendor {
                vendorHours[VendorHour(hour: entry.hour, device: device, vendor: vendor, category: entry.category ?? ""), default: 0] += entry.pending
            }
            sqlite3_reset(upsertAggregate)
            sqlite3_bind_int64(upsertAggregate, 1, entry.hour)
            sqlite3_bind_int64(upsertAggregate, 2, device)
            sqlite3_bind_int64(upsertAggregate, 3, entry.name)
            Self.bind(upsertAggregate, 4, AttemptEntry.labels[Int(entry.disposition)])
            Self.bindID(upsertAggregate, 5, entry.rule)
            Self.bindID(upsertAggregate, 6, entry.cname)
            sqlite3_bind_int64(upsertAggregate, 7, Int64(entry.pending))
            sqlite3_bind_double(upsertAggregate, 8, entry.first)
            sqlite3_bind_double(upsertAggregate, 9, entry.last)
            try Self.step(upsertAggregate)
        }
        let upsertVendorHour = try db.cachedStatement(sql: """
            INSERT INTO device_vendor_hourly (hour, device_id, vendor, category, count) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (hour, device_id, vendor, category) DO UPDATE SET count = count + excluded.count
            """)
        for (key, count) in vendorHours {
            try upsertVendorHour.execute(arguments: [key.hour, key.device, key.vendor, key.category, count])
        }
        try db.execute(sql: """
            INSERT INTO counters (key, value) SELECT 'aggregated_through_batch', coalesce(max(id), 0) FROM attempt_batches WHERE true
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
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
        guard status == SQLITE_DONE else { throw sqliteFailure(status, "a write") }
    }

    /// The device a client address belongs to. When the address was recorded before as a device of its own
    /// (seen before the kernel knew its MAC), that device is merged into its MAC's, so one phone with an
    /// IPv4 and several IPv6 addresses stays one device.
    private func deviceID(for address: IPAddress, _ identity: DeviceDirectory.Identity, time: Double, db: Database,
                          ids: inout KnownIDs) throws -> Int64 {
        let id = try deviceID(identity, time: time, db: db, cache: &ids.devices)
        guard identity.mac != nil, ids.addressDevices[address] != id else { return id }
        if let alone = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM devices WHERE key = ? AND merged_into IS NULL"),
                                          arguments: [DeviceDirectory.Identity.addressKey(address)]), alone != id {
            try Self.merge(alone, into: id, db)
            ids.mergedDevices[alone] = id
            ids.devices = ids.devices.filter { $0.value != alone }
        }
        if ids.addressDevices.count >= KnownIDs.nameLimit { ids.addressDevices.removeAll() }
        ids.addressDevices[address] = id
        return id
    }

    /// Moves a device's totals and addresses into another and leaves its row as an alias.
    static func merge(_ from: Int64, into target: Int64, _ db: Database) throws {
        let arguments: StatementArguments = ["from": from, "into": target]
        try db.execute(sql: """
            INSERT INTO name_hourly (hour, device_id, name_id, disposition, rule_id, cname_id, count, first, last)
                SELECT hour, :into, name_id, disposition, rule_id, cname_id, count, first, last FROM name_hourly WHERE device_id = :from
                ON CONFLICT (hour, device_id, name_id, disposition) DO UPDATE SET
                    count = count + excluded.count, first = min(first, excluded.first), last = max(last, excluded.last);
            DELETE FROM name_hourly WHERE device_id = :from;
            INSERT INTO device_hourly (hour, device_id, queries, blocked)
                SELECT hour, :into, queries, blocked FROM device_hourly WHERE device_id = :from
                ON CONFLICT (hour, device_id) DO UPDATE SET queries = queries + excluded.queries, blocked = blocked + excluded.blocked;
            DELETE FROM device_hourly WHERE device_id = :from;
            INSERT INTO device_vendor_hourly (hour, device_id, vendor, category, count)
                SELECT hour, :into, vendor, category, count FROM device_vendor_hourly WHERE device_id = :from
                ON CONFLICT (hour, device_id, vendor, category) DO UPDATE SET count = count + excluded.count;
            DELETE FROM device_vendor_hourly WHERE device_id = :from;
            INSERT INTO device_addresses (device_id, address, last_seen)
                SELECT :into, address, last_seen FROM device_addresses WHERE device_id = :from
                ON CONFLICT (device_id, address) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen);
            DELETE FROM device_addresses WHERE device_id = :from;
            UPDATE devices SET first_seen = min(first_seen, (SELECT first_seen FROM devices WHERE id = :from)),
                               last_seen = max(last_seen, (SELECT last_seen FROM devices WHERE id = :from)) WHERE id = :into;
            UPDATE devices SET merged_into = :into WHERE id = :from OR merged_into = :from;
            """, arguments: arguments)
    }

    /// Merged device → the device it became.
    static func mergedDevices(_ db: Database) throws -> [Int64: Int64] {
        var merged: [Int64: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, merged_into FROM devices WHERE merged_into IS NOT NULL") {
            merged[row["id"]] = row["merged_into"]
        }
        return merged
    }

    /// The id of a device, created on first sight; its name and MAC are kept current. A device merged into
    /// another answers with the other's id.
    private func deviceID(_ identity: DeviceDirectory.Identity, time: Double, db: Database, cache: inout [DeviceDirectory.Identity: Int64]) throws -> Int64 {
        if let id = cache[identity] { return id }
        let id = try Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO devices (key, mac, name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET name = coalesce(excluded.name, name), mac = coalesce(excluded.mac, mac)
            RETURNING coalesce(merged_into, id)
            """), arguments: [identity.key, identity.mac, identity.name, time, time])!
        cache[identity] = id
        return id
    }

    /// The id of a name, stored on first sight. Looked up first: after a restart or retention most names
    /// are known, and an upsert would rewrite their pages. Bound in C: thousands of new names arrive in a
    /// fresh database's first second.
    private func nameID(_ name: DomainName, db: Database, ids: inout KnownIDs) throws -> Int64 {
        if let id = ids.names[name] { return id }
        let text = name.description
        let id = try Self.firstID(db.cachedStatement(sql: "SELECT id FROM names WHERE name = ?").sqliteStatement, [text])
            ?? Self.firstID(db.cachedStatement(sql: "INSERT INTO names (name) VALUES (?) RETURNING id").sqliteStatement, [text])
        guard let id else { throw StatsError.storage("storing a name failed") }
        if ids.names.count >= KnownIDs.nameLimit { ids.names.removeAll() }
        ids.names[name] = id
        return id
    }

    /// The id of a (list, rule) pair, created on first sight.
    private func ruleID(_ match: ListMatch, db: Database, cache: inout [RuleKey: Int64]) throws -> Int64 {
        let key = RuleKey(list: match.list.label, rule: match.rule)
        if let id = cache[key] { return id }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO rules (list, rule, vendor, category) VALUES (?, ?, ?, ?)
            ON CONFLICT (list, rule) DO UPDATE SET vendor = excluded.vendor, category = excluded.category RETURNING id
            """).sqliteStatement
        guard let id = try Self.firstID(statement, [key.list, key.rule, match.list.vendor.isEmpty ? nil : match.list.vendor, match.list.category]) else {
            throw StatsError.storage("storing a rule failed")
        }
        cache[key] = id
        return id
    }

    /// Binds `texts` in order, steps once, and returns the first column of the row, if there is one.
    private static func firstID(_ statement: OpaquePointer, _ texts: [String?]) throws -> Int64? {
        sqlite3_reset(statement)
        defer { sqlite3_reset(statement) }
        for (index, text) in texts.enumerated() { bind(statement, Int32(index + 1), text) }
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return sqlite3_column_int64(statement, 0)
        case SQLITE_DONE: return nil
        case let status: throw sqliteFailure(status, "a write")
        }
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

struct RuleKey: Hashable {
    var list: String
    var rule: String
}

/// A per-name hourly row's key as stored.
private struct StoredKey: Hashable {
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

private struct ClientActivity {
    var device: Int64
    var last: Double
}

/// A statement stepped in C that failed, as the error GRDB would have thrown: the writer recognises a
/// corrupt database by its result code and moves it aside, whichever statement met the damage.
func sqliteFailure(_ status: Int32, _ what: String) -> DatabaseError {
    DatabaseError(resultCode: ResultCode(rawValue: status), message: "\(what) failed: \(String(cString: sqlite3_errstr(status)))")
}

/// Changes a value in place: with a dictionary's `subscript(_:default:)`, one hash lookup for read and write.
@inline(__always)
private func modify<Value>(_ value: inout Value, _ change: (inout Value) -> Void) {
    change(&value)
}
