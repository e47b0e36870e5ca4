import Blocklist
import EncryptedDNS
import Foundation
import Logging
import Resolver
import Server
import Sockets
import Stats
import Synchronization

/// Hush assembled from a config: lists loaded, stages chained, sockets bound, stats and metrics attached.
/// `hush serve` runs one; tests start one in-process on port 0.
public final class HushService: @unchecked Sendable {
    /// The config in force. Reloads may change its list settings; everything else needs a restart.
    public var config: HushConfig { configuration.withLock { $0 } }
    private let configuration: Mutex<HushConfig>
    /// The file the config came from, re-read on reload.
    let configPath: String?
    public let lists: ListStore
    public let cache: AnswerCache
    public let server: DNSServer
    /// DNS over TLS and HTTPS for devices; nil when neither is configured.
    public let encryptedListeners: EncryptedListeners?
    let encrypted: EncryptedDNSSetup
    let processor: QueryProcessor
    /// nil when stats are off, or their database could not be opened (DNS runs on regardless).
    public let stats: StatsWriter?
    public let metrics: HushMetrics?
    public private(set) var metricsServer: MetricsServer?
    let logger: Logger
    let notifier: SystemdNotifier
    private let reloadQueue = DispatchQueue(label: "hush.reload")
    private var refreshTimer: DispatchSourceTimer?
    private var watchdogTimer: DispatchSourceTimer?

    public init(config: HushConfig, configPath: String? = nil, logger: Logger, observers: [any AnswerObserver] = [],
                notifier: SystemdNotifier = SystemdNotifier()) throws {
        self.configuration = Mutex(config)
        self.configPath = configPath
        self.logger = logger
        self.notifier = notifier
        var fromResolvConf: [SocketAddress] = []
        if config.upstreams.isEmpty {
            fromResolvConf = ResolvConf.nameservers(excluding: config.listen)
            logger.info("no upstream configured; using /etc/resolv.conf: \(fromResolvConf.map(\.description).joined(separator: ", "))")
        }
        guard !config.upstreams.isEmpty || !fromResolvConf.isEmpty else {
            throw ConfigError(path: configPath ?? "configuration", line: nil, key: "upstream.servers",
                              message: "no upstream: give --upstream or set [upstream] servers")
        }
        encrypted = EncryptedDNSSetup(logger: logger)
        let upstreams: [Upstream]
        var bypass = config.bypass
        do {
            upstreams = try encrypted.upstreams(config, plainFallback: fromResolvConf)
            // The encrypted listeners bind before the stages are built, so DDR names their real ports.
            encryptedListeners = try Self.bindEncrypted(config, setup: encrypted, logger: logger)
            if let encryptedListeners, config.discoveryOfDesignatedResolvers {
                bypass.designatedResolvers = EncryptedDNSSetup.designatedResolvers(
                    config, tls: encryptedListeners.tlsAddresses, https: encryptedListeners.httpsAddresses)
            }
        } catch {
            encrypted.shutdown()
            throw error
        }
        lists = ListStore()
        cache = AnswerCache(maxBytes: config.cacheSizeMegabytes << 20)
        var cacheSettings = CacheHandler.Settings()
        cacheSettings.minTTL = config.cacheMinTTL
        cacheSettings.maxTTL = config.cacheMaxTTL
        cacheSettings.serveStale = config.serveStale
        let chain = ResolverChain.make(
            .init(allowedClients: config.allowedClients, blockPolicy: config.blockPolicy, cacheSettings: cacheSettings,
                  forwarding: .init(upstreams: upstreams, timeoutMilliseconds: config.upstreamTimeoutMilliseconds),
                  rateLimit: config.rateLimit, bypass: bypass),
            lists: lists, cache: cache, logger: logger)
        stats = Self.openStats(config, logger: logger)
        metrics = config.metricsListen == nil ? nil : HushMetrics()
        var allObservers = observers
        // Decided once: the level is fixed at start, and asking the logger on every query (a copy of its
        // handler) profiled at about 1% of the answering thread.
        if logger.logLevel <= .debug { allObservers.append(QueryLogger(logger: logger)) }
        if let stats { allObservers.append(stats.recorder) }
        if let metrics { allObservers.append(metrics) }
        processor = QueryProcessor(resolver: chain.resolver, observers: allObservers, prefetchers: [lists],
                                   connectionIdleSeconds: config.tcpIdleTimeoutSeconds)
        do {
            server = try DNSServer(
                settings: .init(listen: config.listen, tcpIdleTimeoutSeconds: config.tcpIdleTimeoutSeconds,
                                tcpMaxConnections: config.tcpMaxConnections),
                processor: processor, upstreamReplies: chain.upstreamReplies, logger: logger)
        } catch {
            encryptedListeners?.stop()
            encrypted.shutdown()
            if let error = error as? SocketError, error.code == EADDRINUSE {
                let port = config.listen.first { $0.port != 0 }?.port ?? 53
                throw StartupError(message: "\(error). " + (PortOwner.describe(port: port) ?? ""))
            }
            throw error
        }
        if let listen = config.metricsListen, let metrics {
            let cache = cache
            let stats = stats
            metricsServer = try MetricsServer(listen: listen) {
                metrics.render(cache: cache.statistics, statsDropped: stats?.droppedSinceStart ?? 0)
            }
        }
        _ = loadLists(initial: true)
    }

    /// The DoT and DoH listeners, bound now; nil when neither is configured.
    static func bindEncrypted(_ config: HushConfig, setup: EncryptedDNSSetup, logger: Logger) throws -> EncryptedListeners? {
        guard !config.tlsListen.isEmpty || !config.httpsListen.isEmpty else { return nil }
        var settings = EncryptedListeners.Settings()
        settings.tlsListen = config.tlsListen
        settings.httpsListen = config.httpsListen
        settings.httpsPath = config.httpsPath
        settings.idleTimeoutSeconds = config.tcpIdleTimeoutSeconds
        settings.maxConnections = config.tcpMaxConnections
        settings.allowedClients = config.allowedClients
        let identity = try setup.identity(config)
        setup.report(identity)
        do {
            return try EncryptedListeners(settings: settings, identity: identity, loops: setup.loops(), logger: logger)
        } catch {
            throw StartupError(message: "cannot listen for DNS over TLS/HTTPS on \((config.tlsListen + config.httpsListen).map(\.description).joined(separator: ", ")): \(error)")
        }
    }

    static func openStats(_ config: HushConfig, logger: Logger) -> StatsWriter? {
        guard config.statsEnabled else { return nil }
        let path = config.statsDatabasePath
        var store: StatsStore?
        do {
            store = try StatsStore.openForWriting(path: path) { aside in
                logger.error("stats database \(path) was damaged; kept it as \(aside) and started a new one")
            }
            logger.info("recording stats in \(path) (privacy: \(config.statsPrivacy.rawValue), kept \(config.statsRetentionDays) days)")
        } catch StatsError.newerVersion(let newer) {
            // Not ours to overwrite: a newer Hush wrote it. Stats stay off; DNS answers.
            logger.error("stats are off: \(StatsError.newerVersion(newer))")
            return nil
        } catch {
            logger.error("stats cannot be recorded in \(path) yet: \(error); DNS answers, records wait in memory and Hush keeps trying")
        }
        return StatsWriter(settings: config.statsSettings, store: store, devices: DeviceDirectory(sources: config.deviceSources), logger: logger)
    }

    /// Starts answering. Lists are already loaded, so READY=1 means blocked names are blocked.
    public func start() {
        stats?.start()
        server.start()
        metricsServer?.start()
        logger.info("listening on \(server.addresses.map(\.description).joined(separator: ", ")) (UDP and TCP)")
        if let encryptedListeners {
            encryptedListeners.start(processor)
            if !encryptedListeners.tlsAddresses.isEmpty {
                logger.info("DNS over TLS on \(encryptedListeners.tlsAddresses.map(\.description).joined(separator: ", "))")
            }
            for address in encryptedListeners.httpsAddresses {
                logger.info("DNS over HTTPS on https://\(address)\(config.httpsPath)")
            }
        }
        if let metricsServer { logger.info("metrics on http://\(metricsServer.address)/metrics") }
        scheduleRefresh()
        notifier.notify("READY=1\nSTATUS=answering on \(server.addresses.map(\.description).joined(separator: ", "))")
        startWatchdog()
    }

    /// Stops answering, then writes what the stats queue still holds.
    public func stop() {
        notifier.notify("STOPPING=1")
        refreshTimer?.cancel()
        watchdogTimer?.cancel()
        metricsServer?.stop()
        encryptedListeners?.stop()
        server.stop()
        encrypted.shutdown()
        stats?.stop()
    }

    /// WATCHDOG=1 at half the interval systemd asked for, only while every UDP loop is turning.
    private func startWatchdog() {
        guard notifier.isActive, let interval = SystemdNotifier.watchdogInterval() else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        timer.schedule(deadline: .now(), repeating: interval / 2)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            if server.isHealthy { notifier.notify("WATCHDOG=1") } else { logger.error("a UDP loop is stuck: withholding the watchdog ping") }
        }
        watchdogTimer = timer
        timer.resume()
    }

    /// SIGHUP: re-reads the config file and applies what SIGHUP applies (the lists, device names and lease
    /// files: `HushConfig.appliesOnReload`), reloads the lists and device names, and names the changes that
    /// need a restart.
    public func reload() {
        if let configPath {
            do {
                let text = String(decoding: FileManager.default.contents(atPath: configPath) ?? Data(), as: UTF8.self)
                let file = try ConfigFile(text: text, path: configPath)
                let outcome = try configuration.withLock { current throws(ConfigError) in
                    let outcome = try current.reloaded(with: file)
                    current = outcome.config
                    return outcome
                }
                if !outcome.applied.isEmpty { logger.info("config changes applied: \(outcome.applied.joined(separator: ", "))") }
                if !outcome.needRestart.isEmpty {
                    logger.notice("config changes that need a restart (systemctl restart hush): \(outcome.needRestart.joined(separator: ", "))")
                }
            } catch {
                logger.error("reload: \(error); keeping the config in force")
            }
        }
        loadLists()
        stats?.refreshDevices(sources: config.deviceSources)
        reloadCertificate()
    }

    /// Re-reads the listeners' certificate and key, so a renewed certificate needs no restart. A pair that
    /// cannot be read or used is refused, and the one in force stays.
    private func reloadCertificate() {
        guard let encryptedListeners else { return }
        do {
            let identity = try encrypted.identity(config)
            try encryptedListeners.replaceIdentity(identity)
            encrypted.report(identity)
        } catch {
            logger.error("TLS certificate not reloaded: \(error); keeping the one in force")
        }
    }

    /// Refreshes subscriptions every `refresh-hours`, and soon after start when one was never fetched.
    /// Downloads run off the answering path; DNS keeps answering with the lists in force.
    private func scheduleRefresh() {
        let config = config
        guard !config.subscriptions.isEmpty, config.refreshHours > 0 else { return }
        let missing = config.subscriptions.contains {
            !FileManager.default.fileExists(atPath: $0.source(in: config.subscriptionDirectory).path)
        }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        let interval = DispatchTimeInterval.seconds(config.refreshHours * 3600)
        timer.schedule(deadline: .now() + (missing ? .seconds(2) : interval), repeating: interval)
        timer.setEventHandler { [weak self] in self?.refreshSubscriptions() }
        refreshTimer = timer
        timer.resume()
    }

    /// Fetches every subscription; reloads the lists when one changed.
    @discardableResult
    public func refreshSubscriptions() -> [(Subscription, ListUpdater.Outcome)] {
        let config = config
        let updater = ListUpdater(directory: config.subscriptionDirectory)
        let outcomes = config.subscriptions.map { ($0, updater.update($0)) }
        for (subscription, outcome) in outcomes {
            switch outcome {
            case .updated(let rules, _): logger.info("list updated: \(subscription.url) (\(rules) rules)")
            case .notModified: logger.debug("list not modified: \(subscription.url)")
            case .refused(let why), .failed(let why): logger.error("list update refused, previous copy kept: \(subscription.url): \(why)")
            }
        }
        if outcomes.contains(where: { if case .updated = $0.1 { true } else { false } }) { loadLists() }
        return outcomes
    }

    /// Loads every list afresh and swaps the result in. A list that cannot be read fails the reload and the
    /// lists in force stay (on first start, Hush runs with what it could read). Bad lines are logged and skipped.
    @discardableResult
    public func loadLists(initial: Bool = false) -> Bool {
        reloadQueue.sync {
            let config = config
            if let problem = BundledLists.problem(for: config) { logger.error("\(problem); blocking only with your own lists") }
            let (loaded, report) = ListLoader.load(BundledLists.sources(for: config))
            for problem in report.problems { logger.warning("list line skipped: \(problem)") }
            if report.moreProblems > 0 { logger.warning("\(report.moreProblems) more list lines skipped") }
            if !report.unreadable.isEmpty {
                logger.error("cannot read \(report.unreadable.joined(separator: ", "))")
                if !initial {
                    logger.error("reload refused: keeping the \(lists.snapshot.block.count) rules in force")
                    return false
                }
            }
            lists.replace(with: loaded)
            stats?.updateFamilies(NameFamilies(loaded))
            MemoryRelease.returnFreedMemory()
            metrics?.listsLoaded(report)
            let blockRules = report.entries.reduce(0) { $0 + $1.blockRules }
            logger.info("lists loaded: \(report.entries.count) lists, \(loaded.block.count) blocked names (\(blockRules) rules), \(loaded.allow.count) allowed, in \(String(format: "%.2f", report.seconds)) s")
            return true
        }
    }
}

/// Parsing a list leaves freed scratch in malloc's arenas; glibc's malloc_trim hands it back to the kernel,
/// so what stays resident is the lists (71 MiB instead of 77 with a million names). Swift's Glibc module does
/// not declare it, hence the lookup.
enum MemoryRelease {
    private typealias Trim = @convention(c) (Int) -> Int32
    private static let trim: Trim? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim").map { unsafeBitCast($0, to: Trim.self) }

    static func returnFreedMemory() {
        _ = trim?(0)
    }
}

/// Logs each answered query at debug level.
struct QueryLogger: AnswerObserver {
    let logger: Logger
    func observe(_ request: Request, _ answer: Answer) {
        logger.debug("\(request.client) \(request.query.type) \(request.query.name) -> \(answer.disposition.label)")
    }
}

/// Why Hush could not start, worded for the person reading the log.
public struct StartupError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
