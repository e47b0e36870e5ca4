import Blocklist
import CSQLite
import DNSWire
import Foundation
import GRDB
import Resolver
import Sockets

/// Devices as the writer stores them: created on first sight, and an address's own device merged into its
/// MAC's when the MAC becomes known.
extension StatsStore {
    /// The device a client address belongs to. When the address was recorded before as a device of its own
    /// (seen before the kernel knew its MAC), that device is merged into its MAC's, so one phone with an
    /// IPv4 and several IPv6 addresses stays one device.
    func deviceID(for address: IPAddress, _ identity: DeviceDirectory.Identity, time: Double, db: Database,
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
    func deviceID(_ identity: DeviceDirectory.Identity, time: Double, db: Database, cache: inout [DeviceDirectory.Identity: Int64]) throws -> Int64 {
        if let id = cache[identity] { return id }
        let id = try Int64.fetchOne(db.cachedStatement(sql: """
            INSERT INTO devices (key, mac, name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET name = coalesce(excluded.name, name), mac = coalesce(excluded.mac, mac)
            RETURNING coalesce(merged_into, id)
            """), arguments: [identity.key, identity.mac, identity.name, time, time])!
        cache[identity] = id
        return id
    }
}
