import Foundation
import DNSWire
import EncryptedDNS
import Logging
import Resolver
import Sockets

/// Everything encrypted in one place: the event loops that DoT and DoH run on (made only when something
/// needs them), the upstream transports built from `upstream.servers`, the certificate, and the DDR
/// records that advertise Hush's own endpoints.
final class EncryptedDNSSetup: @unchecked Sendable {
    private var group: EncryptedEventLoops?
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// The loops, started on first use.
    func loops() -> EncryptedEventLoops {
        if let group { return group }
        let made = EncryptedEventLoops()
        group = made
        return made
    }

    /// The forwarding stage's upstreams, in the configured order. A DoH server without an address is
    /// found through `upstream.bootstrap`, or else through the plain servers in the same list.
    func upstreams(_ config: HushConfig, plainFallback: [Sockets.SocketAddress]) throws -> [Upstream] {
        let plain = config.upstreams.compactMap { if case .plain(let address) = $0 { address } else { nil } }
        let bootstrap = config.bootstrap.isEmpty ? plain : config.bootstrap
        guard !config.upstreams.isEmpty else { return plainFallback.map { Upstream.datagram($0) } }
        var timing = ConnectionTiming()
        timing.timeoutMilliseconds = config.upstreamTimeoutMilliseconds
        timing.idleSeconds = config.upstreamIdleSeconds
        // A CA file for a server the list does not name would be silently unused: say so instead.
        for key in config.upstreamCAFiles.keys where !config.upstreams.contains(where: { $0 == UpstreamSpec(key) }) {
            throw StartupError(message: "[upstream.ca-files] \"\(key)\" names no server in upstream.servers")
        }
        return try config.upstreams.map { spec throws -> Upstream in
            let caFile = config.upstreamCAFiles.first { UpstreamSpec($0.key) == spec }?.value
            let tls = ClientTLS(caFile: caFile)
            do {
                return try upstream(spec, tls: tls, timing: timing, bootstrap: bootstrap)
            } catch let error as StartupError {
                throw error
            } catch {
                throw StartupError(message: "\(spec): \(caFile.map { "cannot use the CA file \($0)" } ?? "cannot set up TLS"): \(error)")
            }
        }
    }

    /// One upstream as the forwarding stage reaches it.
    private func upstream(_ spec: UpstreamSpec, tls: ClientTLS, timing: ConnectionTiming, bootstrap: [Sockets.SocketAddress]) throws -> Upstream {
        switch spec {
        case .plain(let address):
            return .datagram(address)
        case .tls(let address, let name):
            var settings = TLSUpstream.Settings(address: address, serverName: name, tls: tls)
            settings.timing = timing
            return .stream(try TLSUpstream(settings, description: spec.description, loops: loops(), logger: logger))
        case .https(let host, let port, let path, let address):
            var settings = HTTPSUpstream.Settings(host: host, port: port, path: path, address: address, tls: tls)
            settings.bootstrap = bootstrap
            settings.timing = timing
            if address == nil, bootstrap.isEmpty {
                throw StartupError(message: "\(spec): no address to reach it; write \(spec)#ADDRESS or set upstream.bootstrap")
            }
            return .stream(try HTTPSUpstream(settings, description: spec.description, loops: loops(), logger: logger))
        }
    }

    /// The certificate for the listeners: the configured files, or a self-signed one kept in the state
    /// directory, naming `tls-name` and the addresses devices reach Hush on.
    func identity(_ config: HushConfig) throws -> ServerIdentity {
        if let certificate = config.tlsCertificate, let key = config.tlsKey {
            return try ServerIdentity.load(certificate: certificate, key: key)
        }
        guard config.tlsCertificate == nil, config.tlsKey == nil else {
            throw StartupError(message: "server.tls-cert and server.tls-key go together: set both, or neither for a self-signed certificate")
        }
        return try ServerIdentity.selfSigned(in: config.stateDirectory + "/tls", names: [config.tlsName],
                                             addresses: Self.reachable(config.tlsListen + config.httpsListen + config.listen).map(\.description),
                                             logger: logger)
    }

    /// Says how long the certificate is valid, loudly when it has expired or soon will.
    func report(_ identity: ServerIdentity) {
        let days = Int(identity.expires.timeIntervalSinceNow / 86_400)
        let until = identity.expires.formatted(.iso8601.year().month().day())
        if days < 0 {
            logger.error("the TLS certificate expired on \(until): devices that check it will refuse Hush")
        } else if days < 14 {
            logger.warning("the TLS certificate expires in \(days) days (\(until)); renew it and send SIGHUP")
        } else {
            logger.info("TLS certificate valid until \(until)")
        }
    }

    /// The addresses a device can reach these sockets on: each socket's own, a wildcard standing for this
    /// machine's addresses of its family.
    static func reachable(_ sockets: [Sockets.SocketAddress]) -> [IPAddress] {
        var addresses: [IPAddress] = []
        for socket in sockets {
            let ips = socket.ip.isUnspecified ? IPAddress.local().filter { $0.isIPv4 == socket.ip.isIPv4 } : [socket.ip]
            for ip in ips where !addresses.contains(ip) { addresses.append(ip) }
        }
        return addresses
    }

    /// DDR records (RFC 9462) for the listeners as bound (their real ports): DoT first, then DoH, each
    /// hinting only the addresses its own sockets answer on.
    static func designatedResolvers(_ config: HushConfig, tls: [Sockets.SocketAddress], https: [Sockets.SocketAddress]) -> [ServiceBinding] {
        let target = DomainName(config.tlsName)
        var bindings: [ServiceBinding] = []
        for (listeners, alpn, dohPath) in [(tls, "dot", nil), (https, "h2", config.httpsPath + "{?dns}")] {
            for port in Set(listeners.map(\.port)).sorted() {
                let addresses = reachable(listeners.filter { $0.port == port })
                bindings.append(ServiceBinding(
                    priority: UInt16(bindings.count + 1), target: target, alpn: [alpn], port: port,
                    ipv4Hints: addresses.filter(\.isIPv4).map(\.bytes), ipv6Hints: addresses.filter { !$0.isIPv4 }.map(\.bytes),
                    dohPath: dohPath))
            }
        }
        return bindings
    }

    func shutdown() {
        group?.shutdown()
        group = nil
    }
}
