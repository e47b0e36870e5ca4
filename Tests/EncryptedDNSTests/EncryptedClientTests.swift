import DNSWire
import Foundation
import HushApp
import Sockets
import Stats
import Testing
import TestSupport

/// Devices asking Hush over DNS over TLS and HTTPS, with kdig as the device: the same blocking, cache and
/// stats as plain DNS, DDR pointing at the endpoints, and RFC 7766/7858 connection handling.
@Suite(.serialized, .enabled(if: Prerequisites.hasEncryptedPeers, "needs openssl, unbound and kdig (scripts/test installs them)"))
struct EncryptedClientTests {
    static let blocklist = TestServer.listFile("telemetry.txt", "# Name: Test telemetry\n# Vendor: Xiaomi\nsa.api.intl.miui.com\n")

    static func server(_ configure: (inout HushConfig) -> Void = { _ in }) throws -> TestServer {
        let server = try TestServer(configure: { config in
            config.tlsListen = [SocketAddress("127.0.0.1:0")!]
            config.httpsListen = [SocketAddress("127.0.0.1:0")!]
            config.stateDirectory = TestFiles.directory("state")
            config.blocklists = [blocklist]
            configure(&config)
        })
        server.upstream.add("example.test", .a("10.1.2.3"))
        return server
    }

    /// kdig over DoT (`tls`) or DoH (`https`) from `source`; returns its output.
    static func kdig(_ server: TestServer, _ transport: String, _ arguments: [String], from source: String = "127.0.0.1") throws -> String {
        let listeners = server.service.encryptedListeners!
        let port = transport == "tls" ? listeners.tlsAddresses[0].port : listeners.httpsAddresses[0].port
        let result = try Command.run("/usr/bin/kdig", ["-b", source, "-p", "\(port)", "@127.0.0.1", transport == "tls" ? "+tls" : "+https=/dns-query",
                                                       "+timeout=3", "+retry=0"] + arguments)
        return result.output + result.error
    }

    @Test func blocksAnswersAndRecordsEncryptedClientsLikePlainOnes() throws {
        let database = TestFiles.databasePath()
        let server = try Self.server { config in
            config.statsEnabled = true
            config.statsDatabase = database
            config.statsPrivacy = .all
        }
        for transport in ["tls", "https"] {
            #expect(try Self.kdig(server, transport, ["+short", "sa.api.intl.miui.com"], from: "127.0.0.5") == "0.0.0.0\n", "\(transport)")
            #expect(try Self.kdig(server, transport, ["+short", "example.test"], from: "127.0.0.5") == "10.1.2.3\n", "\(transport)")
        }
        #expect(server.upstream.queryCount("example.test") == 1)   // the second came from the cache
        #expect(server.recorder.last("example.test") == .cached)
        server.service.stop()
        let report = StatsReport(store: try StatsStore.openForReading(path: database))
        let attempts = try report.domain("sa.api.intl.miui.com", StatsWindow(from: Date(timeIntervalSince1970: 0), to: Date().addingTimeInterval(60)))
        #expect(attempts.map(\.device) == ["127.0.0.5"] && attempts.first?.count == 2 && attempts.first?.disposition == "blocked", "\(attempts)")
    }

    /// A client outside `allow-clients` is closed before the handshake: no TLS work is spent on it.
    @Test func strangersAreTurnedAwayBeforeTheHandshake() throws {
        let server = try Self.server { $0.allowedClients = [AddressRange("127.0.0.5/32")!] }
        for transport in ["tls", "https"] {
            let stranger = try Self.kdig(server, transport, ["example.test"], from: "127.0.0.6")
            #expect(!stranger.contains("status:") && !stranger.contains("10.1.2.3") && !stranger.contains("TLS session"), "\(transport): \(stranger)")
            #expect(try Self.kdig(server, transport, ["+short", "example.test"], from: "127.0.0.5") == "10.1.2.3\n", "\(transport)")
        }
    }

    @Test func theSelfSignedCertificateNamesHushAndVerifies() throws {
        let server = try Self.server()
        let certificate = server.service.config.stateDirectory + "/tls/hush-tls.crt"
        let verified = try Self.kdig(server, "tls", ["+tls-ca=\(certificate)", "+tls-hostname=hush.lan", "+short", "example.test"])
        #expect(verified == "10.1.2.3\n", "\(verified)")
        let wrongName = try Self.kdig(server, "tls", ["+tls-ca=\(certificate)", "+tls-hostname=other.lan", "+short", "example.test"])
        #expect(!wrongName.contains("10.1.2.3"))
    }

    @Test func discoveryNamesTheEncryptedEndpoints() throws {
        let server = try Self.server()
        let listeners = server.service.encryptedListeners!
        let output = try Self.kdig(server, "tls", ["_dns.resolver.arpa", "SVCB"])
        #expect(output.contains("1 hush.lan. alpn=dot port=\(listeners.tlsAddresses[0].port) ipv4hint=127.0.0.1"), "\(output)")
        #expect(output.contains("2 hush.lan. alpn=h2 port=\(listeners.httpsAddresses[0].port) ipv4hint=127.0.0.1"), "\(output)")
        #expect(output.contains("/dns-query{?dns}"))
        // Over plain DNS too (that is where a device first asks), and as NODATA for other types.
        guard let reply = server.udp(DNSTestClient.query("_dns.resolver.arpa", .svcb)), let message = try? LDNSMessage(wire: reply) else {
            Issue.record("no plain DDR answer")
            return
        }
        #expect(message.answerCount == 2)
        #expect(server.recorder.last("_dns.resolver.arpa") == .local)
        let other = try LDNSMessage(wire: server.udp(DNSTestClient.query("_dns.resolver.arpa", .a)) ?? [])
        #expect(other.rcode == .noError && other.answerCount == 0)
        // The target name resolves to Hush itself.
        let target = try LDNSMessage(wire: server.udp(DNSTestClient.query("hush.lan", .a)) ?? [])
        #expect(target.answers.map(\.data) == ["127.0.0.1"] && server.recorder.last("hush.lan") == .local)
        #expect(try LDNSMessage(wire: server.udp(DNSTestClient.query("hush.lan", .aaaa)) ?? []).answerCount == 0)
        // Without encrypted listeners, resolver.arpa stays NODATA for SVCB as well.
        let plain = try TestServer()
        let none = try LDNSMessage(wire: plain.udp(DNSTestClient.query("_dns.resolver.arpa", .svcb)) ?? [])
        #expect(none.rcode == .noError && none.answerCount == 0)
    }

    @Test func padsAndOffersKeepaliveToClientsThatAsk() throws {
        let server = try Self.server { $0.tcpIdleTimeoutSeconds = 7 }
        let padded = try Self.kdig(server, "tls", ["+padding", "example.test"])
        #expect(padded.contains("Received 468 B"), "\(padded)")
        let plain = try Self.kdig(server, "tls", ["+nopadding", "example.test"])
        #expect(!plain.contains("Received 468 B"), "\(plain)")
        // kdig cannot send edns-tcp-keepalive; a raw query with the option over TCP can (RFC 7828).
        var query = DNSTestClient.query("example.test", edns: EDNS())
        query.replaceSubrange(query.count - 2..<query.count, with: [0, 4, 0, 11, 0, 0])
        let reply = try DNSTestClient.tcp([query], to: server.address)[0]
        #expect(reply.suffix(6) == [0, 11, 0, 2, 0, 70], "\(reply)")   // 7 s in units of 100 ms
        let without = try DNSTestClient.tcp([DNSTestClient.query("example.test", edns: EDNS())], to: server.address)[0]
        #expect(!without.suffix(6).starts(with: [0, 11]))
    }

    @Test func idleConnectionsCloseAndTheCapHolds() throws {
        let server = try Self.server { config in
            config.tcpIdleTimeoutSeconds = 1
            config.tcpMaxConnections = 2
        }
        let port = server.service.encryptedListeners!.tlsAddresses[0].port
        // Three connections held open by openssl s_client: the third is turned away.
        var clients: [Process] = []
        defer { for client in clients where client.isRunning { client.terminate() } }
        for _ in 0..<3 {
            let client = Process()
            client.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            client.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-quiet"]
            client.standardInput = Pipe()
            client.standardOutput = FileHandle.nullDevice
            client.standardError = FileHandle.nullDevice
            try client.run()
            clients.append(client)
            usleep(200_000)
        }
        #expect(server.service.encryptedListeners!.openConnections == 2)
        // Quiet for the idle timeout: closed by Hush.
        for _ in 0..<40 where server.service.encryptedListeners!.openConnections > 0 { usleep(100_000) }
        #expect(server.service.encryptedListeners!.openConnections == 0)
    }

    @Test(.enabled(if: Command.exists("curl"), "needs curl"))
    func dohRefusesWhatIsNotADNSQuery() throws {
        let server = try Self.server()
        let port = server.service.encryptedListeners!.httpsAddresses[0].port
        func status(_ arguments: [String]) throws -> String {
            try Command.run("/usr/bin/curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}"] + arguments).output
        }
        #expect(try status(["https://127.0.0.1:\(port)/elsewhere"]) == "404")
        #expect(try status(["https://127.0.0.1:\(port)/dns-query?dns=!!!"]) == "400")
        #expect(try status(["-X", "POST", "-H", "content-type: text/plain", "--data", "x", "https://127.0.0.1:\(port)/dns-query"]) == "415")
        #expect(try status(["-X", "PUT", "https://127.0.0.1:\(port)/dns-query"]) == "405")
        // GET over HTTP/1.1 answers too.
        #expect(try status(["--http1.1", "https://127.0.0.1:\(port)/dns-query?dns=AAABAAABAAAAAAAAB2V4YW1wbGUEdGVzdAAAAQAB"]) == "200")
    }

    /// A renewed certificate is taken on reload (SIGHUP) without a restart; a broken one is refused and the
    /// one in force stays.
    @Test func aReloadTakesARenewedCertificateAndKeepsAGoodOneOverABadOne() throws {
        let (first, second) = (try TestCertificates(), try TestCertificates())
        let directory = TestFiles.directory("served-certificate")
        let (certificate, key) = (directory + "/hush.crt", directory + "/hush.key")
        func install(_ certificates: TestCertificates) throws {
            for (from, to) in [(certificates.certificate, certificate), (certificates.key, key)] {
                try? FileManager.default.removeItem(atPath: to)
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
        }
        try install(first)
        let server = try Self.server { config in
            config.tlsCertificate = certificate
            config.tlsKey = key
        }
        func verifies(with ca: TestCertificates) throws -> Bool {
            try Self.kdig(server, "tls", ["+tls-ca=\(ca.ca)", "+tls-hostname=dns.test", "+short", "example.test"]) == "10.1.2.3\n"
        }
        #expect(try verifies(with: first) && !verifies(with: second))
        try install(second)
        server.service.reload()
        #expect(try verifies(with: second) && !verifies(with: first))
        try "not a certificate".write(toFile: certificate, atomically: true, encoding: .utf8)
        server.service.reload()
        #expect(try verifies(with: second))
    }

    /// The wildcard addresses of both families on one port, as a router's Hush listens: each socket takes
    /// its own family, and IPv6 clients are answered as themselves.
    @Test func listensOnBothFamiliesOnOnePort() throws {
        let port = try HushBinary.freePort()
        let server = try Self.server { config in
            config.tlsListen = [SocketAddress("0.0.0.0:\(port)")!, SocketAddress("[::]:\(port)")!]
            config.httpsListen = []
        }
        for address in ["127.0.0.1", "::1"] {
            let result = try Command.run("/usr/bin/kdig", ["-p", "\(port)", "@\(address)", "+tls", "+short", "+timeout=3", "example.test"])
            #expect(result.output == "10.1.2.3\n", "\(address): \(result.output)\(result.error)")
        }
        #expect(server.recorder.dispositions.count == 2)
    }

    /// A client that sends its question and closes its side at once still gets the answer, even one that
    /// waits on the upstream (RFC 7766 §6.2.4 lets clients close first).
    @Test func aClientThatHalfClosesStillGetsItsAnswer() throws {
        let server = try Self.server()
        server.upstream.set(.delay(milliseconds: 300))
        let port = server.service.encryptedListeners!.tlsAddresses[0].port
        // Python's ssl over memory buffers, so the TCP socket can be shut for writing and still read from.
        let script = """
            import socket, ssl, sys
            query = bytes.fromhex(sys.argv[2])
            context = ssl.create_default_context(); context.check_hostname = False; context.verify_mode = ssl.CERT_NONE
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = context.wrap_bio(incoming, outgoing)
            sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
            def pump():
                data = outgoing.read()
                if data: sock.sendall(data)
            while True:
                try:
                    tls.do_handshake(); break
                except ssl.SSLWantReadError:
                    pump(); incoming.write(sock.recv(65536))
            pump()
            tls.write(len(query).to_bytes(2, "big") + query); pump()
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk: break
                incoming.write(chunk)
                try:
                    reply += tls.read(65536)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    pass
                if len(reply) >= 2 and len(reply) >= 2 + int.from_bytes(reply[:2], "big"): break
            print(reply[2:].hex())
            """
        let query = DNSTestClient.query("example.test")
        let result = try Command.run("/usr/bin/python3", ["-c", script, "\(port)", query.map { String(format: "%02x", $0) }.joined()])
        let hex = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let reply = stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(hex.dropFirst($0).prefix(2), radix: 16) }
        let message = try LDNSMessage(wire: reply)
        #expect(message.answers.first?.data == "10.1.2.3", "\(result.output) \(result.error)")
    }
}
