import HushApp
import Logging
import Sockets
import Testing

@Suite struct UpstreamSpecTests {
    @Test func readsEachFormOfUpstream() {
        #expect(UpstreamSpec("192.168.1.1") == .plain(SocketAddress("192.168.1.1:53")!))
        #expect(UpstreamSpec("[::1]:5353") == .plain(SocketAddress("[::1]:5353")!))
        #expect(UpstreamSpec("tls://9.9.9.9#dns.quad9.net") == .tls(SocketAddress("9.9.9.9:853")!, serverName: "dns.quad9.net"))
        #expect(UpstreamSpec("tls://[2620:fe::fe]:8853") == .tls(SocketAddress("[2620:fe::fe]:8853")!, serverName: nil))
        #expect(UpstreamSpec("https://dns.quad9.net/dns-query") == .https(host: "dns.quad9.net", port: 443, path: "/dns-query", address: nil))
        #expect(UpstreamSpec("https://dns.test:8443/q#127.0.0.1") == .https(host: "dns.test", port: 8443, path: "/q", address: IPAddress("127.0.0.1")))
        // An address as the host is its own address.
        #expect(UpstreamSpec("https://[::1]:8443/dns-query") == .https(host: "::1", port: 8443, path: "/dns-query", address: IPAddress("::1")))
        #expect(UpstreamSpec("https://dns.test") == .https(host: "dns.test", port: 443, path: "/dns-query", address: nil))
    }

    @Test func refusesWhatIsNotAnUpstream() {
        for text in ["tls://dns.quad9.net", "tls://9.9.9.9#", "tls://9.9.9.9#bad name", "tls://9.9.9.9#9.9.9.9", "https://", "https://dns.test:99999/",
                     "https://dns.test/#not-an-address", "quic://9.9.9.9", "not an address"] {
            #expect(UpstreamSpec(text) == nil, "\(text)")
        }
    }

    @Test func printsAsWritten() {
        for text in ["tls://9.9.9.9:853#dns.quad9.net", "https://dns.quad9.net/dns-query", "https://dns.test:8443/q", "https://[::1]:8443/dns-query"] {
            #expect(UpstreamSpec(text)?.description == text)
        }
    }

    /// A CA file that cannot be read, or one given for a server the list does not name, stops the start
    /// with the server and the file named.
    @Test func aBadCAFileIsNamedAtStart() {
        func startError(_ files: [String: String]) -> String {
            var config = HushConfig()
            config.listen = [SocketAddress("127.0.0.1:0")!]
            config.upstreams = [UpstreamSpec("tls://127.0.0.1:853#dns.test")!]
            config.upstreamCAFiles = files
            config.statsEnabled = false
            config.bundledLists = false
            do {
                _ = try HushService(config: config, logger: Logger(label: "test"))
                return "started"
            } catch {
                return "\(error)"
            }
        }
        #expect(startError(["tls://127.0.0.1:853#dns.test": "/nonexistent/ca.pem"])
            .hasPrefix("tls://127.0.0.1:853#dns.test: cannot use the CA file /nonexistent/ca.pem"))
        #expect(startError(["tls://127.0.0.2#other": "/nonexistent/ca.pem"]) == "[upstream.ca-files] \"tls://127.0.0.2#other\" names no server in upstream.servers")
    }
}
