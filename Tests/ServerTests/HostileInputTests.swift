import DNSWire
import Foundation
import Glibc
import HushApp
import Resolver
import Sockets
import Testing
import TestSupport

@Suite struct HostileInputTests {
    @Test func aFloodFromOneClientIsLimitedAndGetsLessOutThanItSends() throws {
        var limits = RateLimitHandler.Settings()
        limits.perAddressPerSecond = 50
        limits.perAddressBurst = 100
        limits.exempt = []
        let server = try TestServer(configure: { $0.rateLimit = limits })
        // A name with a large answer: what an amplifier would ask for.
        for i in 0..<40 { server.upstream.add("big.test", .txt(String(repeating: "x", count: 200) + "\(i)")) }
        var bytesIn = 0
        var bytesOut = 0
        var truncated = 0
        let query = DNSTestClient.query("big.test", .txt, edns: EDNS(udpSize: 4096))
        for _ in 0..<600 {
            bytesIn += query.count
            guard let reply = server.udp(query, from: "127.0.0.9", timeoutMilliseconds: 100) else { continue }
            bytesOut += reply.count
            if try LDNSMessage(wire: reply).isTruncated { truncated += 1 }
        }
        #expect(truncated >= 200, "every other excess query gets TC=1, the rest nothing")
        #expect(bytesOut < bytesIn, "out \(bytesOut) bytes for \(bytesIn) in")
        // Another address is not affected, and TCP still works for the limited one.
        server.upstream.add("ok.test", .a("10.0.0.1"))
        #expect(try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("ok.test"), from: "127.0.1.9"))).answerCount == 1)
        #expect(server.recorder.dispositions.contains { $0.disposition == .rateLimited })
    }

    /// A next stage that always answers, so the limiter's own decisions can be counted.
    struct Answering: Resolving {
        func resolve(_ request: Request) -> Resolution {
            .now(.synthesized(SynthesizedAnswer(rcode: .noError), .cached))
        }
    }

    final class FakeClock: @unchecked Sendable {
        var now = 0.0
    }

    func admitted(_ limiter: RateLimitHandler, _ client: String, _ count: Int) -> Int {
        let query = Query(id: 1, nameWire: DomainName("a.test").wire, name: DomainName("a.test"), type: .a)
        var passed = 0
        for _ in 0..<count {
            guard case .now(let answer) = limiter.resolve(Request(query: query, client: IPAddress(client)!, transport: .udp)) else {
                Issue.record("the limiter and the stage after it answer at once")
                continue
            }
            if answer.disposition != .rateLimited { passed += 1 }
        }
        return passed
    }

    @Test func tokenBucketsRefillAndCoverTheNetwork() {
        let clock = FakeClock()
        var settings = RateLimitHandler.Settings()
        settings.perAddressPerSecond = 10
        settings.perAddressBurst = 10
        settings.perNetworkPerSecond = 15
        settings.perNetworkBurst = 15
        let limiter = RateLimitHandler(settings: settings, next: Answering(), clock: { clock.now })
        #expect(admitted(limiter, "192.168.1.10", 25) == 10, "the burst, then nothing")
        #expect(admitted(limiter, "192.168.1.11", 25) == 5, "the /24 has 5 tokens left")
        #expect(admitted(limiter, "192.168.2.10", 5) == 5, "another /24 is separate")
        clock.now = 0.5
        #expect(admitted(limiter, "192.168.1.10", 25) == 5, "half a second refills 5")
        #expect(admitted(limiter, "2001:db8:1:1::1", 20) == 10)
        #expect(admitted(limiter, "2001:db8:1:1::2", 20) == 5, "the /56 is shared")
    }
}

@Suite struct UpstreamFaultTests {
    @Test func aSlowUpstreamTimesOutThenRecovers() throws {
        let server = try TestServer()
        server.upstream.add("slow.test", .a("10.0.0.1"))
        server.upstream.add("blocked-meanwhile.test", .a("10.0.0.2"))
        server.upstream.set(.delay(milliseconds: 1500))
        let started = Date()
        let failed = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("slow.test"), timeoutMilliseconds: 4000)))
        #expect(failed.rcode == .servFail && Date().timeIntervalSince(started) < 2.5)
        server.upstream.set(.answer)
        Thread.sleep(forTimeInterval: 1.6)   // let the stub finish its delayed replies
        let recovered = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("slow.test"))))
        #expect(recovered.answers.map(\.data) == ["10.0.0.1"])
    }

    @Test func flappingUpstreamKeepsCachedAndBlockedNamesAnswered() throws {
        let list = TestServer.listFile("l.txt", "tracker.test\n")
        let server = try TestServer(configure: { $0.blocklists = [list] })
        server.upstream.add("cached.test", .a("10.0.0.3", ttl: 300))
        _ = server.udp(DNSTestClient.query("cached.test"))
        for round in 0..<4 {
            server.upstream.set(round % 2 == 0 ? .silent : .answer)
            #expect(try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("cached.test")))).answerCount == 1)
            #expect(try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("tracker.test")))).answers.map(\.data) == ["0.0.0.0"])
        }
    }

    @Test func truncatingUpstreamWithoutTCPGivesSERVFAIL() throws {
        let server = try TestServer()
        server.upstream.add("tc.test", .a("10.0.0.4"))
        server.upstream.set(.truncateUDP)
        server.upstream.stopTCP()
        let reply = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("tc.test"), timeoutMilliseconds: 4000)))
        #expect(reply.rcode == .servFail)
    }
}

@Suite struct PrivilegeTests {
    @Test(.enabled(if: Prerequisites.isRoot, "only root can switch to another user"))
    func rootDropsToTheConfiguredUserAfterBinding() throws {
        let upstream = try StubUpstream()
        upstream.add("x.test", .a("10.0.0.5"))
        let port = try HushBinary.freePort()
        let process = Process()
        process.executableURL = HushBinary.url
        process.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--upstream", "\(upstream.address)", "--no-bundled-lists",
                             "--stats-db", TestFiles.databasePath(), "--user", "nobody"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { kill(process.processIdentifier, SIGTERM); process.waitUntilExit() }
        let server = SocketAddress(ip: .v4(0x7F00_0001), port: port)
        var reply: [UInt8]?
        for _ in 0..<100 where reply == nil {
            reply = DNSTestClient.udp(DNSTestClient.query("x.test"), to: server, timeoutMilliseconds: 200)
            if reply == nil { usleep(100_000) }
        }
        #expect(try LDNSMessage(wire: try #require(reply)).answerCount == 1)
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(separator: "\t").dropFirst().first
        #expect(uid == "65534", "running as nobody: \(String(describing: uid))")
    }
}
