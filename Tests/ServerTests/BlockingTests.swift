import Blocklist
import DNSWire
import Foundation
import HushApp
import Resolver
import Testing
import TestSupport

@Suite struct BlockingTests {
    static let list = TestServer.listFile("xiaomi.txt", """
        # Name: Xiaomi telemetry
        # Category: vendor-telemetry
        # Vendor: Xiaomi
        sa.api.intl.miui.com
        tracking.miui.com
        tracker.cdn.test
        """)

    func server(mode: BlockPolicy.Mode = .null, allowlist: String? = nil) throws -> TestServer {
        try TestServer(configure: { config in
            config.blocklists = [Self.list]
            config.allowlists = allowlist.map { [$0] } ?? []
            config.blockPolicy = BlockPolicy(mode: mode, ttl: 600)
        })
    }

    func ask(_ server: TestServer, _ name: String, _ type: RecordType = .a, edns: EDNS? = nil) throws -> LDNSMessage {
        try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query(name, type, edns: edns))))
    }

    @Test func nullModeAnswersEveryTypeLocally() throws {
        let server = try server()
        let a = try ask(server, "sa.api.intl.miui.com")
        #expect(a.answers.map(\.data) == ["0.0.0.0"] && a.answers.first?.ttl == 600)
        let aaaa = try ask(server, "x.tracking.miui.com", .aaaa)
        #expect(aaaa.answers.map(\.data) == ["::"])
        for type in [RecordType.https, .svcb, .mx, .txt] {
            let reply = try ask(server, "tracking.miui.com", type)
            #expect(reply.rcode == .noError && reply.answerCount == 0 && reply.authorityCount == 1, "\(type): NODATA with SOA")
        }
        #expect(server.upstream.queries.isEmpty, "blocked names never leave")
        #expect(server.recorder.last("sa.api.intl.miui.com")?.listMatch?.list.vendor == "Xiaomi")
    }

    @Test func otherModes() throws {
        let nx = try ask(try server(mode: .nxdomain), "tracking.miui.com", .a)
        #expect(nx.rcode == .nxDomain && nx.authorityCount == 1)
        #expect(try ask(try server(mode: .refused), "tracking.miui.com").rcode == .refused)
        let custom = try server(mode: HushConfig.blockMode("10.0.0.53")!)
        #expect(try ask(custom, "tracking.miui.com").answers.map(\.data) == ["10.0.0.53"])
        let noV6 = try ask(custom, "tracking.miui.com", .aaaa)
        #expect(noV6.answerCount == 0 && noV6.authorityCount == 1, "no IPv6 address given: NODATA")
    }

    @Test func extendedErrorNamesTheListOnlyForEDNSClients() throws {
        let server = try server()
        let withEDNS = try ask(server, "tracking.miui.com", edns: EDNS())
        #expect(String(decoding: withEDNS.ednsData.dropFirst(6), as: UTF8.self) == "blocked by xiaomi.txt")
        #expect(Array(withEDNS.ednsData.prefix(6)) == [0, 15, 0, 23, 0, 15])
        #expect(!(try ask(server, "tracking.miui.com")).hasEDNS)
    }

    @Test func cnameToABlockedNameIsBlockedEvenFromCache() throws {
        let server = try server()
        server.upstream.add("innocent.test", .cname("tracker.cdn.test"))
        server.upstream.add("tracker.cdn.test", .a("198.51.100.7"))
        server.upstream.add("fine.test", .cname("cdn.fine.test"))
        server.upstream.add("cdn.fine.test", .a("198.51.100.8"))
        for _ in 0..<2 {
            let reply = try ask(server, "innocent.test")
            #expect(reply.answers.map(\.data) == ["0.0.0.0"])
            guard case .blockedByCNAME(let cname, let match)? = server.recorder.last("innocent.test") else {
                Issue.record("expected blockedByCNAME, got \(String(describing: server.recorder.last("innocent.test")))"); return
            }
            #expect(cname == "tracker.cdn.test" && match.rule == "tracker.cdn.test")
        }
        #expect(server.upstream.queryCount("innocent.test") == 1, "the second answer came from the cache")
        #expect(try ask(server, "fine.test").answers.last?.data == "198.51.100.8")
    }

    @Test func allowlistWins() throws {
        let allow = TestServer.listFile("allow.txt", "api.intl.miui.com\n")
        let server = try server(allowlist: allow)
        server.upstream.add("sa.api.intl.miui.com", .a("203.0.113.9"))
        #expect(try ask(server, "sa.api.intl.miui.com").answers.map(\.data) == ["203.0.113.9"])
        #expect(try ask(server, "tracking.miui.com").answers.map(\.data) == ["0.0.0.0"])
    }

    @Test func reloadUnderLoadLosesNoQuery() throws {
        let path = TestServer.listFile("reload.txt", "first.test\n")
        let server = try TestServer(configure: { $0.blocklists = [path] })
        server.upstream.add("steady.test", .a("10.0.0.1"))
        let stop = LockedFlag()
        let answered = LockedCounter()
        let sent = LockedCounter()
        let load = Thread {
            while !stop.value {
                sent.increment()
                if let reply = server.udp(DNSTestClient.query(sent.value % 2 == 0 ? "steady.test" : "first.test"), timeoutMilliseconds: 1000),
                   (try? LDNSMessage(wire: reply))?.answerCount == 1 {
                    answered.increment()
                }
            }
        }
        load.start()
        // Reload until the load thread has sent a fair number of queries across the swaps.
        var round = 0
        let deadline = Date().addingTimeInterval(10)
        while round < 20 || (sent.value < 200 && Date() < deadline) {
            try (round % 2 == 0 ? "first.test\nsecond.test\n" : "first.test\n").write(toFile: path, atomically: true, encoding: .utf8)
            #expect(server.service.loadLists())
            round += 1
        }
        try "first.test\nsecond.test\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(server.service.loadLists())
        stop.set()
        while !load.isFinished { usleep(10_000) }
        #expect(sent.value >= 200)
        #expect(answered.value == sent.value, "every query answered during \(round + 1) reloads")
        #expect(try ask(server, "second.test").answers.map(\.data) == ["0.0.0.0"])
    }

    @Test func aListThatCannotBeReadKeepsTheOldLists() throws {
        let path = TestServer.listFile("gone.txt", "gone.test\n")
        let server = try TestServer(configure: { $0.blocklists = [path] })
        try FileManager.default.removeItem(atPath: path)
        #expect(!server.service.loadLists())
        #expect(try ask(server, "gone.test").answers.map(\.data) == ["0.0.0.0"])
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
