import GRDB

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
        return migrator
    }
}
