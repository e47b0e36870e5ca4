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

        @Option(name: .long, help: "Upstream DNS server, e.g. 127.0.0.1:5399; repeat for failover order. Default: /etc/resolv.conf.")
        var upstream: [String] = []

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
            if !listen.isEmpty { config.listen = try parseAddresses(listen, what: "--listen") }
            if !upstream.isEmpty { config.upstreams = try parseAddresses(upstream, what: "--upstream") }
            if let blockMode {
                guard let mode = HushConfig.blockMode(blockMode) else {
                    throw ValidationError("--block-mode must be null, nxdomain, refused or IP addresses")
                }
                config.blockPolicy.mode = mode
            }
            if let blockTTL { config.blockPolicy.ttl = blockTTL }
            if !allowClients.isEmpty {
                config.allowedClients = try allowClients.map { text in
                    guard let range = AddressRange(text) else { throw ValidationError("--allow-clients \"\(text)\" is not a range such as 192.168.0.0/16") }
                    return range
                }
            }
            if let logLevel {
                guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown --log-level \(logLevel)") }
                config.logLevel = level
            }
            if let privacy {
                guard let value = StatsSettings.Privacy(rawValue: privacy) else { throw ValidationError("--privacy must be all, blocked or none") }
                config.statsPrivacy = value
            }
            if noStats { config.statsEnabled = false }
            if let user { config.runAsUser = user }
            if noRateLimit { config.rateLimit = nil }
            if let metrics {
                guard let address = SocketAddress(metrics, defaultPort: 9153) else { throw ValidationError("--metrics \"\(metrics)\" is not an address such as 127.0.0.1:9153") }
                config.metricsListen = address
            }
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
