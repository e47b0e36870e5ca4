import DNSWire
import Foundation
import Glibc
import HushApp
import Resolver
import Sockets
import Testing
import TestSupport

/// `hush lists catalog/add/show/remove` against a local HTTP server and a running `hush serve`, and the
/// names that let a device slip past Hush.
@Suite(.serialized) struct ListCatalogueTests {
    /// A bundled-lists folder with the real allowlist and a catalogue whose one entry is served locally.
    func folder(_ http: TestHTTPServer) throws -> (lists: String, state: String, config: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hush-catalogue-\(UUID().uuidString)")
        let lists = root.appendingPathComponent("blocklists").path
        try FileManager.default.createDirectory(atPath: lists, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Repository.blocklists + "/allowlist.txt", toPath: lists + "/allowlist.txt")
        try """
            # A test catalogue.
            [local-trackers]
            title = "Local trackers"
            url = "\(http.url("/trackers.txt"))"
            vendor = "Acme TV"
            category = "vendor-telemetry"
            licence = "MIT"
            size = "3 names"
            breaks = "nothing reported"
            """.write(toFile: lists + "/catalog.toml", atomically: true, encoding: .utf8)
        let config = root.appendingPathComponent("hush.toml").path
        try """
            # My config: this comment must survive.
            [blocking]
            mode = "nxdomain"   # and this one
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return (lists, root.appendingPathComponent("state").path, config)
    }

    @Test func addFetchesWritesTheConfigAndReloadsTheRunningServer() throws {
        let http = try TestHTTPServer()
        // The subscription also lists the Xiaomi captive-portal check: the bundled allowlist must win over it.
        http.set("/trackers.txt", .init(body: "acr.acme-tv.test\n||log*.acme-tv.test^\nconnect.rom.miui.com\n"))
        let (lists, state, config) = try folder(http)
        let upstream = try StubUpstream()
        upstream.add("connect.rom.miui.com", .a("10.0.0.5"))
        let port = try HushBinary.freePort()
        let server = Process()
        server.executableURL = HushBinary.url
        server.arguments = ["serve", "--config", config, "--lists-dir", lists, "--state-dir", state, "--no-stats",
                            "--listen", "127.0.0.1:\(port)", "--upstream", "\(upstream.address)"]
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { kill(server.processIdentifier, SIGTERM); server.waitUntilExit() }
        let address = SocketAddress(ip: .v4(0x7F00_0001), port: port)
        func rcode(_ name: String) -> RCode? {
            DNSTestClient.udp(DNSTestClient.query(name), to: address, timeoutMilliseconds: 300).flatMap { try? LDNSMessage(wire: $0).rcode }
        }
        for _ in 0..<100 where rcode("ready.test") == nil { usleep(100_000) }
        #expect(rcode("acr.acme-tv.test") == .nxDomain, "the stub has no such name either: NXDOMAIN from upstream")
        upstream.add("log7.acme-tv.test", .a("10.0.0.6"))
        #expect(rcode("log7.acme-tv.test") == .noError, "not blocked before subscribing")

        let catalog = try HushBinary.run(["lists", "catalog", "--config", config, "--lists-dir", lists, "--state-dir", state])
        #expect(catalog.status == 0 && catalog.output.contains("local-trackers") && catalog.output.contains("Acme TV"))

        let add = try HushBinary.run(["lists", "add", "local-trackers", "--config", config, "--lists-dir", lists, "--state-dir", state])
        #expect(add.status == 0, "\(add.output) \(add.error)")
        #expect(add.output.contains("updated") && add.output.contains("reloaded the running Hush"), "\(add.output)")
        let written = try String(contentsOfFile: config, encoding: .utf8)
        #expect(written.contains("# My config: this comment must survive.") && written.contains("# and this one"))
        #expect(try HushConfig.load(path: config).subscriptions.map(\.url.absoluteString) == [http.url("/trackers.txt")])

        var blocked = false
        for _ in 0..<50 where !blocked {
            blocked = rcode("log7.acme-tv.test") == .nxDomain
            if !blocked { usleep(100_000) }
        }
        #expect(blocked, "the running server reloaded and blocks the new list's pattern")
        #expect(rcode("connect.rom.miui.com") == .noError, "the bundled allowlist wins over the subscription")

        let show = try HushBinary.run(["lists", "show", "--config", config, "--lists-dir", lists, "--state-dir", state])
        #expect(show.output.contains(http.url("/trackers.txt")) && show.output.contains("fetched 20"), "\(show.output)")
        #expect(show.output.contains("Acme TV"))

        let again = try HushBinary.run(["lists", "add", "local-trackers", "--config", config, "--lists-dir", lists, "--state-dir", state])
        #expect(again.output.contains("already subscribed"))

        let remove = try HushBinary.run(["lists", "remove", "local-trackers", "--config", config, "--lists-dir", lists, "--state-dir", state])
        #expect(remove.status == 0, "\(remove.output)")
        #expect(try HushConfig.load(path: config).subscriptions.isEmpty)
        var unblocked = false
        for _ in 0..<50 where !unblocked {
            unblocked = rcode("log7.acme-tv.test") == .noError
            if !unblocked { usleep(100_000) }
        }
        #expect(unblocked, "removed and reloaded")
    }

    @Test func aFailedDownloadKeepsTheSubscriptionAndSaysSo() throws {
        let http = try TestHTTPServer()
        http.set("/trackers.txt", .init(status: 500, body: "oops"))
        let (lists, state, config) = try folder(http)
        let add = try HushBinary.run(["lists", "add", "local-trackers", "--config", config, "--lists-dir", lists, "--state-dir", state])
        #expect(add.status != 0)
        #expect(add.output.contains("failed") && add.output.contains("HTTP 500"), "\(add.output)")
        #expect(try HushConfig.load(path: config).subscriptions.count == 1, "fetched again by hush lists update or the schedule")
        let unknown = try HushBinary.run(["lists", "add", "no-such-list", "--config", config, "--lists-dir", lists, "--state-dir", state])
        #expect(unknown.status != 0 && unknown.error.contains("neither a catalogue name"))
    }
}

@Suite struct BypassNamesTests {
    func ask(_ server: TestServer, _ name: String, _ type: RecordType = .a) throws -> LDNSMessage {
        try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query(name, type))))
    }

    @Test func namesThatLetDevicesSlipPastAreAnsweredHere() throws {
        let server = try TestServer()
        for (name, type) in [("use-application-dns.net", RecordType.a), ("mask.icloud.com", .a), ("mask.icloud.com", .https),
                             ("mask-h2.icloud.com", .aaaa)] {
            let reply = try ask(server, name, type)
            #expect(reply.rcode == .nxDomain, "\(name) \(type)")
            #expect(server.recorder.last(name)?.isBlocked == true)
        }
        let discovery = try ask(server, "_dns.resolver.arpa", .svcb)
        #expect(discovery.rcode == .noError && discovery.answers.isEmpty, "NODATA")
        #expect(server.upstream.queries.isEmpty)
        #expect(server.recorder.last("mask.icloud.com")?.listMatch?.list.name == "Bypass protection")
    }

    @Test func eachCanBeSwitchedOff() throws {
        let server = try TestServer(configure: {
            $0.bypass.dohCanary = false
            $0.bypass.privateRelay = false
            $0.bypass.resolverDiscovery = false
        })
        server.upstream.add("mask.icloud.com", .a("17.0.0.1"))
        #expect(try ask(server, "mask.icloud.com").answers.map(\.data) == ["17.0.0.1"])
        _ = try ask(server, "use-application-dns.net")
        #expect(server.upstream.queryCount("use-application-dns.net") == 1)
    }

    @Test func theConfigSwitchesThem() throws {
        let config = try HushConfig.parse(text: "[blocking]\ndoh-canary = false\nprivate-relay = true\nresolver-arpa = false\nbundled-optional = [\"doh-resolvers\"]\n", path: "t.toml")
        #expect(!config.bypass.dohCanary && config.bypass.privateRelay && !config.bypass.resolverDiscovery)
        #expect(config.bundledOptional == ["doh-resolvers"])
    }
}
