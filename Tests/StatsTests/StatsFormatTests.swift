import Blocklist
import Foundation
import GRDB
import Resolver
import Sockets
@testable import Stats
import Testing
import TestSupport

/// The packed raw log and the schema migration that introduced it, on real SQLite files.
@Suite struct StatsFormatTests {
    static let everything = StatsWindow(from: Date(timeIntervalSince1970: 0), to: Date().addingTimeInterval(3600))

    @Test func theLogPagesAcrossPackedBatchesInOrder() throws {
        let path = TestFiles.databasePath()
        var settings = StatsSettings(path: path)
        settings.privacy = .all
        settings.queueCapacity = 100_000
        settings.rawRowsPerNameHour = 1_000
        let writer = StatsWriter(settings: settings, store: try StatsStore.openForWriting(path: path),
                                 devices: DeviceDirectory(sources: .init()), logger: .init(label: "test"))
        let now = Date().timeIntervalSince1970
        let clients = [IPAddress("10.0.0.1")!, IPAddress("fd00::7")!]
        let sent: [AnsweredQuery] = (0..<70_000).map { (i: Int) -> AnsweredQuery in
            let time = now - 60 + Double(i) / 10_000
            return AnsweredQuery(time: time, client: clients[i % 2], name: "n\(i % 1_000).test", type: UInt16(1 + i % 2), disposition: .cached)
        }
        let sentNames: [String] = sent.map { $0.domain.description }
        writer.recorder.enqueue(sent)
        writer.flush()

        let report = StatsReport(store: try StatsStore.openForReading(path: path))
        let first = try report.log(after: 0, limit: 66_000)
        let rest = try report.log(after: first.last!.id, limit: 10_000)
        let log = first + rest
        #expect(first.count == 66_000 && rest.count == 4_000, "more than one batch row (65,536 entries each)")
        #expect(log.map(\.name) == sentNames && log.map(\.type) == sent.map { Int($0.type) })
        #expect(log.map(\.client) == sent.map { $0.client.description })
        #expect(zip(log, sent).allSatisfy { abs($0.time.timeIntervalSince1970 - $1.time) <= 0.0005 }, "kept to the millisecond")
        #expect(zip(log, log.dropFirst()).allSatisfy { $0.id < $1.id })
        #expect(try report.lastLogID() == log.last!.id)
        #expect(try report.log(after: try report.logID(back: 10)).map(\.name) == Array(sentNames.suffix(10)))
        #expect(try report.log(after: try report.logID(back: 66_000), limit: 1).first?.id == log[4_000].id)
    }

    @Test func aVersion3DatabaseKeepsItsHistory() throws {
        let path = TestFiles.databasePath()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let queue = try DatabaseQueue(path: path)
        try StatsSchema.migrator.migrate(queue, upTo: "v3-status")
        let now = Date().timeIntervalSince1970
        let hour = Int64(now / 3600)
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO devices (id, key, name, first_seen, last_seen) VALUES (1, 'ip:10.0.0.2', 'tv', ?, ?);
                INSERT INTO rules (id, list, rule, vendor, category) VALUES (1, 'xiaomi.txt', 'tracking.intl.miui.com', 'Xiaomi', 'vendor-telemetry');
                INSERT INTO attempts VALUES (?, 1, '10.0.0.2', 'a.tracking.intl.miui.com', 1, 'blocked', NULL, 1);
                INSERT INTO attempts VALUES (?, 1, '10.0.0.2', 'example.com', 28, 'blocked-cname', 'cdn.tracking.intl.miui.com', 1);
                INSERT INTO hourly VALUES (?, 1, 'a.tracking.intl.miui.com', 'blocked', 'xiaomi.txt', 'tracking.intl.miui.com', 'Xiaomi', 'vendor-telemetry', NULL, 7, ?, ?);
                INSERT INTO hourly VALUES (?, 1, 'example.com', 'blocked-cname', 'xiaomi.txt', 'tracking.intl.miui.com', 'Xiaomi', 'vendor-telemetry', 'cdn.tracking.intl.miui.com', 1, ?, ?);
                INSERT INTO device_hourly VALUES (?, 1, 8, 8);
                """, arguments: [now, now, now - 2, now - 1, hour, now - 9, now - 2, hour, now - 1, now - 1, hour])
        }
        try queue.close()

        _ = try StatsStore.openForWriting(path: path)
        let report = StatsReport(store: try StatsStore.openForReading(path: path))
        let endpoints = try report.device("tv", Self.everything).endpoints
        #expect(endpoints.map { "\($0.name) \($0.disposition) \($0.count) \($0.vendor ?? "") \($0.cname ?? "")" } == [
            "a.tracking.intl.miui.com blocked 7 Xiaomi ",
            "example.com blocked-cname 1 Xiaomi cdn.tracking.intl.miui.com",
        ])
        let log = try report.log(after: 0)
        #expect(log.map { "\($0.device) \($0.client) \($0.name) \($0.type) \($0.disposition) \($0.rule ?? "") \($0.cname ?? "")" } == [
            "tv 10.0.0.2 a.tracking.intl.miui.com 1 blocked tracking.intl.miui.com ",
            "tv 10.0.0.2 example.com 28 blocked-cname tracking.intl.miui.com cdn.tracking.intl.miui.com",
        ])
        #expect(try report.domain("tracking.intl.miui.com", Self.everything).map(\.count) == [7])
    }

    @Test func deferredTotalsAreRebuiltFromTheRawLogAfterACrash() throws {
        let path = TestFiles.databasePath()
        var settings = StatsSettings(path: path)
        settings.aggregateKeysPerFlush = 0   // as under load: per-name totals wait
        settings.aggregateSeconds = 3_600
        settings.rawRowsPerNameHour = 10
        let blocked = Disposition.blocked(ListMatch(list: ListInfo(source: "xiaomi.txt", category: "vendor-telemetry", vendor: "Xiaomi"),
                                                    rule: "tracking.intl.miui.com"))
        let now = Date().timeIntervalSince1970
        let tv = IPAddress("10.0.0.2")!
        let crashed = StatsWriter(settings: settings, store: try StatsStore.openForWriting(path: path),
                                  devices: DeviceDirectory(sources: .init()), logger: .init(label: "test"))
        crashed.flush(forceAggregates: false)   // the first flush: a catch-up on nothing
        crashed.recorder.enqueue((0..<25).map { AnsweredQuery(time: now - Double($0), client: tv, name: "tracking.intl.miui.com", type: 1, disposition: blocked) })
        crashed.flush(forceAggregates: false)
        crashed.recorder.enqueue([AnsweredQuery(time: now, client: tv, name: "a.tracking.intl.miui.com", type: 28, disposition: blocked)])
        crashed.flush(forceAggregates: false)
        let report = StatsReport(store: try StatsStore.openForReading(path: path))
        #expect(try report.log(after: 0).count == 11, "the raw log is written with every flush, capped at 10 per key")
        #expect(try report.device("10.0.0.2", Self.everything).endpoints.isEmpty, "per-name totals deferred")
        #expect(try report.summary(Self.everything).blocked == 26, "per-device counts are not deferred")

        // A new writer on the same file, as after a SIGKILL: its first flush rebuilds the totals.
        let restarted = StatsWriter(settings: settings, store: try StatsStore.openForWriting(path: path),
                                    devices: DeviceDirectory(sources: .init()), logger: .init(label: "test"))
        restarted.flush(forceAggregates: false)
        let endpoints = try report.device("10.0.0.2", Self.everything).endpoints
        #expect(endpoints.map { "\($0.name) \($0.count) \($0.vendor ?? "")" } == ["tracking.intl.miui.com 25 Xiaomi", "a.tracking.intl.miui.com 1 Xiaomi"])
        #expect(try report.vendors(Self.everything).map(\.attempts) == [26])
        restarted.recorder.enqueue([AnsweredQuery(time: now, client: tv, name: "tracking.intl.miui.com", type: 1, disposition: blocked)])
        restarted.flush()
        #expect(try report.device("10.0.0.2", Self.everything).endpoints.first?.count == 26, "nothing counted twice")
    }

    @Test func aDomainAnswersTheSameThroughTheIndexAndThroughTheWindow() throws {
        let path = TestFiles.databasePath()
        var settings = StatsSettings(path: path)
        settings.privacy = .all
        let writer = StatsWriter(settings: settings, store: try StatsStore.openForWriting(path: path),
                                 devices: DeviceDirectory(sources: .init()), logger: .init(label: "test"))
        let now = Date().timeIntervalSince1970
        let many = StatsReport.namesThroughIndex + 50
        writer.recorder.enqueue((0..<many).map { AnsweredQuery(time: now, client: IPAddress("10.0.0.\(1 + $0 % 3)")!, name: "n\($0).wide.test", type: 1, disposition: .cached) }
            + [AnsweredQuery(time: now, client: IPAddress("10.0.0.1")!, name: "narrow.test", type: 1, disposition: .cached)])
        writer.flush()
        let report = StatsReport(store: try StatsStore.openForReading(path: path))
        let wide = try report.domain("wide.test", Self.everything)
        #expect(wide.count == many && Set(wide.map(\.name)).count == many && wide.allSatisfy { $0.count == 1 })
        #expect(try report.domain("test", Self.everything).count == many + 1)
        #expect(try report.domain("narrow.test.", Self.everything).map(\.name) == ["narrow.test"])
        #expect(try report.domain("nobody.test", Self.everything).isEmpty)
    }

    @Test func theKeyIndexFindsEveryKeyThroughGrowthAndCollisions() {
        var index = KeyIndex(capacity: 8)
        let keys: [NameHourTable.Key] = (0..<5_000).map { (i: Int) -> NameHourTable.Key in
            let nameHash = i % 7 == 0 ? 42 : i &* 0x5851_F42D   // every seventh key shares one hash
            return NameHourTable.Key(nameHash: nameHash, hour: Int64(i % 3), device: Int64(i / 7), disposition: UInt8(i % 9))
        }
        for (slot, key) in keys.enumerated() { index.insert(key, slot: slot) }
        #expect(index.count == keys.count)
        #expect(keys.indices.allSatisfy { (slot: Int) -> Bool in index.slot(for: keys[slot]) == slot })
        #expect(index.slot(for: NameHourTable.Key(nameHash: 42, hour: 9, device: 9, disposition: 9)) == nil)
    }

    @Test func entriesRoundTripBothAddressFamiliesAndADamagedRowStops() {
        let entries = [
            LoggedAttempt(time: 1_790_000_000.25, device: 3, name: 70_000, cname: 0, rule: 9, type: 65, disposition: 3, client: IPAddress("192.168.1.20")!),
            LoggedAttempt(time: 1_790_000_001.5, device: 4, name: 1, cname: 2, rule: 0, type: 28, disposition: 4, client: IPAddress("fd00::1c9")!),
            LoggedAttempt(time: 1_790_000_000.001, device: 4, name: 5_000_000_000, cname: 0, rule: 0, type: 1, disposition: 0, client: IPAddress("fd00::1c9")!),
            LoggedAttempt(time: 1_000.0, device: 1, name: 1, cname: 0, rule: 0, type: 1, disposition: 8, client: IPAddress("10.0.0.1")!),
        ]
        var batch = PackedBatch()
        for entry in entries { batch.add(entry) }
        batch.addOverflow(entries[0], count: 1_234)
        let packed = batch.stored
        #expect(PackedBatch.entries(packed.entries) == entries)
        let overflow = PackedBatch.decode(entries: packed.entries, overflow: packed.overflow).overflow
        #expect(overflow.count == 1 && overflow.first?.entry == entries[0] && overflow.first?.count == 1_234)
        #expect(packed.entries.count < 2 * 44, "about 8 bytes for an entry like the one before it, not 44")
        #expect(PackedBatch.entries(packed.entries.dropLast(3)) == Array(entries.prefix(3)), "a cut row keeps what is whole")
        #expect(PackedBatch.entries(Data([0xFF, 0xFF, 0xFF])).isEmpty)
    }
}
