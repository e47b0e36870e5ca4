import Foundation
import GRDB

/// What discovery suggests blocking, for `hush suggest`, `hush log` and `hush stats device`.
extension StatsReport {
    public struct Suggestion: Codable, Sendable, Equatable {
        public var name: String
        public var score: Double
        /// Drawn from `beacon`, `keyword`, `family`, `spread`.
        public var reasons: [String]
        /// Seconds between queries, when a beacon; null otherwise.
        public var intervalSeconds: Double?
        public var words: [String]
        public var vendor: String?
        /// Device names, or MAC or address where a device has no name.
        public var devices: [String]
        public var count: Int
        public var firstSeen: Date
        public var lastSeen: Date

        enum CodingKeys: String, CodingKey {
            case name, score, reasons, intervalSeconds, words, vendor, devices, count, firstSeen, lastSeen
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode((score * 100).rounded() / 100, forKey: .score)
            try container.encode(reasons, forKey: .reasons)
            try container.encode(intervalSeconds, forKey: .intervalSeconds)   // null when not a beacon
            try container.encode(words, forKey: .words)
            try container.encode(vendor, forKey: .vendor)
            try container.encode(devices, forKey: .devices)
            try container.encode(count, forKey: .count)
            try container.encode(firstSeen, forKey: .firstSeen)
            try container.encode(lastSeen, forKey: .lastSeen)
        }
    }

    /// Current suggestions (not dismissed or applied), strongest first: seen within `window`, asked by a
    /// device matching `device` (name, MAC or address) when given, scoring at least `minimumScore`.
    public func suggestions(_ window: StatsWindow, device: String? = nil, minimumScore: Double = 0) throws -> [Suggestion] {
        try store.database.read { db in
            guard try db.tableExists("suggestions") else { return [] }
            var labels: [String: String] = [:]
            func label(_ key: String) throws -> String {
                if let known = labels[key] { return known }
                let text = try String.fetchOne(db, sql: """
                    SELECT coalesce(t.name, t.mac, t.key) FROM devices d JOIN devices t ON t.id = coalesce(d.merged_into, d.id) WHERE d.key = ?
                    """, arguments: [key]) ?? key
                labels[key] = Self.deviceLabel(text)
                return labels[key]!
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM suggestions WHERE state = 0 AND score >= ? AND last_seen >= ? AND first_seen <= ?
                ORDER BY score DESC, count DESC, name
                """, arguments: [minimumScore, window.from.timeIntervalSince1970, window.to.timeIntervalSince1970])
            var found: [Suggestion] = []
            for row in rows {
                let keys = (row["devices"] as String).split(separator: ",").map(String.init)
                let devices = try keys.map(label)
                if let device {
                    let wanted = device.lowercased()
                    let named = keys.contains { $0.lowercased().hasSuffix(":" + wanted) } || devices.contains { $0.lowercased() == wanted }
                    guard try named || deviceKeys(matching: wanted, db).contains(where: keys.contains) else { continue }
                }
                found.append(Suggestion(
                    name: row["name"], score: row["score"], reasons: (row["reasons"] as String).split(separator: ",").map(String.init),
                    intervalSeconds: row["interval"], words: (row["words"] as String).split(separator: ",").map(String.init),
                    vendor: row["vendor"], devices: devices, count: row["count"], firstSeen: Self.date(row["first_seen"]),
                    lastSeen: Self.date(row["last_seen"])))
            }
            return found
        }
    }

    /// The keys of a device known by `selector` (its name, MAC or one of its addresses), aliases included.
    private func deviceKeys(matching selector: String, _ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: """
            SELECT d.key FROM devices d JOIN devices t ON t.id = coalesce(d.merged_into, d.id)
            WHERE lower(t.name) = ? OR t.mac = ? OR t.id IN (SELECT device_id FROM device_addresses WHERE address = ?)
            """, arguments: [selector, selector, selector])
    }

    /// Every name currently suggested, for marking them in `hush log` and `hush stats device`.
    public func suggestedNames() throws -> Set<String> {
        try store.database.read { db in
            guard try db.tableExists("suggestions") else { return [] }
            return Set(try String.fetchAll(db, sql: "SELECT name FROM suggestions WHERE state = 0 AND score > 0"))
        }
    }
}
