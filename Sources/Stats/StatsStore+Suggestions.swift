import Foundation
import GRDB

/// What discovery found, kept so `hush suggest` can show it and the household can dismiss or apply it.
extension StatsStore {
    public enum SuggestionState: Int, Sendable {
        case suggested = 0, dismissed = 1, applied = 2
    }

    /// Stores or refreshes suggestions; a dismissed or applied one keeps its state.
    func writeSuggestions(_ found: [Discovery.Evidence]) throws {
        try database.write { db in
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO suggestions (name, score, reasons, interval, words, vendor, devices, count, first_seen, last_seen)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET score = excluded.score, reasons = excluded.reasons, interval = excluded.interval,
                    words = excluded.words, vendor = coalesce(excluded.vendor, vendor), devices = excluded.devices,
                    count = excluded.count, first_seen = min(first_seen, excluded.first_seen), last_seen = excluded.last_seen
                """)
            for evidence in found {
                try upsert.execute(arguments: [
                    evidence.name, evidence.score, evidence.reasons.joined(separator: ","), evidence.interval,
                    evidence.words.joined(separator: ","), evidence.vendor, evidence.devices.joined(separator: ","),
                    evidence.count, evidence.firstSeen, evidence.lastSeen,
                ])
            }
        }
    }

    /// Names the household dismissed or applied.
    func settledSuggestions() throws -> Set<String> {
        try database.read { db in Set(try String.fetchAll(db, sql: "SELECT name FROM suggestions WHERE state != 0")) }
    }

    /// Marks names dismissed or applied (creating rows for names never suggested, so they never are).
    public func settle(_ names: [String], as state: SuggestionState) throws {
        try database.write { db in
            for name in names {
                try db.execute(sql: """
                    INSERT INTO suggestions (name, score, reasons, words, devices, count, first_seen, last_seen, state)
                    VALUES (?, 0, '', '', '', 0, 0, 0, ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state
                    """, arguments: [name, state.rawValue])
            }
        }
    }
}
