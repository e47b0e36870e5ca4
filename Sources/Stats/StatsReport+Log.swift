import Foundation
import GRDB

/// The raw log, for `hush log`.
extension StatsReport {
    /// Raw log entries after `afterID`, oldest first, for `hush log`. An entry's id is its batch row's id
    /// shifted left by 16, plus its place in the batch.
    public func log(after afterID: Int64, limit: Int = 1000) throws -> [LogEntry] {
        try store.database.read { db in
            var lookup = LogLookup()
            var entries: [LogEntry] = []
            let batches = try Row.fetchCursor(db, sql: "SELECT id, entries FROM attempt_batches WHERE id >= ? ORDER BY id",
                                              arguments: [afterID >> 16])
            while entries.count < limit, let batch = try batches.next() {
                let batchID: Int64 = batch["id"]
                let packed: Data = batch["entries"]
                let firstIndex = batchID == afterID >> 16 ? Int(afterID & 0xFFFF) + 1 : 0
                let all = PackedBatch.entries(packed)
                guard firstIndex < all.count else { continue }
                for index in firstIndex..<min(all.count, firstIndex + limit - entries.count) {
                    let entry = all[index]
                    let rule = try lookup.rule(entry.rule, db)
                    entries.append(LogEntry(
                        id: batchID << 16 | Int64(index), time: Self.date(entry.time), device: try lookup.device(entry.device, db),
                        client: entry.client.description, name: try lookup.name(entry.name, db) ?? "?", type: Int(entry.type),
                        disposition: entry.label, list: rule?.list, rule: rule?.rule, vendor: rule?.vendor,
                        cname: try lookup.name(entry.cname, db)))
                }
            }
            return entries
        }
    }

    /// The newest raw entry's id, so `hush log --follow` starts from now.
    public func lastLogID() throws -> Int64 {
        try logID(back: 0)
    }

    /// An id `count` entries before the newest: `log(after:)` from there returns the last `count` entries.
    public func logID(back count: Int) throws -> Int64 {
        try store.database.read { db in
            var needed = count
            let batches = try Row.fetchCursor(db, sql: "SELECT id, count FROM attempt_batches ORDER BY id DESC")
            while let batch = try batches.next() {
                let id: Int64 = batch["id"]
                let size: Int = batch["count"]
                if size > needed { return id << 16 | Int64(size - 1 - needed) }
                needed -= size
            }
            return 0
        }
    }
}

/// Names, rules and device labels by id, each looked up once per `hush log` page.
private struct LogLookup {
    struct Rule {
        var list: String
        var rule: String
        var vendor: String?
    }

    private var names: [Int64: String] = [:]
    private var rules: [Int64: Rule] = [:]
    private var devices: [Int64: String] = [:]

    mutating func name(_ id: Int64, _ db: Database) throws -> String? {
        guard id > 0 else { return nil }
        if let known = names[id] { return known }
        let name = try String.fetchOne(db, sql: "SELECT name FROM names WHERE id = ?", arguments: [id])
        names[id] = name
        return name
    }

    mutating func rule(_ id: Int64, _ db: Database) throws -> Rule? {
        guard id > 0 else { return nil }
        if let known = rules[id] { return known }
        guard let row = try Row.fetchOne(db, sql: "SELECT list, rule, vendor FROM rules WHERE id = ?", arguments: [id]) else { return nil }
        let rule = Rule(list: row["list"], rule: row["rule"], vendor: row["vendor"])
        rules[id] = rule
        return rule
    }

    mutating func device(_ id: Int64, _ db: Database) throws -> String {
        if let known = devices[id] { return known }
        // A raw entry may name a device since merged into its MAC's device: show that one.
        let label = try StatsReport.deviceLabel(where: "id", is: id, db) ?? "?"
        devices[id] = label
        return label
    }
}
