import Blocklist
import DNSWire
import Foundation
import GRDB
import HushApp
import Resolver
import Sockets
import Stats
import Testing
import TestSupport

@Suite struct StatsRecordingTests {
    func server(privacy: StatsSettings.Privacy = .blocked, database: String = TestFiles.databasePath(),
                configure: (inout HushConfig) -> Void = { _ in }) throws -> TestServer {
        try TestServer(configure: { config in
            config.statsEnabled = true
            config.statsDatabase = database
            config.statsPrivacy = privacy
            config.blocklists = [TestFiles.xiaomiList]
            config.deviceRefreshSeconds = 5
            configure(&config)
        })
    }

    func send(_ server: TestServer, _ name: String, from device: String, times: Int = 1) {
        for _ in 0..<times { _ = server.udp(DNSTestClient.query(name), from: device) }
    }

    func report(_ server: TestServer) throws -> StatsReport {
        server.service.stats!.flush()
        return StatsReport(store: try StatsStore.openForReading(path: server.service.config.statsDatabasePath))
    }

    static let window = StatsWindow.since("1h")!

    @Test func aPatternIsRecordedAsTheRuleThatMatched() throws {
        let patterns = TestServer.listFile("tiktok.txt", "# Vendor: ByteDance\n||log*-normal-*.tiktokv.test^\n/^rtlog[0-9]+\\.tiktokv\\.test$/\n")
        let server = try server(configure: { $0.blocklists = [patterns] })
        send(server, "log16-normal-useast1a.tiktokv.test", from: "127.0.0.6", times: 2)
        send(server, "rtlog31.tiktokv.test", from: "127.0.0.6")
        let endpoints = try report(server).device("127.0.0.6", Self.window).endpoints
        #expect(endpoints.first { $0.name == "log16-normal-useast1a.tiktokv.test" }?.rule == "||log*-normal-*.tiktokv.test^")
        #expect(endpoints.first { $0.name == "log16-normal-useast1a.tiktokv.test" }?.count == 2)
        #expect(endpoints.first { $0.name == "rtlog31.tiktokv.test" }?.rule == "/^rtlog[0-9]+\\.tiktokv\\.test$/")
        #expect(endpoints.allSatisfy { $0.vendor == "ByteDance" && $0.disposition == "blocked" })
    }

    @Test func devicesAndTheirAttemptsMatchWhatWasSent() throws {
        let server = try server()
        server.upstream.add("example.com", .a("93.184.216.34"))
        send(server, "sa.api.intl.miui.com", from: "127.0.0.2", times: 5)
        send(server, "x.tracking.intl.miui.com", from: "127.0.0.2", times: 2)
        send(server, "example.com", from: "127.0.0.2", times: 3)
        send(server, "tracking.intl.miui.com", from: "127.0.0.3", times: 4)
        send(server, "example.com", from: "127.0.0.4")
        let report = try report(server)

        let devices = try report.devices(Self.window)
        #expect(devices.count == 3)
        let phone = try #require(devices.first { $0.addresses == ["127.0.0.2"] })
        #expect(phone.queries == 10 && phone.blocked == 7 && phone.topVendors == ["Xiaomi"])
        #expect(devices.first?.addresses == ["127.0.0.2"], "ordered by blocked attempts")

        let detail = try report.device("127.0.0.2", Self.window)
        #expect(detail.endpoints.map(\.name) == ["sa.api.intl.miui.com", "x.tracking.intl.miui.com"],
                "allowed names are not kept by name under the default privacy setting")
        let sa = detail.endpoints[0]
        #expect(sa.count == 5 && sa.vendor == "Xiaomi" && sa.category == "vendor-telemetry" && sa.list == "xiaomi.txt"
                && sa.rule == "sa.api.intl.miui.com" && sa.disposition == "blocked")
        #expect(detail.endpoints[1].rule == "tracking.intl.miui.com", "a new rule after a run of repeats is kept whole")
        #expect(detail.hourly.map(\.queries).reduce(0, +) == 10)

        let domain = try report.domain("miui.com", Self.window)
        #expect(Set(domain.map(\.device)) == ["127.0.0.2", "127.0.0.3"])
        #expect(domain.map(\.count).reduce(0, +) == 11)
        #expect(try report.domain("intl.miui.com", Self.window).count == 3, "one row per device and name")
        #expect(try report.domain("api.intl.miui.co", Self.window).isEmpty, "a suffix only at a label boundary")

        let summary = try report.summary(Self.window)
        #expect(summary.queries == 15 && summary.blocked == 11 && summary.devices == 3 && summary.dropped == 0)
        #expect(summary.topVendors.map(\.vendor) == ["Xiaomi"] && summary.topVendors.first?.attempts == 11 && summary.topVendors.first?.category == "vendor-telemetry")

        let top = try report.top(Self.window)
        #expect(top.names.first?.name == "sa.api.intl.miui.com" && top.names.first?.attempts == 5)
        #expect(top.devices.first?.device == "127.0.0.2" && top.devices.first?.blocked == 7)
        let vendors = try report.vendors(Self.window)
        #expect(vendors.map(\.attempts) == [7, 4] && vendors.allSatisfy { $0.vendor == "Xiaomi" })

        #expect(throws: StatsError.self) { try report.device("nobody", Self.window) }
        let log = try report.log(after: 0)
        #expect(log.count == 11 && log.allSatisfy { $0.disposition == "blocked" })
    }

    @Test func privacyAllKeepsEveryQueryAndNoneOnlyCounts() throws {
        let everything = try server(privacy: .all)
        everything.upstream.add("example.com", .a("1.2.3.4"))
        send(everything, "example.com", from: "127.0.0.5", times: 2)
        send(everything, "sa.api.intl.miui.com", from: "127.0.0.5")
        let all = try report(everything)
        #expect(try all.device("127.0.0.5", Self.window).endpoints.map { "\($0.name) \($0.disposition)" }.sorted() == ["example.com cached", "example.com forwarded", "sa.api.intl.miui.com blocked"])
        #expect(try all.log(after: 0).count == 3)

        let nothing = try server(privacy: .none)
        send(nothing, "sa.api.intl.miui.com", from: "127.0.0.6", times: 3)
        let none = try report(nothing)
        #expect(try none.summary(Self.window).blocked == 3)
        #expect(try none.device("127.0.0.6", Self.window).endpoints.isEmpty)
        #expect(try none.log(after: 0).isEmpty)
    }

    @Test func aRetryStormIsCountedButNotStoredRowByRow() throws {
        let server = try server()
        send(server, "tracking.intl.miui.com", from: "127.0.0.7", times: 300)
        let report = try report(server)
        #expect(try report.device("127.0.0.7", Self.window).endpoints.first?.count == 300)
        #expect(try report.log(after: 0).count == 100, "raw rows capped per device, name and hour")
    }

    @Test func theDatabaseIsPrivateAndItsVersionChecked() throws {
        let path = TestFiles.databasePath()
        let server = try server(database: path)
        send(server, "sa.api.intl.miui.com", from: "127.0.0.2")
        server.service.stats!.flush()
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(throws: StatsError.self) { try StatsStore.openForReading(path: path + ".missing") }
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v999-from-the-future')") }
        do {
            _ = try StatsStore.openForReading(path: path)
            Issue.record("a newer database must be refused")
        } catch let error as StatsError {
            #expect("\(error)".contains("newer Hush"))
        }
    }

    @Test func retentionDeletesOldRecords() throws {
        let path = TestFiles.databasePath()
        let store = try StatsStore.openForWriting(path: path)
        var settings = StatsSettings(path: path)
        settings.retentionDays = 7
        let writer = StatsWriter(settings: settings, store: store, devices: DeviceDirectory(sources: .init()), logger: .init(label: "test"))
        let lists = ListStore()
        _ = lists
        let blocked = Disposition.blocked(ListMatch(list: ListInfo(source: "x.txt", vendor: "Xiaomi"), rule: "old.test"))
        let now = Date().timeIntervalSince1970
        let old = AnsweredQuery(time: now - 10 * 86_400, client: IPAddress("10.0.0.9")!, name: "old.test", type: 1, disposition: blocked)
        let recent = AnsweredQuery(time: now - 3600, client: IPAddress("10.0.0.9")!, name: "recent.test", type: 1, disposition: blocked)
        writer.recorder.enqueue([old, recent])
        writer.flush()   // the first flush also applies retention, before writing: both rows land
        let report = StatsReport(store: try StatsStore.openForReading(path: path))
        let everything = StatsWindow(from: Date(timeIntervalSince1970: 0), to: Date())
        #expect(try report.domain("old.test", everything).count == 1)
        try store.applyRetention(days: 7)
        #expect(try report.domain("old.test", everything).isEmpty)
        #expect(try report.domain("recent.test", everything).count == 1)
        #expect(try report.log(after: 0).map(\.name) == ["recent.test"])
    }

    @Test func aFullQueueIsCountedAsDropped() throws {
        let path = TestFiles.databasePath()
        var settings = StatsSettings(path: path)
        settings.queueCapacity = 10
        let writer = StatsWriter(settings: settings, store: try StatsStore.openForWriting(path: path),
                                 devices: DeviceDirectory(sources: .init()), logger: .init(label: "test"))
        let record = AnsweredQuery(time: Date().timeIntervalSince1970, client: IPAddress("10.0.0.1")!, name: "a.test", type: 1, disposition: .cached)
        writer.recorder.enqueue(Array(repeating: record, count: 25))
        writer.flush()
        let summary = try StatsReport(store: try StatsStore.openForReading(path: path)).summary(Self.window)
        #expect(summary.queries == 10 && summary.dropped == 15)
    }

    @Test func devicesAreNamedFromADnsmasqLeaseFileAndTheConfig() throws {
        let leases = TestServer.listFile("dnsmasq.leases", """
            1900000000 aa:bb:cc:dd:ee:01 127.0.0.8 living-room-tv 01:aa:bb:cc:dd:ee:01
            1900000000 aa:bb:cc:dd:ee:02 127.0.0.9 * 01:aa:bb:cc:dd:ee:02
            """)
        let server = try server(configure: { config in
            config.leaseFiles = [leases]
            config.deviceNames = ["127.0.0.10": "Kitchen speaker"]
        })
        send(server, "sa.api.intl.miui.com", from: "127.0.0.8", times: 2)
        send(server, "sa.api.intl.miui.com", from: "127.0.0.10")
        let report = try report(server)
        let tv = try report.device("Living-Room-TV", Self.window)
        #expect(tv.device.name == "living-room-tv" && tv.device.blocked == 2)
        #expect(try report.device("kitchen speaker", Self.window).device.addresses == ["127.0.0.10"])
    }

    @Test func leaseFormatsAreRead() {
        var byMAC: [String: String] = [:]
        var byAddress: [IPAddress: String] = [:]
        let isc = TestServer.listFile("dhcpd.leases", """
            lease 192.168.1.20 {
              starts 4 2026/11/19 10:00:00;
              hardware ethernet AA:BB:CC:00:00:20;
              client-hostname "mi-phone";
            }
            """)
        let odhcpd = TestServer.listFile("odhcpd", "# br-lan 000100012a 3ab8e19e samsung-tv 1703016232 1c9 128 fd00::1c9/128 fd00::2/128\n")
        LeaseFiles.read(isc, namesByMAC: &byMAC, namesByAddress: &byAddress)
        LeaseFiles.read(odhcpd, namesByMAC: &byMAC, namesByAddress: &byAddress)
        #expect(byMAC["aa:bb:cc:00:00:20"] == "mi-phone")
        #expect(byAddress[IPAddress("192.168.1.20")!] == "mi-phone")
        #expect(byAddress[IPAddress("fd00::1c9")!] == "samsung-tv" && byAddress[IPAddress("fd00::2")!] == "samsung-tv")
        #expect(DeviceDirectory.normalisedMAC("A:b:C:d:E:f") == "0a:0b:0c:0d:0e:0f")
    }
}
