import DNSWire
import Foundation
import HushApp
import Sockets
import Stats
import Testing
import TestSupport

/// Discovery on real traffic through the server: several devices, a minute of beacons, browsing, names
/// asked once and the periodic checks a device needs, with the default privacy setting (allowed names are
/// not stored per device).
@Suite struct DiscoveryTrafficTests {
    struct Event {
        var at: Double
        var client: String
        var name: String
    }

    static let beacons = [
        ("metrics.acme-tv.test", 3.0, ["127.0.0.11"]), ("events.gizmo.test", 5.0, ["127.0.0.12"]),
        ("rtlog7-normal-x.vendorcloud.test", 7.0, ["127.0.0.11", "127.0.0.13"]), ("a1.kqzw.test", 4.0, ["127.0.0.12"]),
        ("cfg.obscure-host.test", 6.0, ["127.0.0.13"]), ("node3.zylon.test", 9.5, ["127.0.0.14"]),
        ("data.mistat.kr.xiaomi.test", 8.0, ["127.0.0.14"]),
    ]
    static let needed = [
        ("connectivitycheck.gstatic.com", 5.0), ("captive.apple.com", 4.0), ("mtalk.google.com", 6.0), ("time.android.com", 5.0),
    ]

    /// The minute's schedule, seeded.
    static func schedule(seconds: Double) -> [Event] {
        var state: UInt64 = 42
        func random() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var events: [Event] = []
        for (name, period, clients) in beacons {
            for (index, client) in clients.enumerated() {
                var at = 0.3 + Double(index) * 0.7
                while at < seconds { events.append(Event(at: at, client: client, name: name)); at += period * (0.97 + random() * 0.06) }
            }
        }
        for (name, period) in needed {
            var at = 0.5
            while at < seconds { events.append(Event(at: at, client: "127.0.0.12", name: name)); at += period }
        }
        for (offset, name) in ["telemetry.once.test", "analytics.single.test", "stats.one.test"].enumerated() {
            events.append(Event(at: 5 + Double(offset) * 7, client: "127.0.0.11", name: name))
        }
        // Browsing: bursts of a page's names at irregular times.
        var at = 1.0
        while at < seconds {
            for (index, name) in ["news.example.test", "cdn.example.test", "shop.example.test", "img.example.test"].enumerated() where random() < 0.8 {
                events.append(Event(at: at + Double(index) * random() * 0.4, client: "127.0.0.13", name: name))
            }
            at += 4 + random() * 14
        }
        return events.sorted { $0.at < $1.at }
    }

    @Test func beaconsAreFoundAndWhatADeviceNeedsIsNot() throws {
        let database = TestFiles.databasePath()
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("hush-discovery-\(UUID().uuidString)").path
        let family = TestServer.listFile("xiaomi.txt", "# Vendor: Xiaomi\n# Category: vendor-telemetry\ndata.mistat.rus.xiaomi.test\n")
        let server = try TestServer(configure: {
            $0.statsEnabled = true
            $0.statsDatabase = database
            $0.stateDirectory = state
            $0.bundledLists = true
            $0.bundledListsDirectory = Repository.blocklists
            $0.blocklists = [family]
        })
        let events = Self.schedule(seconds: 55)
        for event in events { server.upstream.add(event.name, .a("10.0.0.1")) }
        let started = Date()
        for event in events {
            let wait = event.at - Date().timeIntervalSince(started)
            if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
            _ = server.udp(DNSTestClient.query(event.name), from: event.client, timeoutMilliseconds: 500)
        }
        server.service.stats!.flush()
        let report = StatsReport(store: try StatsStore.openForReading(path: database))
        let found = try report.suggestions(.since("1h")!)
        let flagged = Set(found.map(\.name))
        let expected = Set(Self.beacons.map(\.0))
        let truePositives = flagged.intersection(expected).count
        let precision = flagged.isEmpty ? 1 : Double(truePositives) / Double(flagged.count)
        let recall = Double(truePositives) / Double(expected.count)
        print("discovery on \(events.count) queries: precision \(precision), recall \(recall); flagged \(flagged.sorted())")
        #expect(recall == 1, "missed \(expected.subtracting(flagged).sorted())")
        #expect(precision == 1, "flagged \(flagged.subtracting(expected).sorted())")
        let mistat = found.first { $0.name == "data.mistat.kr.xiaomi.test" }
        #expect(mistat?.reasons.contains("family") == true && mistat?.vendor == "Xiaomi")
        #expect(found.first { $0.name == "rtlog7-normal-x.vendorcloud.test" }?.reasons.contains("spread") == true)
        #expect(found.first { $0.name == "a1.kqzw.test" }.map { abs(($0.intervalSeconds ?? 0) - 4) < 0.5 } == true)
        let footprint = server.service.stats!.discoveryFootprint
        print("discovery holds \(footprint.pairs) pairs, about \(footprint.bytes) bytes")

        // The command line: the JSON, then applying one name and dismissing another.
        let common = ["--stats-db", database, "--state-dir", state, "--no-bundled-lists"]
        let json = try HushBinary.run(["suggest", "--json"] + common)
        let objects = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]] ?? []
        #expect(objects.count == found.count, "\(json.error)")
        let beacon = try #require(objects.first { $0["name"] as? String == "a1.kqzw.test" })
        for field in ["name", "score", "reasons", "interval_seconds", "devices", "count", "first_seen", "last_seen"] {
            #expect(beacon[field] != nil, "\(field)")
        }
        #expect((beacon["reasons"] as? [String]) == ["beacon"])
        #expect(objects.contains { $0["interval_seconds"] is NSNull } || objects.allSatisfy { $0["interval_seconds"] is Double })
        let table = try HushBinary.run(["suggest"] + common)
        #expect(table.output.contains("every 4 s") && table.output.contains("asked at a steady interval"), "\(table.output)")

        let apply = try HushBinary.run(["suggest", "--apply", "a1.kqzw.test"] + common)
        #expect(apply.status == 0, "\(apply.error)")
        let check = try HushBinary.run(["check", "--json", "a1.kqzw.test"] + common)
        #expect(check.output.contains("\"blocked\":true") && check.output.contains("suggested.txt"), "\(check.output)")
        #expect(try HushBinary.run(["suggest", "--dismiss", "cfg.obscure-host.test"] + common).status == 0)
        let after = Set(try report.suggestions(.since("1h")!).map(\.name))
        #expect(!after.contains("a1.kqzw.test") && !after.contains("cfg.obscure-host.test") && after.contains("events.gizmo.test"))
    }
}
