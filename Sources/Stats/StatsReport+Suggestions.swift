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
                let text = try Self.deviceLabel(where: "key", is: key, db) ?? Self.deviceLabel(key)
                labels[key] = text
                return text
            }
            let wanted = try device.map { selector in
                guard let id = try Self.deviceID(matching: selector, db) else { throw StatsError.unknownDevice(selector) }
                return id
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM suggestions WHERE state = 0 AND score >= ? AND last_seen >= ? AND first_seen <= ?
                ORDER BY score DESC, count DESC, name
                """, arguments: [minimumScore, window.from.timeIntervalSince1970, window.to.timeIntervalSince1970])
            var found: [Suggestion] = []
            for row in rows {
                let keys = (row["devices"] as String).split(separator: ",").map(String.init)
                let devices = try keys.map(label)
                if let wanted {
                    guard try keys.contains(where: { try Self.deviceID(matching: $0, db) == wanted }) else { continue }
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

    /// Every name currently suggested, for marking them in `hush log` and `hush stats device`.
    public func suggestedNames() throws -> Set<String> {
        try store.database.read { db in
            guard try db.tableExists("suggestions") else { return [] }
            return Set(try String.fetchAll(db, sql: "SELECT name FROM suggestions WHERE state = 0 AND score > 0"))
        }
    }
}
