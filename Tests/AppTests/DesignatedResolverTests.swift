import DNSWire
@testable import HushApp
import Sockets
import Testing

/// The DDR records Hush builds from its listeners: each endpoint hints only the addresses its own sockets
/// answer on.
@Suite struct DesignatedResolverTests {
    @Test func eachEndpointHintsItsOwnAddresses() {
        var config = HushConfig()
        config.tlsName = "dns.home.arpa"
        let bindings = EncryptedDNSSetup.designatedResolvers(
            config, tls: [SocketAddress("192.168.1.2:853")!], https: [SocketAddress("[fd00::2]:443")!, SocketAddress("192.168.1.2:8443")!])
        #expect(bindings.map(\.alpn) == [["dot"], ["h2"], ["h2"]])
        #expect(bindings.map(\.priority) == [1, 2, 3])
        #expect(bindings[0].port == 853 && bindings[0].ipv4Hints == [[192, 168, 1, 2]] && bindings[0].ipv6Hints.isEmpty)
        #expect(bindings[1].port == 443 && bindings[1].ipv4Hints.isEmpty && bindings[1].ipv6Hints == [IPAddress("fd00::2")!.bytes])
        #expect(bindings[2].port == 8443 && bindings[2].ipv4Hints == [[192, 168, 1, 2]])
        #expect(bindings.allSatisfy { $0.target == DomainName("dns.home.arpa") })
        #expect(bindings[0].dohPath == nil && bindings[1].dohPath == "/dns-query{?dns}")
    }

    @Test func aWildcardStandsForThisMachinesAddressesOfItsFamily() {
        let v4 = EncryptedDNSSetup.reachable([SocketAddress("0.0.0.0:853")!])
        let v6 = EncryptedDNSSetup.reachable([SocketAddress("[::]:853")!])
        #expect(v4.allSatisfy(\.isIPv4) && v6.allSatisfy { !$0.isIPv4 })
        #expect(Set(v4 + v6) == Set(IPAddress.local()))
    }
}
