import Blocklist
import Foundation
import Logging
import Resolver
import Server
import Sockets
import Stats

/// Hush assembled from a config: lists loaded, stages chained, sockets bound. `hush serve` runs one;
/// tests start one in-process on port 0.
public final class HushService: @unchecked Sendable {
    public let config: HushConfig
    public let lists: ListStore
    public let cache: AnswerCache
    public let server: DNSServer
    /// nil when stats are off, or their database could not be opened (DNS runs on regardless).
    public let stats: StatsWriter?
    let logger: Logger
    private let reloadQueue = DispatchQueue(label: "hush.reload")

    public init(config: HushConfig, logger: Logger, observers: [any AnswerObserver] = []) throws {
        self.config = config
        self.logger = logger
        var upstreams = config.upstreams
        if upstreams.isEmpty {
            upstreams = ResolvConf.nameservers(excluding: config.listen)
            logger.info("no upstream configured; using /etc/resolv.conf: \(upstreams.map(\.description).joined(separator: ", "))")
        }
        guard !upstreams.isEmpty else {
            throw ConfigError(path: "configuration", line: nil, key: "upstream.servers",
                              message: "no upstream: give --upstream or set [upstream] servers")
        }
        lists = ListStore()
        cache = AnswerCache(maxBytes: config.cacheSizeMegabytes << 20)
        var cacheSettings = CacheHandler.Settings()
        cacheSettings.minTTL = config.cacheMinTTL
        cacheSettings.maxTTL = config.cacheMaxTTL
        cacheSettings.serveStale = config.serveStale
        let resolver = ResolverChain.make(
            .init(allowedClients: config.allowedClients, blockPolicy: config.blockPolicy, cacheSettings: cacheSettings,
                  forwarding: .init(upstreams: upstreams, timeoutMilliseconds: config.upstreamTimeoutMilliseconds)),
            lists: lists, cache: cache, logger: logger)
        stats = Self.openStats(config, logger: logger)
        var allObservers = observers + [QueryLogger(logger: logger)]
        if let stats { allObservers.append(stats.recorder) }
        let processor = QueryProcessor(resolver: resolver, observers: allObservers)
        server = try DNSServer(
            settings: .init(listen: config.listen, tcpIdleTimeoutSeconds: config.tcpIdleTimeoutSeconds,
                            tcpMaxConnections: config.tcpMaxConnections),
            processor: processor, logger: logger)
        _ = loadLists(initial: true)
    }

    private var refreshTimer: DispatchSourceTimer?

    static func openStats(_ config: HushConfig, logger: Logger) -> StatsWriter? {
        guard config.statsEnabled else { return nil }
        do {
            let store = try StatsStore.openForWriting(path: config.statsDatabasePath)
            logger.info("recording stats in \(config.statsDatabasePath) (privacy: \(config.statsPrivacy.rawValue), kept \(config.statsRetentionDays) days)")
            return StatsWriter(settings: config.statsSettings, store: store, devices: DeviceDirectory(sources: config.deviceSources), logger: logger)
        } catch {
            logger.error("stats are off: cannot open \(config.statsDatabasePath): \(error)")
            return nil
        }
    }

    public func start() {
        stats?.start()
        server.start()
        logger.info("listening on \(server.addresses.map(\.description).joined(separator: ", ")) (UDP and TCP)")
        scheduleRefresh()
    }

    /// Stops answering, then writes what the stats queue still holds.
    public func stop() {
        refreshTimer?.cancel()
        server.stop()
        stats?.stop()
    }

    /// Refreshes subscriptions every `refresh-hours`, and soon after start when one was never fetched.
    /// Downloads run off the answering path; DNS keeps answering with the lists in force.
    private func scheduleRefresh() {
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
            let blockRules = report.entries.reduce(0) { $0 + $1.blockRules }
            logger.info("lists loaded: \(report.entries.count) lists, \(loaded.block.count) blocked names (\(blockRules) rules), \(loaded.allow.count) allowed, in \(String(format: "%.2f", report.seconds)) s")
            return true
        }
    }
}

/// Logs each answered query at debug level.
struct QueryLogger: AnswerObserver {
    let logger: Logger
    func observe(_ request: Request, _ answer: Answer) {
        guard logger.logLevel <= .debug else { return }
        logger.debug("\(request.client) \(request.query.type) \(request.query.name) -> \(answer.disposition.label)")
    }
}
