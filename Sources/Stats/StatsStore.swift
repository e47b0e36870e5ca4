import Foundation
import GRDB

/// The SQLite file: WAL, synchronous=NORMAL, created readable by its owner only. One writer (the server)
/// and any number of readers (the CLI) at once.
public final class StatsStore: @unchecked Sendable {
    let database: DatabaseQueue
    public let path: String
    /// The file's inode when opened: a different one (or none) means the file was deleted or replaced.
    let inode: UInt64?

    private init(database: DatabaseQueue, path: String) {
        self.database = database
        self.path = path
        self.inode = Self.inode(of: path)
    }

    static func inode(of path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    /// Whether the file this store writes is still the one at `path`.
    public var fileIsInPlace: Bool { inode != nil && Self.inode(of: path) == inode }

    /// Whether the file still starts with SQLite's header. SQLite trusts its page cache while it holds the
    /// file open, so a file overwritten under it would go unnoticed until a restart; this one read per
    /// flush catches it.
    public var headerIsIntact: Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 16)
        let count = pread(fd, &header, 16, 0)
        return count == 16 && header == Array("SQLite format 3\0".utf8)
    }

    /// Opens or creates the database for the server and brings its schema up to date. A file that is not
    /// a database, or a corrupt one, is moved aside (kept for inspection, named in `movedAside`) and a new
    /// one is started: DNS must not lose its stats over a damaged file.
    public static func openForWriting(path: String, movedAside: (String) -> Void = { _ in }) throws -> StatsStore {
        do {
            return try openOrCreate(path: path)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB {
            movedAside(try quarantine(path))
            return try openOrCreate(path: path)
        }
    }

    /// Renames a damaged database (and its -wal) to `PATH.corrupt-TIME` and drops its -shm. Returns the new name.
    static func quarantine(_ path: String) throws -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd'T'HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let aside = path + ".corrupt-" + formatter.string(from: Date())
        guard rename(path, aside) == 0 else {
            throw StatsError.storage("cannot move the damaged \(path) aside: \(String(cString: strerror(errno)))")
        }
        _ = rename(path + "-wal", aside + "-wal")
        unlink(path + "-shm")
        return aside
    }

    private static func openOrCreate(path: String) throws -> StatsStore {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        // The file holds browsing history: create it 0600 before SQLite does (its -wal and -shm copy the mode).
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StatsError.storage("cannot create \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        configuration.busyMode = .timeout(5)
        let database = try DatabaseQueue(path: path, configuration: configuration)
        try database.writeWithoutTransaction { db in
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
        }
        let migrator = StatsSchema.migrator
        try database.read { db in
            if try migrator.hasBeenSuperseded(db) { throw StatsError.newerVersion(path) }
        }
        try migrator.migrate(database)
        return StatsStore(database: database, path: path)
    }

    /// Opens an existing database read-only, for the CLI, while the server keeps writing.
    public static func openForReading(path: String) throws -> StatsStore {
        guard FileManager.default.fileExists(atPath: path) else { throw StatsError.noDatabase(path) }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        let database = try DatabaseQueue(path: path, configuration: configuration)
        try database.read { db in
            let migrator = StatsSchema.migrator
            if try migrator.hasBeenSuperseded(db) { throw StatsError.newerVersion(path) }
            guard try migrator.hasCompletedMigrations(db) else { throw StatsError.noDatabase(path) }
        }
        return StatsStore(database: database, path: path)
    }
}
