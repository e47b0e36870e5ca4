import Foundation
import Logging
import Blocklist
import Resolver
import Sockets
import Stats

/// Every setting, with its default. The config file fills it in; command-line flags override the file.
/// `config/hush.toml` documents each key, and a test decodes that file.
public struct HushConfig: Sendable {
    public var listen: [SocketAddress] = ["0.0.0.0:53", "[::]:53"].compactMap { SocketAddress($0) }
    public var allowedClients: [AddressRange] = AddressRange.privateNetworks
    public var tcpIdleTimeoutSeconds = 10
    public var tcpMaxConnections = 256

    /// Empty means the nameservers in /etc/resolv.conf.
    public var upstreams: [UpstreamSpec] = []
    public var upstreamTimeoutMilliseconds = 1500
    /// CA files by upstream, as written in `upstream.servers` (`[upstream.ca-files]`); others use the system's store.
    public var upstreamCAFiles: [String: String] = [:]
    /// Plain DNS servers that find a DoH upstream's address; empty means the plain upstreams in the list.
    public var bootstrap: [SocketAddress] = []
    /// Seconds an unused connection to an encrypted upstream stays open.
    public var upstreamIdleSeconds = 30

    /// DNS over TLS and over HTTPS for the household's devices; empty lists turn them off.
    public var tlsListen: [SocketAddress] = []
    public var httpsListen: [SocketAddress] = []
    public var httpsPath = "/dns-query"
    /// The certificate and key the encrypted listeners present; nil makes a self-signed pair in the state directory.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// The name in the self-signed certificate and in the DDR answer.
    public var tlsName = "hush.lan"
    /// Advertise the encrypted listeners at `_dns.resolver.arpa` (RFC 9462).
    public var discoveryOfDesignatedResolvers = true

    public var cacheSizeMegabytes = 16
    public var cacheMinTTL: UInt32 = 0
    public var cacheMaxTTL: UInt32 = 86_400
    public var serveStale = true

    public var bundledLists = true
    /// Where the bundled lists are; nil means the first of the usual places that exists.
    public var bundledListsDirectory: String?
    public var blocklists: [String] = []
    public var allowlists: [String] = []
    /// Lists given with --blocklist and --allowlist, loaded beside the config's.
    public var commandLineBlocklists: [String] = []
    public var commandLineAllowlists: [String] = []
    public var blockPolicy = BlockPolicy()
    /// Bundled lists that are off unless named here (their header says `Default: off`), by file name
    /// without `.txt`.
    public var bundledOptional: [String] = []
    public var bypass = BypassGuard.Settings()
    /// Lists fetched by URL into the state directory.
    public var subscriptions: [Subscription] = []
    /// Hours between subscription refreshes while serving; 0 turns the schedule off.
    public var refreshHours = 24

    /// Where Hush keeps what it fetches and records.
    public var stateDirectory = "/var/lib/hush"
    public var subscriptionDirectory: String { stateDirectory + "/lists" }

    public var logLevel: Logger.Level = .info

    /// nil turns rate limiting off.
    public var rateLimit: RateLimitHandler.Settings? = RateLimitHandler.Settings()
    /// The user to run as after binding, when started as root.
    public var runAsUser: String?

    /// Where Prometheus metrics are served (GET /metrics); nil turns them off.
    public var metricsListen: SocketAddress?

    public var statsEnabled = true
    /// nil means stats.db in the state directory.
    public var statsDatabase: String?
    public var statsPrivacy: StatsSettings.Privacy = .blocked
    public var statsRetentionDays = 90
    /// Suggest telemetry no list names yet, from each device's own queries (`hush suggest`).
    public var statsDiscovery = true
    /// The local list `hush suggest --apply` writes, loaded like any list.
    public var suggestedListPath: String { stateDirectory + "/suggested.txt" }
    public var statsDatabasePath: String { statsDatabase ?? stateDirectory + "/stats.db" }

    /// MAC or address → name, from [device-names].
    public var deviceNames: [String: String] = [:]
    public var leaseFiles: [String] = []
    public var deviceRefreshSeconds = 60

    public var statsSettings: StatsSettings {
        var settings = StatsSettings(path: statsDatabasePath)
        settings.privacy = statsPrivacy
        settings.retentionDays = statsRetentionDays
        settings.discovery = statsDiscovery
        return settings
    }

    public var deviceSources: DeviceDirectory.Sources {
        var sources = DeviceDirectory.Sources()
        sources.configuredNames = deviceNames
        sources.leaseFiles = leaseFiles
        sources.refreshSeconds = Double(deviceRefreshSeconds)
        return sources
    }

    /// The file this configuration was read from, and the flags given over it: what a reload starts from.
    var file: ConfigFile?
    var overrides: [Override] = []

    public init() {}

    /// Reads a config file over the defaults.
    public static func load(path: String) throws(ConfigError) -> HushConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: path, line: nil, key: nil, message: "cannot read the file")
        }
        return try parse(text: String(decoding: data, as: UTF8.self), path: path)
    }

    /// Reads config text over the defaults; `path` names it in errors.
    public static func parse(text: String, path: String) throws(ConfigError) -> HushConfig {
        let file = try ConfigFile(text: text, path: path)
        var config = HushConfig()
        try config.apply(file)
        config.file = file
        return config
    }

    /// Applies the file's entries for which `include` says yes, in file order.
    mutating func apply(_ file: ConfigFile, including include: (String) -> Bool = { _ in true }) throws(ConfigError) {
        for (key, entry) in file.entries.sorted(by: { $0.value.line < $1.value.line }) where include(key) {
            func fail(_ message: String) -> ConfigError {
                ConfigError(path: file.path, line: entry.line, key: key, message: message)
            }
            if key.hasPrefix("upstream.ca-files.") {
                guard case .string(let path) = entry.value else { throw fail("expected a \"path\" to a PEM file") }
                upstreamCAFiles[String(key.dropFirst("upstream.ca-files.".count))] = path
                continue
            }
            if key.hasPrefix("device-names.") {
                let device = String(key.dropFirst("device-names.".count)).lowercased()
                guard DeviceDirectory.normalisedMAC(device) != nil || IPAddress(device) != nil else {
                    throw fail("a device is a MAC address or an IP address")
                }
                guard case .string(let name) = entry.value else { throw fail("expected a \"name\"") }
                deviceNames[DeviceDirectory.normalisedMAC(device) ?? IPAddress(device)!.description] = name
                continue
            }
            guard let setting = Self.settings[key] else {
                throw fail("unknown key (known: \(Self.settings.keys.sorted().joined(separator: ", ")))")
            }
            do {
                try setting.apply(&self, entry.value)
            } catch {
                throw fail(error.message)
            }
        }
    }

    /// Sets one key from outside the file (a command-line flag), checked by the same rule and message as the
    /// file's key, and kept so that a reload applies it again over the re-read file.
    public mutating func set(_ key: String, _ value: ConfigFile.Value, from flag: String) throws(ConfigError) {
        try override(Override(key: key, value: value, flag: flag))
        overrides.append(Override(key: key, value: value, flag: flag))
    }

    /// A value a flag gave for a key.
    public struct Override: Sendable {
        var key: String
        var value: ConfigFile.Value
        var flag: String
    }

    private mutating func override(_ override: Override) throws(ConfigError) {
        guard let setting = Self.settings[override.key] else {
            throw ConfigError(path: override.flag, line: nil, key: nil, message: "sets no known key (\(override.key))")
        }
        do {
            try setting.apply(&self, override.value)
        } catch {
            throw ConfigError(path: override.flag, line: nil, key: nil, message: error.message)
        }
    }

    /// What SIGHUP makes of a re-read config file: the keys SIGHUP applies take their new values, every
    /// other key keeps the value in force, and the flags apply again on top. Returns the new configuration
    /// and the changed keys, split into those applied and those that need a restart.
    public func reloaded(with newFile: ConfigFile) throws(ConfigError) -> (config: HushConfig, applied: [String], needRestart: [String]) {
        let oldEntries = file?.entries ?? [:]
        var next = HushConfig()
        if let file { try next.apply(file) { !Self.appliesOnReload($0) } }
        try next.apply(newFile) { Self.appliesOnReload($0) }
        for override in overrides { try next.override(override) }
        next.overrides = overrides
        next.commandLineBlocklists = commandLineBlocklists
        next.commandLineAllowlists = commandLineAllowlists
        next.file = newFile
        var applied: [String] = []
        var needRestart: [String] = []
        for key in Set(oldEntries.keys).union(newFile.entries.keys).sorted() where oldEntries[key]?.value != newFile.entries[key]?.value {
            if Self.appliesOnReload(key) { applied.append(key) } else { needRestart.append(key) }
        }
        return (next, applied, needRestart)
    }

    struct SettingError: Error { var message: String }
    typealias Setter = @Sendable (inout HushConfig, ConfigFile.Value) throws(SettingError) -> Void

    /// How one key is read, and whether SIGHUP applies a change to it (the lists and device names) or it
    /// needs a restart (sockets, upstreams, the cache, everything the running stages were built with).
    struct Setting: Sendable {
        var apply: Setter
        var appliesOnReload: Bool

        static func reload(_ apply: @escaping Setter) -> Setting { Setting(apply: apply, appliesOnReload: true) }
        static func restart(_ apply: @escaping Setter) -> Setting { Setting(apply: apply, appliesOnReload: false) }
    }

    /// A rate-limit number, a restart-only setting.
    static func rateLimit(_ field: WritableKeyPath<RateLimitHandler.Settings, Double> & Sendable, _ range: ClosedRange<Int>) -> Setting {
        .restart { config, value throws(SettingError) in config.rateLimit?[keyPath: field] = Double(try integer(value, range)) }
    }

    /// Whether SIGHUP applies `key`; `[device-names]` entries are reloaded too.
    public static func appliesOnReload(_ key: String) -> Bool {
        key.hasPrefix("device-names.") || settings[key]?.appliesOnReload == true
    }

    /// Each key and how it is read.
    static let settings: [String: Setting] = [
        "server.listen": .restart { config, value throws(SettingError) in config.listen = try addresses(value, defaultPort: 53) },
        "server.allow-clients": .restart { config, value throws(SettingError) in config.allowedClients = try ranges(value) },
        "server.tcp-idle-timeout": .restart { config, value throws(SettingError) in config.tcpIdleTimeoutSeconds = try integer(value, 1...3600) },
        "server.tcp-max-connections": .restart { config, value throws(SettingError) in config.tcpMaxConnections = try integer(value, 1...65_536) },
        "upstream.servers": .restart { config, value throws(SettingError) in
            config.upstreams = try strings(value).map { text throws(SettingError) in
                guard let spec = UpstreamSpec(text) else {
                    throw SettingError(message: "\"\(text)\" is not an upstream such as 192.168.1.1, tls://9.9.9.9#dns.quad9.net or https://dns.quad9.net/dns-query")
                }
                return spec
            }
        },
        "upstream.bootstrap": .restart { config, value throws(SettingError) in config.bootstrap = try addresses(value, defaultPort: 53) },
        "upstream.idle-timeout": .restart { config, value throws(SettingError) in config.upstreamIdleSeconds = try integer(value, 1...3600) },
        "server.tls-listen": .restart { config, value throws(SettingError) in config.tlsListen = try addresses(value, defaultPort: 853) },
        "server.https-listen": .restart { config, value throws(SettingError) in config.httpsListen = try addresses(value, defaultPort: 443) },
        "server.https-path": .restart { config, value throws(SettingError) in
            let path = try string(value)
            guard path.hasPrefix("/"), !path.contains("?") else { throw SettingError(message: "expected a path such as \"/dns-query\"") }
            config.httpsPath = path
        },
        "server.tls-cert": .restart { config, value throws(SettingError) in config.tlsCertificate = try optionalPath(value) },
        "server.tls-key": .restart { config, value throws(SettingError) in config.tlsKey = try optionalPath(value) },
        "server.tls-name": .restart { config, value throws(SettingError) in
            let name = try string(value)
            guard !name.isEmpty, UpstreamSpec.isHostName(name) else { throw SettingError(message: "expected a host name such as \"hush.lan\"") }
            config.tlsName = name
        },
        "server.ddr": .restart { config, value throws(SettingError) in config.discoveryOfDesignatedResolvers = try boolean(value) },
        "upstream.timeout-ms": .restart { config, value throws(SettingError) in config.upstreamTimeoutMilliseconds = try integer(value, 50...30_000) },
        "cache.size-mb": .restart { config, value throws(SettingError) in config.cacheSizeMegabytes = try integer(value, 0...4096) },
        "cache.min-ttl": .restart { config, value throws(SettingError) in config.cacheMinTTL = UInt32(try integer(value, 0...604_800)) },
        "cache.max-ttl": .restart { config, value throws(SettingError) in config.cacheMaxTTL = UInt32(try integer(value, 0...604_800)) },
        "cache.serve-stale": .restart { config, value throws(SettingError) in config.serveStale = try boolean(value) },
        "blocking.bundled-lists": .reload { config, value throws(SettingError) in config.bundledLists = try boolean(value) },
        "blocking.bundled-lists-dir": .reload { config, value throws(SettingError) in config.bundledListsDirectory = try string(value) },
        "blocking.blocklists": .reload { config, value throws(SettingError) in config.blocklists = try strings(value) },
        "blocking.bundled-optional": .reload { config, value throws(SettingError) in config.bundledOptional = try strings(value) },
        "blocking.doh-canary": .restart { config, value throws(SettingError) in config.bypass.dohCanary = try boolean(value) },
        "blocking.private-relay": .restart { config, value throws(SettingError) in config.bypass.privateRelay = try boolean(value) },
        "blocking.resolver-arpa": .restart { config, value throws(SettingError) in config.bypass.resolverDiscovery = try boolean(value) },
        "blocking.allowlists": .reload { config, value throws(SettingError) in config.allowlists = try strings(value) },
        "blocking.mode": .restart { config, value throws(SettingError) in
            guard let mode = blockMode(try string(value)) else {
                throw SettingError(message: "expected null, nxdomain, refused or IP addresses such as \"0.0.0.0,::\"")
            }
            config.blockPolicy.mode = mode
        },
        "blocking.subscriptions": .reload { config, value throws(SettingError) in
            config.subscriptions = []
            for spec in try strings(value) {
                do {
                    config.subscriptions.append(try Subscription(spec: spec))
                } catch {
                    throw SettingError(message: "\(error)")
                }
            }
        },
        "blocking.refresh-hours": .restart { config, value throws(SettingError) in config.refreshHours = try integer(value, 0...8760) },
        "storage.state-dir": .restart { config, value throws(SettingError) in config.stateDirectory = try string(value) },
        "blocking.ttl": .restart { config, value throws(SettingError) in config.blockPolicy.ttl = UInt32(try integer(value, 0...86_400)) },
        "stats.enabled": .restart { config, value throws(SettingError) in config.statsEnabled = try boolean(value) },
        "stats.db": .restart { config, value throws(SettingError) in
            let path = try string(value)
            config.statsDatabase = path.isEmpty ? nil : path
        },
        "stats.privacy": .restart { config, value throws(SettingError) in
            guard let privacy = StatsSettings.Privacy(rawValue: try string(value)) else {
                throw SettingError(message: "expected all, blocked or none")
            }
            config.statsPrivacy = privacy
        },
        "stats.discovery": .restart { config, value throws(SettingError) in config.statsDiscovery = try boolean(value) },
        "stats.retention-days": .restart { config, value throws(SettingError) in config.statsRetentionDays = try integer(value, 1...3650) },
        "devices.lease-files": .reload { config, value throws(SettingError) in config.leaseFiles = try strings(value) },
        "devices.refresh-seconds": .reload { config, value throws(SettingError) in config.deviceRefreshSeconds = try integer(value, 5...86_400) },
        "rate-limit.enabled": .restart { config, value throws(SettingError) in
            config.rateLimit = try boolean(value) ? (config.rateLimit ?? RateLimitHandler.Settings()) : nil
        },
        "rate-limit.per-address-qps": rateLimit(\.perAddressPerSecond, 1...1_000_000),
        "rate-limit.per-address-burst": rateLimit(\.perAddressBurst, 1...10_000_000),
        "rate-limit.per-network-qps": rateLimit(\.perNetworkPerSecond, 1...10_000_000),
        "rate-limit.per-network-burst": rateLimit(\.perNetworkBurst, 1...100_000_000),
        "rate-limit.per-address-reply-bytes": rateLimit(\.perAddressBytesPerSecond, 512...1_000_000_000),
        "rate-limit.per-address-reply-burst-bytes": rateLimit(\.perAddressBytesBurst, 512...1_000_000_000),
        "rate-limit.per-network-reply-bytes": rateLimit(\.perNetworkBytesPerSecond, 512...1_000_000_000),
        "rate-limit.per-network-reply-burst-bytes": rateLimit(\.perNetworkBytesBurst, 512...1_000_000_000),
        "rate-limit.exempt": .restart { config, value throws(SettingError) in config.rateLimit?.exempt = try ranges(value) },
        "server.user": .restart { config, value throws(SettingError) in
            let name = try string(value)
            config.runAsUser = name.isEmpty ? nil : name
        },
        "metrics.listen": .restart { config, value throws(SettingError) in
            let text = try string(value)
            guard text.isEmpty || SocketAddress(text, defaultPort: 9153) != nil else {
                throw SettingError(message: "\"\(text)\" is not an address such as 127.0.0.1:9153")
            }
            config.metricsListen = text.isEmpty ? nil : SocketAddress(text, defaultPort: 9153)
        },
        "log.level": .restart { config, value throws(SettingError) in
            guard let level = Logger.Level(rawValue: try string(value)) else {
                throw SettingError(message: "expected trace, debug, info, notice, warning, error or critical")
            }
            config.logLevel = level
        },
    ]

    /// "null", "nxdomain", "refused", or one or two addresses ("10.0.0.1", "10.0.0.1,fd00::1").
    public static func blockMode(_ text: String) -> BlockPolicy.Mode? {
        switch text.lowercased() {
        case "null", "zero", "0.0.0.0": return .null
        case "nxdomain": return .nxdomain
        case "refused": return .refused
        default:
            var v4: [UInt8]?
            var v6: [UInt8]?
            for part in text.split(separator: ",") {
                guard let address = IPAddress(part.trimmed) else { return nil }
                if address.isIPv4 { v4 = address.bytes } else { v6 = address.bytes }
            }
            return v4 == nil && v6 == nil ? nil : .address(v4: v4, v6: v6)
        }
    }

    static func string(_ value: ConfigFile.Value) throws(SettingError) -> String {
        guard case .string(let text) = value else { throw SettingError(message: "expected a \"string\"") }
        return text
    }

    /// A path, or "" for none.
    static func optionalPath(_ value: ConfigFile.Value) throws(SettingError) -> String? {
        let path = try string(value)
        return path.isEmpty ? nil : path
    }

    static func strings(_ value: ConfigFile.Value) throws(SettingError) -> [String] {
        switch value {
        case .strings(let items): return items
        case .string(let text): return [text]
        default: throw SettingError(message: "expected [\"a\", \"b\"]")
        }
    }

    static func integer(_ value: ConfigFile.Value, _ range: ClosedRange<Int>) throws(SettingError) -> Int {
        guard case .integer(let number) = value else { throw SettingError(message: "expected a number") }
        guard range.contains(number) else {
            throw SettingError(message: "\(number) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    static func boolean(_ value: ConfigFile.Value) throws(SettingError) -> Bool {
        guard case .boolean(let flag) = value else { throw SettingError(message: "expected true or false") }
        return flag
    }

    static func addresses(_ value: ConfigFile.Value, defaultPort: UInt16) throws(SettingError) -> [SocketAddress] {
        var result: [SocketAddress] = []
        for text in try strings(value) {
            guard let address = SocketAddress(text, defaultPort: defaultPort) else {
                throw SettingError(message: "\"\(text)\" is not an address such as 192.168.1.2:53 or [::1]:53")
            }
            result.append(address)
        }
        return result
    }

    static func ranges(_ value: ConfigFile.Value) throws(SettingError) -> [AddressRange] {
        var result: [AddressRange] = []
        for text in try strings(value) {
            guard let range = AddressRange(text) else {
                throw SettingError(message: "\"\(text)\" is not a range such as 192.168.0.0/16")
            }
            result.append(range)
        }
        return result
    }
}
