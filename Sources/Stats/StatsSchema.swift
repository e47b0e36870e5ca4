import GRDB
import Resolver
import Sockets

/// The stats database's tables, as versioned migrations. The raw log is append-only with no index but
/// time: indexes on (device, name) would slow inserts several times, so questions over long windows are
/// answered from the hourly aggregates instead.
enum StatsSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE devices (
                    id INTEGER PRIMARY KEY,
                    key TEXT NOT NULL UNIQUE,          -- 'mac:aa:bb:cc:dd:ee:ff' or 'ip:192.168.1.20'
                    mac TEXT,
                    name TEXT,
                    first_seen REAL NOT NULL,
                    last_seen REAL NOT NULL
                );
                CREATE TABLE device_addresses (
                    device_id INTEGER NOT NULL REFERENCES devices(id),
                    address TEXT NOT NULL,
                    last_seen REAL NOT NULL,
                    PRIMARY KEY (device_id, address)
                ) WITHOUT ROWID;
                CREATE TABLE rules (                   -- what matched, stored once and referred to by id
                    id INTEGER PRIMARY KEY,
                    list TEXT NOT NULL,
                    rule TEXT NOT NULL,
                    vendor TEXT,
                    category TEXT,
                    UNIQUE (list, rule)
                );
                CREATE TABLE attempts (
                    time REAL NOT NULL,
                    device_id INTEGER NOT NULL,
                    client TEXT NOT NULL,
                    name TEXT NOT NULL,
                    type INTEGER NOT NULL,
                    disposition TEXT NOT NULL,
                    cname TEXT,
                    rule_id INTEGER
                );
                CREATE INDEX attempts_by_time ON attempts(time);
                CREATE TABLE hourly (
                    hour INTEGER NOT NULL,             -- seconds since 1970 / 3600
                    device_id INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    disposition TEXT NOT NULL,
                    list TEXT, rule TEXT, vendor TEXT, category TEXT, cname TEXT,
                    count INTEGER NOT NULL,
                    first REAL NOT NULL,
                    last REAL NOT NULL,
                    PRIMARY KEY (hour, device_id, name, disposition)
                ) WITHOUT ROWID;
                CREATE TABLE device_hourly (
                    hour INTEGER NOT NULL,
                    device_id INTEGER NOT NULL,
                    queries INTEGER NOT NULL,
                    blocked INTEGER NOT NULL,
                    PRIMARY KEY (hour, device_id)
                ) WITHOUT ROWID;
                CREATE TABLE counters (
                    key TEXT PRIMARY KEY,              -- 'dropped', 'write_errors'
                    value INTEGER NOT NULL
                );
                """)
        }
        // Hourly blocked attempts by device and vendor: the few rows `hush stats devices`, `summary` and
        // `vendors` need, so they answer in milliseconds over months of millions of attempts.
        migrator.registerMigration("v2-device-vendor-hourly") { db in
            try db.execute(sql: """
                CREATE TABLE device_vendor_hourly (
                    hour INTEGER NOT NULL,             -- seconds since 1970 / 3600
                    device_id INTEGER NOT NULL,
                    vendor TEXT NOT NULL,
                    category TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (hour, device_id, vendor, category)
                ) WITHOUT ROWID;
                INSERT INTO device_vendor_hourly (hour, device_id, vendor, category, count)
                    SELECT hour, device_id, coalesce(vendor, '(unknown)'), coalesce(category, ''), sum(count) FROM hourly
                    WHERE disposition IN ('blocked', 'blocked-cname') GROUP BY hour, device_id, vendor, category;
                """)
        }
        // What went wrong with storage, kept for `hush stats` once the database is writable again.
        migrator.registerMigration("v3-status") { db in
            try db.execute(sql: "CREATE TABLE status (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        }
        // Names stored once and referred to by id; the raw log packed, one row per flush. A row per query and
        // text keys in the hourly table were most of what recording cost (see bench/README.md).
        migrator.registerMigration("v4-name-ids-packed-log") { db in
            try db.execute(sql: """
                CREATE TABLE names (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE
                );
                CREATE TABLE attempt_batches (         -- one row per flush: AttemptEncoder entries, about 6 bytes each
                    id INTEGER PRIMARY KEY,
                    first REAL NOT NULL,
                    last REAL NOT NULL,
                    count INTEGER NOT NULL,
                    entries BLOB NOT NULL,
                    overflow BLOB                      -- past the storm cap: an entry and a 4-byte count per key
                );
                CREATE INDEX attempt_batches_by_last ON attempt_batches(last);
                CREATE TABLE name_hourly (
                    hour INTEGER NOT NULL,             -- seconds since 1970 / 3600
                    device_id INTEGER NOT NULL,
                    name_id INTEGER NOT NULL,
                    disposition TEXT NOT NULL,
                    rule_id INTEGER,                   -- what matched (list, rule, vendor, category)
                    cname_id INTEGER,                  -- for blocked-cname: the CNAME that was blocked
                    count INTEGER NOT NULL,
                    first REAL NOT NULL,
                    last REAL NOT NULL,
                    PRIMARY KEY (hour, device_id, name_id, disposition)
                ) WITHOUT ROWID;
                -- `hush stats domain`: one entry per key and hour, so it costs the writer nothing per query.
                CREATE INDEX name_hourly_by_name ON name_hourly(name_id, hour);
                INSERT OR IGNORE INTO names (name)
                    SELECT name FROM hourly UNION SELECT cname FROM hourly WHERE cname IS NOT NULL
                    UNION SELECT name FROM attempts UNION SELECT cname FROM attempts WHERE cname IS NOT NULL;
                INSERT OR IGNORE INTO rules (list, rule, vendor, category)
                    SELECT list, rule, vendor, category FROM hourly WHERE list IS NOT NULL AND rule IS NOT NULL;
                INSERT INTO name_hourly (hour, device_id, name_id, disposition, rule_id, cname_id, count, first, last)
                    SELECT h.hour, h.device_id, n.id, h.disposition, r.id, c.id, h.count, h.first, h.last
                    FROM hourly h JOIN names n ON n.name = h.name
                    LEFT JOIN rules r ON r.list = h.list AND r.rule = h.rule LEFT JOIN names c ON c.name = h.cname;
                DROP TABLE hourly;
                """)
            try packRawRows(db)
            try db.execute(sql: "DROP TABLE attempts")
            // The old hourly rows already count the old raw rows.
            try db.execute(sql: """
                INSERT INTO counters (key, value) SELECT 'aggregated_through_batch', coalesce(max(id), 0) FROM attempt_batches
                """)
        }
        // A device first recorded by address, before its MAC was known, is merged into the MAC's device:
        // its totals move, and the row stays as an alias for the raw log entries that name it.
        migrator.registerMigration("v5-device-aliases") { db in
            try db.execute(sql: "ALTER TABLE devices ADD COLUMN merged_into INTEGER REFERENCES devices(id)")
        }
        // Names discovery flagged, with their evidence; `state` 0 suggested, 1 dismissed, 2 applied.
        migrator.registerMigration("v6-suggestions") { db in
            try db.execute(sql: """
                CREATE TABLE suggestions (
                    name TEXT PRIMARY KEY,
                    score REAL NOT NULL,
                    reasons TEXT NOT NULL,             -- comma-separated: beacon, keyword, family, spread
                    interval REAL,                     -- seconds between queries, for a beacon
                    words TEXT NOT NULL,
                    vendor TEXT,
                    devices TEXT NOT NULL,             -- comma-separated device keys
                    count INTEGER NOT NULL,
                    first_seen REAL NOT NULL,
                    last_seen REAL NOT NULL,
                    state INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }

    /// Moves the version-3 raw log (a row per attempt) into packed batches.
    private static func packRawRows(_ db: Database) throws {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT a.time, a.device_id, n.id AS name_id, c.id AS cname_id, coalesce(a.rule_id, 0) AS rule_id, a.type,
                   a.disposition, a.client
            FROM attempts a JOIN names n ON n.name = a.name LEFT JOIN names c ON c.name = a.cname ORDER BY a.rowid
            """)
        var batch = PackedBatch()
        while let row = try rows.next() {
            batch.add(LoggedAttempt(
                time: row["time"], device: row["device_id"], name: row["name_id"], cname: row["cname_id"] ?? 0,
                rule: row["rule_id"], type: UInt16(truncatingIfNeeded: row["type"] as Int),
                disposition: Disposition.code(label: row["disposition"]), client: IPAddress(row["client"] as String) ?? .v4(0)))
            if batch.isFull { try batch.insert(db) }
        }
        try batch.insert(db)
    }
}
