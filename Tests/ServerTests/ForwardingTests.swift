import DNSWire
import Foundation
import Sockets
import Testing
import TestSupport

@Suite struct ForwardingTests {
    @Test func forwardsAndEchoesTheClientsHeaderAndQuestion() throws {
        let server = try TestServer()
        server.upstream.add("example.com", .a("93.184.216.34"))
        let query = DNSTestClient.query("ExAmPlE.CoM", id: 0x4242)
        let reply = try #require(server.udp(query))
        let message = try LDNSMessage(wire: reply)
        #expect(message.id == 0x4242)
        #expect(message.isResponse && message.recursionDesired && message.recursionAvailable)
        #expect(message.rcode == .noError)
        #expect(message.answers.map(\.data) == ["93.184.216.34"])
        #expect(Array(reply[12..<(12 + 13)]) == Array(query[12..<(12 + 13)]), "question echoed byte for byte")
        #expect(!message.hasEDNS, "no OPT in the reply when the query had none")
        let noRD = try #require(server.udp(DNSTestClient.query("example.com", recursionDesired: false)))
        #expect(try !LDNSMessage(wire: noRD).recursionDesired)
    }

    @Test func answersWithOPTWhenAskedWithOne() throws {
        let server = try TestServer()
        server.upstream.add("example.com", .a("1.2.3.4"))
        let reply = try #require(server.udp(DNSTestClient.query("example.com", edns: EDNS(udpSize: 4096))))
        let message = try LDNSMessage(wire: reply)
        #expect(message.hasEDNS && message.ednsUDPSize == 1232)
        let badvers = try #require(server.udp(DNSTestClient.query("example.com", edns: EDNS(version: 1))))
        #expect(try LDNSMessage(wire: badvers).rcode == .badVers)
        #expect(server.upstream.queryCount("example.com") == 1, "BADVERS is answered without going upstream")
    }

    @Test func cachesPositiveAnswersAndCountsTTLDown() throws {
        let server = try TestServer()
        server.upstream.add("cached.test", .a("10.0.0.1", ttl: 100))
        let first = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("cached.test"))))
        #expect(first.answers.first?.ttl == 100)
        Thread.sleep(forTimeInterval: 1.1)
        let second = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("Cached.Test"))))
        #expect(second.answers.first?.data == "10.0.0.1")
        #expect((second.answers.first?.ttl ?? 100) < 100)
        #expect(server.upstream.queryCount("cached.test") == 1)
    }

    @Test func cachesNegativeAnswersWithTheirSOA() throws {
        let server = try TestServer()
        for _ in 0..<3 {
            let reply = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("missing.test"))))
            #expect(reply.rcode == .nxDomain)
            #expect(reply.authorityCount == 1)
        }
        server.upstream.add("nodata.test", .txt("hello"))
        for _ in 0..<2 {
            let reply = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("nodata.test", .aaaa))))
            #expect(reply.rcode == .noError && reply.answerCount == 0 && reply.authorityCount == 1)
        }
        #expect(server.upstream.queryCount("missing.test") == 1)
        #expect(server.upstream.queryCount("nodata.test") == 1)
    }

    @Test func maxTTLCapsCachedAnswers() throws {
        let server = try TestServer(configure: { $0.cacheMaxTTL = 60 })
        server.upstream.add("long.test", .a("10.0.0.2", ttl: 3600))
        _ = server.udp(DNSTestClient.query("long.test"))
        let cached = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("long.test"))))
        #expect((cached.answers.first?.ttl ?? 999) <= 60)
    }

    @Test func identicalConcurrentMissesGoUpstreamOnce() throws {
        let server = try TestServer()
        server.upstream.add("slow.test", .a("10.0.0.3"))
        server.upstream.set(.delay(milliseconds: 200))
        let group = DispatchGroup()
        let replies = LockedCounter()
        for _ in 0..<10 {
            group.enter()
            DispatchQueue.global().async {
                if let reply = server.udp(DNSTestClient.query("slow.test")), (try? LDNSMessage(wire: reply))?.answerCount == 1 {
                    replies.increment()
                }
                group.leave()
            }
        }
        group.wait()
        #expect(replies.value == 10)
        #expect(server.upstream.queryCount("slow.test") == 1)
    }

    /// Thousands of different misses in flight at once (a cache-miss benchmark, a device scanning names)
    /// are all answered, from source ports that keep changing (RFC 5452).
    @Test func aBurstOfDistinctMissesIsAnsweredInFullFromChangingPorts() throws {
        let server = try TestServer(configure: { $0.rateLimit = nil })
        let fd = socket(server.address.family, Socket.udp, 0)
        defer { close(fd) }
        _ = hushTestSetTimeout(fd, milliseconds: 3000)
        let total = 4_000
        var answered = Set<UInt16>()
        var buffer = [UInt8](repeating: 0, count: 4096)
        // In waves of 100 outstanding: more could overflow this client's own receive buffer (208 KiB on a
        // stock kernel), and that loss would not be Hush's.
        for wave in stride(from: 0, to: total, by: 100) {
            for i in wave..<(wave + 100) {
                _ = Socket.sendDatagram(DNSTestClient.query("m\(i).burst.test", id: UInt16(i)), on: fd, to: server.address)
            }
            while answered.count < wave + 100 {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n >= 12 else { break }
                #expect(buffer[3] & 0x0F == 3, "NXDOMAIN from the stub")
                answered.insert(UInt16(buffer[0]) << 8 | UInt16(buffer[1]))
            }
        }
        #expect(answered.count == total)
        #expect(server.upstream.queries.count >= total, "each went upstream (a slow machine may retry a few)")
        #expect(server.upstream.sourcePorts.count > 8, "sockets are replaced as they are used")
    }

    @Test func largeAnswersAreTruncatedOverUDPAndWholeOverTCP() throws {
        let server = try TestServer()
        for i in 0..<60 { server.upstream.add("big.test", .a("10.1.0.\(i)")) }
        let udp = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("big.test"))))
        #expect(udp.isTruncated && udp.answerCount == 0)
        let tcp = try DNSTestClient.tcp([DNSTestClient.query("big.test")], to: server.address)
        let whole = try LDNSMessage(wire: tcp[0])
        #expect(!whole.isTruncated && whole.answerCount == 60)
        let edns = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("big.test", edns: EDNS(udpSize: 1232)))))
        #expect(!edns.isTruncated && edns.answerCount == 60, "60 A records fit in 1232 bytes")
    }

    @Test func truncatedUpstreamReplyIsRetriedOverTCP() throws {
        let server = try TestServer()
        server.upstream.add("tc.test", .a("10.2.0.1"))
        server.upstream.set(.truncateUDP)
        let reply = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("tc.test"))))
        #expect(reply.answers.map(\.data) == ["10.2.0.1"])
        #expect(server.upstream.queryCount("tc.test") == 2, "once over UDP, once over TCP")
    }

    @Test func failsOverToTheNextUpstream() throws {
        let silent = try StubUpstream()
        silent.set(.silent)
        let server = try TestServer(configure: { config in
            config.upstreams.insert(.plain(silent.address), at: 0)
        })
        server.upstream.add("failover.test", .a("10.3.0.1"))
        let reply = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("failover.test"))))
        #expect(reply.answers.map(\.data) == ["10.3.0.1"])
        #expect(silent.queryCount("failover.test") == 1)
    }

    @Test func servfailInBoundedTimeWhenNoUpstreamAnswers() throws {
        let server = try TestServer()
        server.upstream.set(.silent)
        server.upstream.add("answered.test", .a("10.4.0.1"))
        let started = Date()
        let reply = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("dead.test"))))
        #expect(reply.rcode == .servFail)
        #expect(Date().timeIntervalSince(started) < 2.0, "two tries of 400 ms")
    }

    @Test func ignoresRepliesWithTheWrongIDOrQuestion() throws {
        for behaviour in [StubUpstream.Behaviour.wrongID, .wrongQuestion, .garbage] {
            let server = try TestServer()
            server.upstream.add("spoof.test", .a("10.5.0.1"))
            server.upstream.set(behaviour)
            let reply = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("spoof.test"))))
            #expect(reply.rcode == .servFail, "\(behaviour) must not be accepted")
        }
    }

    @Test func servesStaleWhenUpstreamFails() throws {
        let server = try TestServer()
        server.upstream.add("stale.test", .a("10.6.0.1", ttl: 1))
        _ = server.udp(DNSTestClient.query("stale.test"))
        server.upstream.set(.silent)
        Thread.sleep(forTimeInterval: 1.2)
        let reply = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("stale.test"))))
        #expect(reply.answers.map(\.data) == ["10.6.0.1"])
        #expect((reply.answers.first?.ttl ?? 99) <= 30)
    }

    @Test func refusesClientsOutsideTheAllowedRanges() throws {
        let server = try TestServer(configure: { $0.allowedClients = [AddressRange("192.168.0.0/16")!] })
        server.upstream.add("example.com", .a("1.2.3.4"))
        let reply = try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("example.com"))))
        #expect(reply.rcode == .refused)
        #expect(server.upstream.queries.isEmpty)
    }

    @Test func malformedPacketsGetFormerrOrNothing() throws {
        let server = try TestServer()
        var twoQuestions = DNSTestClient.query("a.test")
        twoQuestions[5] = 2
        #expect(try LDNSMessage(wire: try #require(server.udp(twoQuestions))).rcode == .formErr)
        let notify = DNSTestClient.query("a.test", opcode: 4)
        #expect(try LDNSMessage(wire: try #require(server.udp(notify))).rcode == .notImp)
        var response = DNSTestClient.query("a.test")
        response[2] |= 0x80
        #expect(server.udp(response, timeoutMilliseconds: 300) == nil, "never reply to QR=1")
        #expect(server.udp([0xFF, 0x00, 0x01], timeoutMilliseconds: 300) == nil)
        // And the server still answers.
        server.upstream.add("after.test", .a("10.7.0.1"))
        #expect(try LDNSMessage(wire: try #require(server.udp(DNSTestClient.query("after.test")))).answerCount == 1)
    }
}

@Suite struct IPv6Tests {
    @Test func listensAndAnswersOnIPv6Loopback() throws {
        let server = try TestServer(configure: { $0.listen = [SocketAddress("[::1]:0")!] })
        server.upstream.add("six.test", .a("10.0.6.6"))
        #expect(server.address.ip == IPAddress("::1"))
        let reply = try #require(DNSTestClient.udp(DNSTestClient.query("six.test"), to: server.address, from: "::1"))
        #expect(try LDNSMessage(wire: reply).answers.map(\.data) == ["10.0.6.6"])
        let tcp = try DNSTestClient.tcp([DNSTestClient.query("six.test")], to: server.address)
        #expect(try LDNSMessage(wire: tcp[0]).answerCount == 1)
    }
}
