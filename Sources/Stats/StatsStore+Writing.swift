import Blocklist
import CSQLite
import DNSWire
import Foundation
import GRDB
import Resolver
import Sockets

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
                    raw.add(LoggedAttempt(time: time, device: device, name: name, cname: cname, rule: rule,
                                         type: records[record].type, disposition: code, client: address))
                    if raw.isFull { try raw.insert(db) }
                }
            }
            if current.activity.device >= 0 { clients[current.address] = current.activity }
            noteCounts()
            for (slot, count) in table.takeOverflow() {
                let entry = table.entries[slot]
                raw.addOverflow(LoggedAttempt(time: entry.last, device: entry.device, name: entry.name, cname: entry.cname, rule: entry.rule,
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

    /// What a key needs once: its name's id, what matched, the CNAME, the vendor.
    private func newEntry(_ record: RecordBatch.QueuedAttempt, in batch: RecordBatch, hour: Int64, device: Int64, db: Database,
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
    func writeAggregates(_ pending: [NameHourTable.Entry], db: Database) throws {
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
            Self.bind(upsertAggregate, 4, Disposition.label(code: entry.disposition))
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
    static func bindID(_ statement: OpaquePointer, _ index: Int32, _ id: Int64) {
        if id > 0 { sqlite3_bind_int64(statement, index, id) } else { sqlite3_bind_null(statement, index) }
    }

    static func bind(_ statement: OpaquePointer, _ index: Int32, _ text: String?) {
        guard var text else {
            sqlite3_bind_null(statement, index)
            return
        }
        text.withUTF8 { bytes in
            let pointer = UnsafeRawPointer(bytes.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) }
            hush_bind_required(statement, index, pointer, Int32(bytes.count))
        }
    }

    static func step(_ statement: OpaquePointer) throws {
        let status = sqlite3_step(statement)
        guard status == SQLITE_DONE else { throw sqliteFailure(status, "a write") }
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
func modify<Value>(_ value: inout Value, _ change: (inout Value) -> Void) {
    change(&value)
}
