import DNSWire
import Foundation
import Glibc
import HushApp
import Sockets
import Stats
import Testing
import TestSupport

/// A NOTIFY_SOCKET of our own: a Unix datagram socket that collects what Hush tells systemd.
final class NotifyListener: @unchecked Sendable {
    let path: String
    let fd: Int32

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("hush-notify-\(UUID().uuidString.prefix(8))").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        _ = hushTestSetTimeout(fd, milliseconds: 10_000)
    }

    deinit { close(fd); unlink(path) }

    /// Waits for the next message (nil after 10 s).
    func next() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }
}

@Suite(.serialized) struct ServiceTests {
    @Test func notifiesReadyStoppingAndReloadsOnSIGHUP() throws {
        let upstream = try StubUpstream()
        upstream.add("later.test", .a("10.0.0.7"))
        let notify = NotifyListener()
        let list = TestServer.listFile("mine.txt", "first.test\n")
        let database = TestFiles.databasePath()
        let port = try HushBinary.freePort()
        let process = Process()
        process.executableURL = HushBinary.url
        process.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--upstream", "\(upstream.address)", "--no-bundled-lists",
                             "--blocklist", list, "--stats-db", database, "--privacy", "all"]
        process.environment = ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let server = SocketAddress(ip: .v4(0x7F00_0001), port: port)

        let ready = try #require(notify.next())
        #expect(ready.hasPrefix("READY=1"))
        let first = try #require(DNSTestClient.udp(DNSTestClient.query("first.test"), to: server, timeoutMilliseconds: 1000),
                                 "answering as soon as READY=1 arrives")
        #expect(try LDNSMessage(wire: first).answers.map(\.data) == ["0.0.0.0"])
        #expect(notify.next() == "WATCHDOG=1", "a watchdog ping within half of WATCHDOG_USEC")

        // SIGHUP with a changed list while a client keeps asking: every query is answered.
        try "first.test\nlater.test\n".write(toFile: list, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        var answered = 0
        var blocked = false
        for _ in 0..<200 {
            if let reply = DNSTestClient.udp(DNSTestClient.query("later.test"), to: server, timeoutMilliseconds: 1000) {
                answered += 1
                if try LDNSMessage(wire: reply).answers.map(\.data) == ["0.0.0.0"] { blocked = true; break }
            }
            usleep(10_000)
        }
        #expect(blocked, "the changed list is in force after SIGHUP")
        #expect(answered >= 1)

        kill(process.processIdentifier, SIGTERM)
        var messages: [String] = []
        while let message = notify.next(), !message.hasPrefix("STOPPING") { messages.append(message) }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let report = StatsReport(store: try StatsStore.openForReading(path: database))
        #expect(try report.log(after: 0).filter { $0.name == "later.test" }.count >= 1, "stats flushed on SIGTERM")
    }

    @Test func unitsVerifyAndScoreOK() throws {
        let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let tool = try #require(analyze, "systemd-analyze is installed by scripts/install-deps")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hush-units-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let units = ["hush.service", "hush-lists-update.service", "hush-lists-update.timer"]
        for unit in units {
            let text = try String(contentsOf: Repository.root.appendingPathComponent("systemd/\(unit)"), encoding: .utf8)
            try text.replacingOccurrences(of: "/usr/local/bin/hush", with: HushBinary.url.path)
                .write(to: directory.appendingPathComponent(unit), atomically: true, encoding: .utf8)
        }
        func run(_ arguments: [String]) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, output)
        }
        let (status, output) = try run(["verify", "--man=no"] + units.map { directory.appendingPathComponent($0).path })
        #expect(status == 0, "\(output)")
        let (_, security) = try run(["security", "--offline=true", directory.appendingPathComponent("hush.service").path])
        let verdict = security.split(separator: "\n").last { $0.contains("Overall exposure level") } ?? ""
        #expect(verdict.contains(" OK") || verdict.contains(" SAFE"), "\(verdict)")
    }

    @Test func installedDefaultConfigDecodes() throws {
        let config = try HushConfig.load(path: Repository.root.appendingPathComponent("systemd/hush.toml").path)
        #expect(config.listen.map(\.port) == [53, 53])
        #expect(config.stateDirectory == "/var/lib/hush" && config.refreshHours == 0)
    }

    @Test func metricsCountWhatWasAnswered() throws {
        let list = TestServer.listFile("xiaomi.txt", "# Vendor: Xiaomi\n# Category: vendor-telemetry\nsa.api.intl.miui.com\n")
        let server = try TestServer(configure: { config in
            config.blocklists = [list]
            config.metricsListen = SocketAddress("127.0.0.1:0")
        })
        server.upstream.add("example.com", .a("1.2.3.4"))
        for _ in 0..<3 { _ = server.udp(DNSTestClient.query("sa.api.intl.miui.com")) }
        for _ in 0..<2 { _ = server.udp(DNSTestClient.query("example.com")) }
        _ = try DNSTestClient.tcp([DNSTestClient.query("sa.api.intl.miui.com")], to: server.address)
        let metricsAddress = try #require(server.service.metricsServer?.address)
        let fd = try Socket.connectedTCP(to: metricsAddress, timeoutMilliseconds: 2000)
        defer { close(fd) }
        try Socket.writeAll(fd, Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(text.contains("hush_queries_total{disposition=\"blocked\"} 4"))
        #expect(text.contains("hush_queries_by_transport_total{transport=\"udp\"} 5"))
        #expect(text.contains("hush_queries_by_transport_total{transport=\"tcp\"} 1"))
        #expect(text.contains("hush_queries_by_transport_total{transport=\"tls\"} 0"))
        #expect(text.contains("hush_queries_total{disposition=\"forwarded\"} 1"))
        #expect(text.contains("hush_queries_total{disposition=\"cached\"} 1"))
        #expect(text.contains("hush_blocked_total{vendor=\"Xiaomi\",category=\"vendor-telemetry\"} 4"))
        #expect(text.contains("hush_upstream_latency_seconds_count 1"))
        #expect(text.contains("hush_list_rules{list=\"xiaomi.txt\"} 1"))
        #expect(text.contains("hush_cache_entries 1"))
    }

    @Test func aReloadAppliesListSettingsAndNamesTheRest() throws {
        var before = try HushConfig.parse(text: "[server]\nlisten = [\"127.0.0.1:5300\"]\n[devices]\nlease-files = []\n", path: "hush.toml")
        try before.set("blocking.ttl", .integer(60), from: "--block-ttl")
        before.commandLineBlocklists = ["/tmp/from-the-command-line.txt"]
        let changed = try ConfigFile(text: """
            [server]
            listen = ["127.0.0.1:5353"]
            [blocking]
            blocklists = ["/tmp/x.txt"]
            [devices]
            lease-files = ["/tmp/leases"]
            [device-names]
            "aa:bb:cc:dd:ee:ff" = "TV"
            [log]
            level = "debug"
            """, path: "hush.toml")
        let outcome = try before.reloaded(with: changed)
        #expect(outcome.needRestart == ["log.level", "server.listen"])
        #expect(outcome.applied == ["blocking.blocklists", "device-names.aa:bb:cc:dd:ee:ff", "devices.lease-files"])
        let after = outcome.config
        #expect(after.blocklists == ["/tmp/x.txt"] && after.listen != [SocketAddress("127.0.0.1:5353")!])
        #expect(after.leaseFiles == ["/tmp/leases"] && after.deviceNames["aa:bb:cc:dd:ee:ff"] == "TV")
        #expect(after.blockPolicy.ttl == 60, "a flag applies again over the re-read file")
        #expect(after.commandLineBlocklists == ["/tmp/from-the-command-line.txt"])
        #expect(after.logLevel == .info, "the log level needs a restart")
    }

    @Test func aFlagIsCheckedByItsKeysRule() {
        var config = HushConfig()
        #expect(throws: ConfigError.self) { try config.set("blocking.mode", .string("sometimes"), from: "--block-mode") }
        do {
            try config.set("upstream.servers", .strings(["not an address"]), from: "--upstream")
            Issue.record("a bad address is refused")
        } catch {
            #expect(error.description == "--upstream: \"not an address\" is not an upstream such as 192.168.1.1, tls://9.9.9.9#dns.quad9.net or https://dns.quad9.net/dns-query")
        }
    }
}
