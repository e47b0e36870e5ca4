import ArgumentParser
import Dispatch
import Foundation
import HushApp
import Logging
import Resolver
import Sockets
import Stats

extension Hush {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Answer DNS on the listen addresses: block listed names, forward the rest, cache answers.")

        @OptionGroup var options: ConfigOptions

        @Option(name: .long, help: "Address to listen on (UDP and TCP), e.g. 127.0.0.1:5300 or [::1]:5300; repeat for more. Default: port 53 on all addresses.")
        var listen: [String] = []

        @Option(name: .long, help: "Upstream DNS server: 127.0.0.1:5399, tls://9.9.9.9#dns.quad9.net (DNS over TLS) or https://dns.quad9.net/dns-query (DNS over HTTPS); repeat for failover order. Default: /etc/resolv.conf.")
        var upstream: [String] = []

        @Option(name: .long, help: "Answer DNS over TLS on this address, e.g. 0.0.0.0:853; repeat for more.")
        var tlsListen: [String] = []

        @Option(name: .long, help: "Answer DNS over HTTPS (/dns-query) on this address, e.g. 0.0.0.0:443; repeat for more.")
        var httpsListen: [String] = []

        @Option(name: .long, help: "How blocked names are answered: null (0.0.0.0 / ::), nxdomain, refused, or addresses such as 10.0.0.1,fd00::1.")
        var blockMode: String?

        @Option(name: .long, help: "TTL of blocked answers, in seconds.")
        var blockTTL: UInt32?

        @Option(name: .long, help: "Client ranges answered; others get REFUSED. Repeat. Default: loopback, private, CGNAT, link-local, ULA.")
        var allowClients: [String] = []

        @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
        var logLevel: String?

        @Option(name: .long, help: "What the stats keep: all (every query), blocked (blocked attempts in full, allowed queries as per-device counts; the default) or none (counts only).")
        var privacy: String?

        @Flag(name: .long, help: "Record no stats.")
        var noStats = false

        @Option(name: .long, help: "Serve Prometheus metrics at http://ADDRESS/metrics, e.g. 127.0.0.1:9153.")
        var metrics: String?

        @Option(name: .long, help: "When started as root: the user to become once the sockets are bound.")
        var user: String?

        @Flag(name: .long, help: "Turn per-client rate limiting off (benchmarks from one address; a router that proxies every device's DNS).")
        var noRateLimit = false

        func run() throws {
            var config = try options.load()
            // Each flag goes through its config key's own rule, so a flag and the file fail with one message.
            if !listen.isEmpty { try config.set("server.listen", .strings(listen), from: "--listen") }
            if !upstream.isEmpty { try config.set("upstream.servers", .strings(upstream), from: "--upstream") }
            if !tlsListen.isEmpty { try config.set("server.tls-listen", .strings(tlsListen), from: "--tls-listen") }
            if !httpsListen.isEmpty { try config.set("server.https-listen", .strings(httpsListen), from: "--https-listen") }
            if let blockMode { try config.set("blocking.mode", .string(blockMode), from: "--block-mode") }
            if let blockTTL { try config.set("blocking.ttl", .integer(Int(blockTTL)), from: "--block-ttl") }
            if !allowClients.isEmpty { try config.set("server.allow-clients", .strings(allowClients), from: "--allow-clients") }
            if let logLevel { try config.set("log.level", .string(logLevel), from: "--log-level") }
            if let privacy { try config.set("stats.privacy", .string(privacy), from: "--privacy") }
            if noStats { try config.set("stats.enabled", .boolean(false), from: "--no-stats") }
            if let user { try config.set("server.user", .string(user), from: "--user") }
            if noRateLimit { try config.set("rate-limit.enabled", .boolean(false), from: "--no-rate-limit") }
            if let metrics { try config.set("metrics.listen", .string(metrics), from: "--metrics") }
            let level = config.logLevel
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let logger = Logger(label: "hush")
            let service: HushService
            do {
                service = try HushService(config: config, configPath: options.config, logger: logger)
            } catch {
                logger.critical("cannot start: \(error)")
                throw ExitCode.failure
            }
            if let user = config.runAsUser {
                do {
                    let statsFiles = ["", "-wal", "-shm"].map { config.statsDatabasePath + $0 }
                    try PrivilegeDrop.drop(to: user, handingOver: [config.stateDirectory] + statsFiles, folders: [config.subscriptionDirectory])
                    logger.info("running as \(user)")
                } catch {
                    logger.critical("cannot start: \(error)")
                    throw ExitCode.failure
                }
            }
            service.start()
            RunningServer.record(stateDirectory: config.stateDirectory)
            SignalHandlers.install(service: service, stateDirectory: config.stateDirectory, logger: logger)
            dispatchMain()
        }
    }
}
