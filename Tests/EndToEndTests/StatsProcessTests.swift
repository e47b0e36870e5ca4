import DNSWire
import Foundation
import Glibc
import Sockets
import Stats
import Testing
import TestSupport

/// The stats against the real binary: what a SIGKILL may lose, what SIGTERM must flush, and the CLI's JSON.
@Suite(.serialized) struct StatsProcessTests {
    struct Running {
        let process: Process
        let address: SocketAddress
        let database: String
    }

    func start(upstream: StubUpstream) throws -> Running {
        let database = TestFiles.databasePath()
        let port = try HushBinary.freePort()
        let process = Process()
        process.executableURL = HushBinary.url
        process.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--upstream", "\(upstream.address)", "--no-bundled-lists",
                             "--blocklist", TestFiles.xiaomiList, "--stats-db", database, "--privacy", "all"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        let address = SocketAddress(ip: .v4(0x7F00_0001), port: port)
        for _ in 0..<100 {
            if DNSTestClient.udp(DNSTestClient.query("ready.sa.api.intl.miui.com"), to: address, timeoutMilliseconds: 200) != nil { break }
            usleep(100_000)
        }
        return Running(process: process, address: address, database: database)
    }

    func recordedNames(_ database: String) throws -> Set<String> {
        let report = StatsReport(store: try StatsStore.openForReading(path: database))
        var names = Set<String>()
        var after: Int64 = 0
        while true {
            let entries = try report.log(after: after, limit: 10_000)
            guard let last = entries.last else { break }
            names.formUnion(entries.map(\.name))
            after = last.id
        }
        return names
    }

    @Test func aSIGKILLLosesAtMostTheLastSecond() throws {
        let upstream = try StubUpstream()
        let running = try start(upstream: upstream)
        defer { if running.process.isRunning { kill(running.process.processIdentifier, SIGKILL) } }
        var answered: [(name: String, at: Date)] = []
        let started = Date()
        var i = 0
        while Date().timeIntervalSince(started) < 2.5 {
            let name = "n\(i).sa.api.intl.miui.com"
            if DNSTestClient.udp(DNSTestClient.query(name), to: running.address, timeoutMilliseconds: 500) != nil {
                answered.append((name, Date()))
            }
            i += 1
        }
        kill(running.process.processIdentifier, SIGKILL)
        running.process.waitUntilExit()
        let killedAt = Date()
        let recorded = try recordedNames(running.database)
        let olderThanASecond = answered.filter { killedAt.timeIntervalSince($0.at) > 1.0 }
        #expect(olderThanASecond.count > 100)
        let lost = olderThanASecond.filter { !recorded.contains($0.name) }
        #expect(lost.isEmpty, "\(lost.count) answers older than a second were lost")
    }

    @Test func SIGTERMFlushesEverything() throws {
        let upstream = try StubUpstream()
        let running = try start(upstream: upstream)
        let names = (0..<200).map { "t\($0).tracking.intl.miui.com" }
        for name in names { _ = DNSTestClient.udp(DNSTestClient.query(name), to: running.address) }
        kill(running.process.processIdentifier, SIGTERM)
        running.process.waitUntilExit()
        #expect(running.process.terminationStatus == 0)
        #expect(try recordedNames(running.database).isSuperset(of: names))
    }

    @Test func theCLIReadsTheDatabaseWhileTheServerRuns() throws {
        let upstream = try StubUpstream()
        let running = try start(upstream: upstream)
        defer { kill(running.process.processIdentifier, SIGTERM); running.process.waitUntilExit() }
        for source in ["127.0.0.2", "127.0.0.3"] {
            _ = DNSTestClient.udp(DNSTestClient.query("sa.api.intl.miui.com"), to: running.address, from: source)
        }
        usleep(700_000)   // within about a second, records are in the file
        let output = try HushBinary.run(["stats", "devices", "--json", "--stats-db", running.database]).output
        let devices = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
        let addresses = Set(devices.flatMap { ($0["addresses"] as? [String]) ?? [] })
        #expect(addresses.isSuperset(of: ["127.0.0.2", "127.0.0.3"]))
        #expect(devices.allSatisfy { $0["blocked"] is Int && $0["first_seen"] is String && $0["top_vendors"] is [String] })
        let device = try HushBinary.run(["stats", "device", "127.0.0.2", "--json", "--stats-db", running.database]).output
        #expect(device.contains("\"vendor\" : \"Xiaomi\""))
        let missing = try HushBinary.run(["stats", "device", "nobody", "--stats-db", running.database])
        #expect(missing.status != 0 && missing.error.contains("no device matches nobody"))
        let none = try HushBinary.run(["stats", "--stats-db", running.database + ".nothing"])
        #expect(none.status != 0 && none.error.contains("no stats database"))
    }
}
