import DNSWire
import Foundation
import Glibc
import HushApp
import Locking
import Resolver
import Sockets
import Testing
import TestSupport

/// Hush forwarding over DNS over TLS and HTTPS to real peers: unbound with a certificate the test makes,
/// and another Hush.
@Suite(.serialized, .enabled(if: Prerequisites.hasEncryptedPeers, "needs openssl, unbound and kdig (scripts/test installs them)"))
struct EncryptedUpstreamTests {
    static let records = ["a.test. 300 A 10.0.0.1", "b.test. 300 A 10.0.0.2", "dns.test. 300 A 127.0.0.1"]

    /// A Hush whose upstreams are `servers`, trusting the test CA for each encrypted one.
    static func hush(_ servers: [String], caFile: String?, timeout: Int = 1500, configure: (inout HushConfig) -> Void = { _ in }) throws -> TestServer {
        try TestServer(configure: { config in
            config.upstreams = servers.map { UpstreamSpec($0)! }
            config.upstreamTimeoutMilliseconds = timeout
            if let caFile { for server in servers where server.contains("://") { config.upstreamCAFiles[server] = caFile } }
            configure(&config)
        })
    }

    static func answer(_ server: TestServer, _ name: String) -> String? {
        guard let reply = server.udp(DNSTestClient.query(name), timeoutMilliseconds: 5000),
              let message = try? LDNSMessage(wire: reply) else { return nil }
        return message.answers.first { $0.type == .a }?.data ?? "\(message.rcode)"
    }

    /// A Hush serving DoT (its self-signed certificate) in front of its stub upstream, and the upstream
    /// entry that reaches it with the CA file that trusts it.
    static func dotServer(timeout: Int = 1500) throws -> (server: TestServer, upstream: String, caFile: String) {
        let server = try TestServer(configure: { config in
            config.tlsListen = [SocketAddress("127.0.0.1:0")!]
            config.stateDirectory = TestFiles.directory("state")
            config.upstreamTimeoutMilliseconds = timeout
        })
        let port = server.service.encryptedListeners!.tlsAddresses[0].port
        return (server, "tls://127.0.0.1:\(port)#hush.lan", server.service.config.stateDirectory + "/tls/hush-tls.crt")
    }

    @Test func forwardsOverTLSAndHTTPSToUnbound() throws {
        let certificates = try TestCertificates()
        let unbound = try UnboundPeer(certificates: certificates, records: Self.records)
        for upstream in ["tls://\(unbound.tlsAddress)#dns.test", "https://dns.test:\(unbound.httpsPort)/dns-query#127.0.0.1"] {
            let hush = try Self.hush([upstream], caFile: certificates.ca)
            #expect(Self.answer(hush, "a.test") == "10.0.0.1", "\(upstream)")
            #expect(Self.answer(hush, "b.test") == "10.0.0.2", "\(upstream)")
            guard case .forwarded(let via, _)? = hush.recorder.last("a.test") else {
                Issue.record("a.test was not forwarded over \(upstream)")
                continue
            }
            #expect(via == upstream.replacingOccurrences(of: "#127.0.0.1", with: ""))
        }
        // A DoH server given by name alone: its address comes from the bootstrap server, not from Hush.
        let bootstrapped = try Self.hush(["https://dns.test:\(unbound.httpsPort)/dns-query"], caFile: certificates.ca) { config in
            config.bootstrap = [SocketAddress("127.0.0.1:\(unbound.plainPort)")!]
        }
        #expect(Self.answer(bootstrapped, "b.test") == "10.0.0.2")
        // With no host name given, the certificate must name the address.
        let byName = try Self.hush(["tls://\(unbound.tlsAddress)"], caFile: certificates.ca)
        #expect(Self.answer(byName, "a.test") == "SERVFAIL")
        let addressed = try UnboundPeer(certificates: certificates, records: Self.records, certificate: certificates.addressedCertificate)
        let byAddress = try Self.hush(["tls://\(addressed.tlsAddress)"], caFile: certificates.ca)
        #expect(Self.answer(byAddress, "a.test") == "10.0.0.1")
    }

    @Test func aRefusedCertificateIsNamedAndNeverFallsBackToPlainText() throws {
        let certificates = try TestCertificates()
        let unbound = try UnboundPeer(certificates: certificates, records: Self.records)
        let cases = [
            ("tls://\(unbound.tlsAddress)#dns.test", certificates.otherCA, "certificate refused"),
            ("tls://\(unbound.tlsAddress)#wrong.test", certificates.ca, "certificate refused"),
            ("https://dns.test:\(unbound.httpsPort)/dns-query#127.0.0.1", certificates.otherCA, "certificate refused"),
        ]
        for (upstream, ca, why) in cases {
            let hush = try Self.hush([upstream], caFile: ca)
            #expect(Self.answer(hush, "a.test") == "SERVFAIL", "\(upstream)")
            guard case .failed(let reason)? = hush.recorder.last("a.test") else {
                Issue.record("\(upstream) was not refused")
                continue
            }
            #expect(reason.contains(upstream.replacingOccurrences(of: "#127.0.0.1", with: "")) && reason.contains(why), "\(reason)")
            // Nothing went to the plain stub upstream either.
            #expect(hush.upstream.queries.isEmpty)
        }
        // Hush then looks at the refused certificate to say why: here, its dates.
        let expired = try UnboundPeer(certificates: certificates, records: Self.records, certificate: certificates.expiredCertificate)
        let hush = try Self.hush(["tls://\(expired.tlsAddress)#dns.test"], caFile: certificates.ca)
        #expect(Self.answer(hush, "a.test") == "SERVFAIL")
        var reason = ""
        for _ in 0..<20 {
            usleep(100_000)
            _ = Self.answer(hush, "b.test")
            if case .failed(let why)? = hush.recorder.last("b.test") { reason = why }
            if reason.contains("expired") { break }
        }
        #expect(reason.contains("tls://\(expired.tlsAddress)#dns.test") && reason.contains("certificate refused: it expired on 2020-02-01"), "\(reason)")
    }

    @Test func failsOverBetweenEncryptedAndPlainUpstreams() throws {
        let certificates = try TestCertificates()
        let unbound = try UnboundPeer(certificates: certificates, records: Self.records)
        let closedPort = try HushBinary.freePort()
        // An encrypted upstream that is down: the plain one next in the list answers.
        let plainAfter = try TestServer(configure: { config in
            config.upstreams = [UpstreamSpec("tls://127.0.0.1:\(closedPort)#dns.test")!, .plain(SocketAddress("127.0.0.1:\(unbound.plainPort)")!)]
        })
        #expect(Self.answer(plainAfter, "a.test") == "10.0.0.1")
        guard case .forwarded(let via, _)? = plainAfter.recorder.last("a.test") else { Issue.record("not forwarded"); return }
        #expect(via == "127.0.0.1:\(unbound.plainPort)")
        // A plain upstream that is silent: the encrypted one next answers.
        let silent = try StubUpstream()
        silent.set(.silent)
        let encryptedAfter = try Self.hush([silent.address.description, "tls://\(unbound.tlsAddress)#dns.test"], caFile: certificates.ca, timeout: 500)
        #expect(Self.answer(encryptedAfter, "b.test") == "10.0.0.2")
        guard case .forwarded(let second, _)? = encryptedAfter.recorder.last("b.test") else { Issue.record("not forwarded"); return }
        #expect(second.hasPrefix("tls://"))
    }

    /// A server that accepts the connection and never speaks TLS: the first question moves on after the
    /// timeout, and the next ones do not wait for it again.
    @Test func aServerThatNeverFinishesTheHandshakeIsPassedOver() throws {
        let silent = try Socket.bind(SocketAddress("127.0.0.1:0")!, type: Socket.tcp)   // listens, never answers
        defer { close(silent) }
        let port = Socket.localAddress(silent)!.port
        for encrypted in ["tls://127.0.0.1:\(port)#dns.test", "https://dns.test:\(port)/dns-query#127.0.0.1"] {
            let plain = try StubUpstream()
            plain.add("a.test", .a("10.0.0.1"))
            plain.add("b.test", .a("10.0.0.2"))
            let hush = try Self.hush([encrypted, plain.address.description], caFile: nil, timeout: 500)
            var started = Date()
            #expect(Self.answer(hush, "a.test") == "10.0.0.1", "\(encrypted)")
            #expect(Date().timeIntervalSince(started) < 1.5, "\(encrypted)")
            started = Date()
            #expect(Self.answer(hush, "b.test") == "10.0.0.2", "\(encrypted)")
            #expect(Date().timeIntervalSince(started) < 0.3, "\(encrypted): the next question waited again")
        }
    }

    /// Hush in front of Hush: the front one pipelines a slow and a fast question on one DoT connection, and
    /// the fast answer comes back first.
    @Test func pipelinesOnOneConnectionAndMatchesRepliesInAnyOrder() throws {
        let (back, upstream, caFile) = try Self.dotServer(timeout: 3000)
        back.upstream.add("slow.test", .a("10.0.0.7"))
        back.upstream.add("fast.test", .a("10.0.0.8"))
        #expect(back.udp(DNSTestClient.query("fast.test")) != nil)   // cached at the back from now on
        back.upstream.set(.delay(milliseconds: 800))
        let front = try Self.hush([upstream], caFile: caFile, timeout: 3000)
        #expect(Self.answer(front, "b.test") != nil)   // opens the connection
        let started = Date()
        let times = Locked<[String: Double]>([:])
        let answers = Locked<[String: String]>([:])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let name = index == 0 ? "slow.test" : "fast.test"
            if index == 1 { usleep(100_000) }   // asked after the slow one is on the wire
            let answer = Self.answer(front, name)
            times.withLock { $0[name] = Date().timeIntervalSince(started) }
            answers.withLock { $0[name] = answer }
        }
        #expect(answers.withLock { $0 } == ["slow.test": "10.0.0.7", "fast.test": "10.0.0.8"])
        let (slow, fast) = (times.withLock { $0["slow.test"] } ?? 0, times.withLock { $0["fast.test"] } ?? 99)
        #expect(fast < slow && fast < 0.5 && slow >= 0.7, "fast \(fast) s, slow \(slow) s")
        #expect(back.service.encryptedListeners!.openConnections == 1)
    }

    /// The DoT upstream's connection drops with a question on it: the question goes to the next upstream
    /// at once instead of waiting out its timeout.
    @Test func aDroppedConnectionIsRetriedElsewhere() throws {
        let (back, upstream, caFile) = try Self.dotServer(timeout: 5000)
        back.upstream.add("slow.test", .a("10.0.0.7"))
        back.upstream.set(.delay(milliseconds: 3000))
        let other = try StubUpstream()
        other.add("slow.test", .a("10.0.0.9"))
        let front = try Self.hush([upstream, other.address.description], caFile: caFile, timeout: 4000)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.4) { back.service.encryptedListeners!.stop() }
        let started = Date()
        #expect(Self.answer(front, "slow.test") == "10.0.0.9")
        let waited = Date().timeIntervalSince(started)
        #expect(waited < 2, "took \(waited) s")
        #expect(other.queryCount("slow.test") == 1)
    }

    /// An upstream connection left unused closes after the idle timeout, and the next question opens a new one.
    @Test func idleUpstreamConnectionsCloseAndReopen() throws {
        let (back, upstream, caFile) = try Self.dotServer()
        back.upstream.add("c.test", .a("10.0.0.3"))
        let front = try Self.hush([upstream], caFile: caFile) {
            $0.upstreamIdleSeconds = 1
            $0.cacheSizeMegabytes = 0
        }
        #expect(Self.answer(front, "c.test") == "10.0.0.3")
        #expect(back.service.encryptedListeners!.openConnections == 1)
        for _ in 0..<40 where back.service.encryptedListeners!.openConnections > 0 { usleep(100_000) }
        #expect(back.service.encryptedListeners!.openConnections == 0)
        #expect(Self.answer(front, "c.test") == "10.0.0.3")
    }
}
