import Blocklist
import DNSWire
import Logging
import Sockets

/// The one place that states the order of the stages.
///
/// 1. Access control: strangers are refused before anything is spent on them.
/// 2. Rate limiting: a flood from one address or network is cut before it costs lookups or upstream work.
/// 3. Bypass guard: the names that would let a device slip past Hush (browsers' DoH canary, iCloud
///    Private Relay, resolver discovery) get their fixed answers, whatever the lists say.
/// 4. Blocking: a blocked name never reaches the cache or an upstream, whatever the type; answers coming
///    back from the cache or upstream pass through it on their way out, so CNAME uncloaking covers both.
/// 5. Minimal ANY: an existing name's ANY over UDP is answered with one HINFO (RFC 8482), so ANY cannot
///    amplify; the name's real status and its CNAME pass through.
/// 6. Cache: answers from memory, stores what upstream says, serves stale when upstream fails.
/// 7. Coalescing: identical misses in flight share one upstream exchange.
/// 8. Forwarding: the upstream servers.
/// A stage that is off (rate limiting, the bypass guard) is simply absent.
public enum ResolverChain {
    public struct Configuration: Sendable {
        public var allowedClients: [AddressRange]
        public var blockPolicy: BlockPolicy
        public var cacheSettings: CacheHandler.Settings
        public var forwarding: ForwardingHandler.Settings
        /// nil turns rate limiting off.
        public var rateLimit: RateLimitHandler.Settings?
        public var bypass: BypassGuard.Settings

        public init(allowedClients: [AddressRange], blockPolicy: BlockPolicy,
                    cacheSettings: CacheHandler.Settings, forwarding: ForwardingHandler.Settings,
                    rateLimit: RateLimitHandler.Settings? = RateLimitHandler.Settings(),
                    bypass: BypassGuard.Settings = BypassGuard.Settings()) {
            self.allowedClients = allowedClients
            self.blockPolicy = blockPolicy
            self.cacheSettings = cacheSettings
            self.forwarding = forwarding
            self.rateLimit = rateLimit
            self.bypass = bypass
        }
    }

    /// The first stage, and the upstream replies an answering loop may take itself.
    public struct Built: Sendable {
        public var resolver: any Resolving
        public var upstreamReplies: (any UpstreamReplySource)?
    }

    public static func make(_ configuration: Configuration, lists: ListStore, cache: AnswerCache, logger: Logger) -> Built {
        let forwarding = ForwardingHandler(settings: configuration.forwarding, logger: logger)
        let coalescing = CoalescingHandler(next: forwarding)
        let caching = CacheHandler(cache: cache, settings: configuration.cacheSettings, next: coalescing)
        let minimalAny = MinimalAnyHandler(next: caching)
        let blocking = BlockingHandler(lists: lists, policy: configuration.blockPolicy, next: minimalAny)
        let guarded: any Resolving = configuration.bypass.isEmpty
            ? blocking : BypassGuard(settings: configuration.bypass, ttl: configuration.blockPolicy.ttl, next: blocking)
        let limited: any Resolving = configuration.rateLimit.map { RateLimitHandler(settings: $0, next: guarded) } ?? guarded
        return Built(resolver: AccessControlHandler(allowed: configuration.allowedClients, next: limited),
                     upstreamReplies: forwarding.pool)
    }
}
