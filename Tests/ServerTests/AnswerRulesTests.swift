import Blocklist
import DNSWire
import Foundation
import HushApp
import Resolver
import Sockets
import Testing
import TestSupport

/// What a strict client checks in every reply, against the real server.
@Suite struct AnswerRulesTests {
    func ask(_ server: TestServer, _ name: String, _ type: RecordType, edns: EDNS? = nil) throws -> LDNSMessage {
        try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query(name, type, edns: edns))))
    }

    /// AA is bit 2 of the third header byte.
    func authoritative(_ reply: [UInt8]) -> Bool { reply[2] & 0x04 != 0 }

    @Test func forwardedAndCachedAnswersAreNotAuthoritative() throws {
        let server = try TestServer()
        server.upstream.add("aa.test", .a("10.0.0.1"))
        for round in ["forwarded", "cached"] {
            let reply = try #require(server.udp(DNSTestClient.query("aa.test")))
            #expect(!authoritative(reply), "the stub upstream sets AA; the \(round) reply must not")
            #expect(try LDNSMessage(wire: reply).answers.map(\.data) == ["10.0.0.1"])
        }
        #expect(server.upstream.queryCount("aa.test") == 1)
    }

    @Test func badVersEchoesTheQuestion() throws {
        let server = try TestServer()
        let query = DNSTestClient.query("Version.Test", .aaaa, edns: EDNS(version: 1))
        let reply = try #require(server.udp(query))
        let message = try LDNSMessage(wire: reply)
        #expect(message.rcode == .badVers)
        #expect(message.questionCount == 1)
        #expect(message.question?.name == "version.test" && message.question?.type == .aaaa)
        // Byte for byte, letter case included: the question is what clients match the reply on.
        let questionLength = query.count - 12 - 11
        #expect(Array(reply[12..<12 + questionLength]) == Array(query[12..<12 + questionLength]))
        #expect(message.hasEDNS && message.ednsVersion == 0)
    }

    @Test func anyForAnExistingNameGetsOneHINFOOverUDPAndEverythingOverTCP() throws {
        let server = try TestServer()
        server.upstream.add("many.test", .a("10.0.0.1"), .a("10.0.0.2"), .txt("hello"))
        let udp = try ask(server, "many.test", .any)
        #expect(udp.rcode == .noError)
        #expect(udp.answers.count == 1 && udp.answers[0].type == .hinfo)
        #expect(udp.answers[0].data.lowercased().contains("rfc8482"))
        #expect(server.recorder.last("many.test") == .minimalAny)
        let tcp = try LDNSMessage(wire: try #require(DNSTestClient.tcp([DNSTestClient.query("many.test", .any)], to: server.address).first))
        #expect(tcp.answers.count == 3, "a TCP client cannot be spoofed and gets the whole answer")
    }

    @Test func anyKeepsTheNamesRealStatus() throws {
        let server = try TestServer()
        server.upstream.add("alias.test", .cname("target.test"))
        server.upstream.add("target.test", .a("10.0.0.9"))
        #expect(try ask(server, "missing.test", .any).rcode == .nxDomain)
        let alias = try ask(server, "alias.test", .any)
        #expect(alias.rcode == .noError)
        #expect(alias.answers.contains { $0.type == .cname && $0.data == "target.test" })
        #expect(!alias.answers.contains { $0.type == .hinfo }, "RFC 8482 4.2: no HINFO where a CNAME exists")
        server.upstream.set(.silent)
        #expect(try ask(server, "failing.test", .any).rcode == .servFail)
    }

    @Test func anyForABlockedNameIsBlocked() throws {
        let list = TestServer.listFile("block.txt", "tracking.test\n")
        for (mode, rcode) in [(BlockPolicy.Mode.null, RCode.noError), (.nxdomain, .nxDomain)] {
            let server = try TestServer(configure: {
                $0.blocklists = [list]
                $0.blockPolicy = BlockPolicy(mode: mode, ttl: 300)
            })
            let reply = try ask(server, "x.tracking.test", .any)
            #expect(reply.rcode == rcode)
            #expect(reply.answers.isEmpty)
            #expect(server.recorder.last("x.tracking.test")?.isBlocked == true)
            #expect(server.upstream.queries.isEmpty)
        }
    }
}

@Suite struct RateLimitTests {
    @Test func loopbackIsExemptByDefault() throws {
        var limits = RateLimitHandler.Settings()
        limits.perAddressPerSecond = 5
        limits.perAddressBurst = 5
        let server = try TestServer(configure: { $0.rateLimit = limits })
        server.upstream.add("local.test", .a("10.0.0.1"))
        let queries = (0..<2000).map { _ in DNSTestClient.query("local.test") }
        let replies = DNSTestClient.flood(queries, to: server.address, from: "127.0.0.1", window: 50)
        #expect(replies.count == 2000, "a forwarder on this machine is never limited")
        #expect(!server.recorder.dispositions.contains { $0.disposition == .rateLimited })
    }

    @Test func aFloodForLargeAnswersGetsBackAtMostTwiceWhatItSends() throws {
        var limits = RateLimitHandler.Settings()
        limits.exempt = []
        let server = try TestServer(configure: { $0.rateLimit = limits })
        // About 950 bytes of answer.
        for i in 0..<4 { server.upstream.add("big.test", .txt(String(repeating: "x", count: 220) + "\(i)")) }
        let query = DNSTestClient.query("big.test", .txt, edns: EDNS(udpSize: 4096))
        #expect(try LDNSMessage(wire: try #require(server.udp(query, from: "127.0.0.9"))).answerCount == 4)
        let replies = DNSTestClient.flood(Array(repeating: query, count: 3000), to: server.address, from: "127.0.0.9")
        let sent = 3001 * query.count
        let received = replies.reduce(0, +) + 950
        #expect(received <= 2 * sent, "\(received) bytes back for \(sent) sent")
        #expect(replies.contains { $0 > 900 }, "the first answers were whole")
        #expect(server.recorder.dispositions.contains { $0.disposition == .rateLimited })
    }

    @Test func ordinaryBurstsAreNeverLimited() throws {
        var limits = RateLimitHandler.Settings()
        limits.exempt = []
        let server = try TestServer(configure: { $0.rateLimit = limits })
        for i in 0..<300 { server.upstream.add("name\(i).test", .a("10.0.\(i / 256).\(i % 256)"), .a("10.1.0.1")) }
        // A burst of 300 names at once, then a page load's 60 names twice over with cache hits.
        let burst = (0..<300).map { DNSTestClient.query("name\($0).test", edns: EDNS()) }
        let first = DNSTestClient.flood(burst, to: server.address, from: "127.0.0.7")
        let page = (0..<60).map { DNSTestClient.query("name\($0).test", .a, edns: EDNS()) }
        let second = DNSTestClient.flood(page + page, to: server.address, from: "127.0.0.7")
        #expect(first.count == 300 && second.count == 120)
        #expect(!server.recorder.dispositions.contains { $0.disposition == .rateLimited })
    }
}
