import DNSWire
import Foundation
import Glibc
import HushApp
import Stats
import Testing
import TestSupport

@Suite(.serialized) struct StorageFaultTests {
    func server(database: String) throws -> TestServer {
        try TestServer(configure: { config in
            config.statsEnabled = true
            config.statsDatabase = database
            config.statsPrivacy = .all
            config.blocklists = [TestFiles.xiaomiList]
        })
    }

    @Test func aDeletedDatabaseIsStartedAgain() throws {
        let database = TestFiles.databasePath()
        let server = try server(database: database)
        _ = server.udp(DNSTestClient.query("sa.api.intl.miui.com"), from: "127.0.0.2")
        server.service.stats!.flush()
        for suffix in ["", "-wal", "-shm"] { unlink(database + suffix) }
        #expect(try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("after.sa.api.intl.miui.com")))).answerCount == 1)
        server.service.stats!.flush()
        let report = StatsReport(store: try StatsStore.openForReading(path: database))
        #expect(try report.log(after: 0).map(\.name) == ["after.sa.api.intl.miui.com"])
    }

    @Test(.enabled(if: Prerequisites.canMountTmpfs, "needs root and a tmpfs mount"))
    func aFullDiskKeepsDNSAnsweringAndRecordingResumes() throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("hush-full-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try #require(run("/bin/mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mountPoint]) == 0)
        defer { _ = run("/bin/umount", ["-l", mountPoint]); try? FileManager.default.removeItem(atPath: mountPoint) }
        let database = mountPoint + "/stats.db"
        let server = try server(database: database)
        _ = server.udp(DNSTestClient.query("sa.api.intl.miui.com"), from: "127.0.0.2")
        server.service.stats!.flush()
        // Fill the rest of the disk.
        let filler = mountPoint + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        let chunk = Data(repeating: 0x55, count: 4096)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        try? handle.close()

        var answered = 0
        for i in 0..<300 {
            let name = "n\(i)-\(String(repeating: "x", count: 40)).sa.api.intl.miui.com"
            if let reply = server.udp(DNSTestClient.query(name)), (try? LDNSMessage(wire: reply))?.answerCount == 1 { answered += 1 }
        }
        server.service.stats!.flush()
        #expect(answered == 300, "DNS keeps answering on a full disk")
        #expect(server.service.stats!.problem != nil, "the writer knows it is failing")

        try FileManager.default.removeItem(atPath: filler)
        server.service.stats!.flush()
        #expect(server.service.stats!.problem == nil, "recording resumed")
        let report = StatsReport(store: try StatsStore.openForReading(path: database))
        let summary = try report.summary(StatsWindow.since("1h")!)
        #expect(summary.writeFailures >= 1)
        #expect(summary.lastWriteError?.lowercased().contains("full") == true, "\(String(describing: summary.lastWriteError))")
        #expect(summary.queries == 301, "the records waited in memory and were written")
    }

    /// SQLite trusts its page cache, so a file overwritten under the running server is caught by the header
    /// check before each write: the damaged file is kept aside, a new one takes the waiting records, and
    /// `hush stats` tells what happened.
    @Test func aDatabaseOverwrittenWhileRunningIsKeptAsideAndANewOneStarted() throws {
        let database = TestFiles.databasePath()
        let server = try server(database: database)
        _ = server.udp(DNSTestClient.query("sa.api.intl.miui.com"), from: "127.0.0.2")
        server.service.stats!.flush()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: database)[.size] as? Int)
        let handle = try #require(FileHandle(forWritingAtPath: database))
        try handle.write(contentsOf: Data((0..<size).map { _ in UInt8.random(in: 0...255) }))
        try handle.close()

        #expect(try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("after.sa.api.intl.miui.com")))).answerCount == 1)
        server.service.stats!.flush()   // finds the damage, moves the file aside, opens a new one
        server.service.stats!.flush()   // writes the waiting record and the note
        let aside = try FileManager.default.contentsOfDirectory(atPath: (database as NSString).deletingLastPathComponent)
            .filter { $0.hasPrefix((database as NSString).lastPathComponent + ".corrupt-") && !$0.hasSuffix("-wal") }
        #expect(aside.count == 1, "the damaged file is kept for inspection")
        let report = StatsReport(store: try StatsStore.openForReading(path: database))
        #expect(try report.log(after: 0).map(\.name) == ["after.sa.api.intl.miui.com"])
        let summary = try report.summary(StatsWindow.since("1h")!)
        #expect(summary.lastWriteError?.contains("damaged") == true, "\(String(describing: summary.lastWriteError))")
    }

    @Test func aDatabaseThatIsNotOneAtStartIsKeptAside() throws {
        let database = TestFiles.databasePath()
        try FileManager.default.createDirectory(atPath: (database as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data("not a database, just text that someone wrote here".utf8).write(to: URL(fileURLWithPath: database))
        let server = try server(database: database)
        #expect(try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("sa.api.intl.miui.com"), from: "127.0.0.2"))).answerCount == 1)
        server.service.stats!.flush()
        let report = StatsReport(store: try StatsStore.openForReading(path: database))
        #expect(try report.log(after: 0).map(\.name) == ["sa.api.intl.miui.com"])
    }

    /// A state directory that cannot be written (a read-only mount) when Hush starts: DNS answers, the
    /// records wait in memory, and they are written once the directory is writable again.
    @Test(.enabled(if: Prerequisites.canMountTmpfs, "needs root and a tmpfs mount"))
    func aReadOnlyStateDirectoryKeepsDNSAnsweringAndRecordsWait() throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("hush-ro-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try #require(run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m,ro", "tmpfs", mountPoint]) == 0)
        defer { _ = run("/bin/umount", ["-l", mountPoint]); try? FileManager.default.removeItem(atPath: mountPoint) }
        let database = mountPoint + "/stats.db"
        let server = try server(database: database)
        var answered = 0
        for i in 0..<20 {
            if let reply = server.udp(DNSTestClient.query("r\(i).sa.api.intl.miui.com"), from: "127.0.0.2"),
               (try? LDNSMessage(wire: reply))?.answerCount == 1 { answered += 1 }
        }
        server.service.stats!.flush()
        #expect(answered == 20, "DNS answers while the stats cannot be written")
        #expect(server.service.stats!.problem != nil)
        #expect(!FileManager.default.fileExists(atPath: database))

        #expect(run("/bin/mount", ["-o", "remount,rw", mountPoint]) == 0)
        server.service.stats!.flush()
        #expect(server.service.stats!.problem == nil, "recording started")
        let summary = try StatsReport(store: try StatsStore.openForReading(path: database)).summary(StatsWindow.since("1h")!)
        #expect(summary.queries == 20, "the records waited in memory")
        #expect(summary.writeFailures >= 1)
    }

    /// The state directory turning read-only while Hush runs: a read-only mount laid over it (the kernel
    /// will not remount a file system read-only while SQLite holds a file open for writing). DNS answers,
    /// records wait, and once the directory is writable again they are written and the fault is shown.
    @Test(.enabled(if: Prerequisites.canMountTmpfs, "needs root and a tmpfs mount"))
    func aStateDirectoryTurningReadOnlyWhileRunningKeepsDNSAnsweringAndRecordsWait() throws {
        let database = TestFiles.databasePath()
        let directory = (database as NSString).deletingLastPathComponent
        let server = try server(database: database)
        _ = server.udp(DNSTestClient.query("sa.api.intl.miui.com"), from: "127.0.0.2")
        server.service.stats!.flush()
        try #require(run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", directory]) == 0)
        var mounted = true
        defer { if mounted { _ = run("/bin/umount", ["-l", directory]) } }

        var answered = 0
        for i in 0..<20 {
            if let reply = server.udp(DNSTestClient.query("w\(i).sa.api.intl.miui.com"), from: "127.0.0.2"),
               (try? LDNSMessage(wire: reply))?.answerCount == 1 { answered += 1 }
        }
        server.service.stats!.flush()
        #expect(answered == 20, "DNS answers while the directory is read-only")
        #expect(server.service.stats!.problem != nil, "the writer knows it cannot write")

        #expect(run("/bin/umount", [directory]) == 0)
        mounted = false
        server.service.stats!.flush()
        #expect(server.service.stats!.problem == nil, "recording resumed")
        let summary = try StatsReport(store: try StatsStore.openForReading(path: database)).summary(StatsWindow.since("1h")!)
        #expect(summary.queries == 21, "the records waited in memory and were written")
        #expect(summary.writeFailures >= 1)
    }

    func run(_ tool: String, _ arguments: [String]) -> Int32 {
        (try? Command.run(tool, arguments).status) ?? -1
    }
}
