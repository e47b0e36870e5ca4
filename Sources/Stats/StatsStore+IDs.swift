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
    /// The id of a name, stored on first sight. Looked up first: after a restart or retention most names
    /// are known, and an upsert would rewrite their pages. Bound in C: thousands of new names arrive in a
    /// fresh database's first second.
    func nameID(_ name: DomainName, db: Database, ids: inout KnownIDs) throws -> Int64 {
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
    func ruleID(_ match: ListMatch, db: Database, cache: inout [RuleKey: Int64]) throws -> Int64 {
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
    static func firstID(_ statement: OpaquePointer, _ texts: [String?]) throws -> Int64? {
        sqlite3_reset(statement)
        defer { sqlite3_reset(statement) }
        for (index, text) in texts.enumerated() { bind(statement, Int32(index + 1), text) }
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return sqlite3_column_int64(statement, 0)
        case SQLITE_DONE: return nil
        case let status: throw sqliteFailure(status, "a write")
        }
    }
}

struct RuleKey: Hashable {
    var list: String
    var rule: String
}
