import Blocklist
import DNSWire
import Logging
import Sockets

/// The one place that states the order of the stages.
///
/// 1. Access control: strangers are refused before anything is spent on them.
/// 2. Rate limiting: a flood from one address or network is cut before it costs lookups or upstream work.
/// 3. Blocking: a blocked name never reaches the cache or an upstream, whatever the type; answers coming
///    back from the cache or upstream pass through it on their way out, so CNAME uncloaking covers both.
/// 4. Minimal ANY: an existing name's ANY over UDP is answered with one HINFO (RFC 8482), so ANY cannot
///    amplify; the name's real status and its CNAME pass through.
/// 5. Cache: answers from memory, stores what upstream says, serves stale when upstream fails.
/// 6. Coalescing: identical misses in flight share one upstream exchange.
/// 7. Forwarding: the upstream servers.
/// A stage that is off (rate limiting) is simply absent.
public enum ResolverChain {
    public struct Configuration: Sendable {
        public var allowedClients: [AddressRange]
        public var blockPolicy: BlockPolicy
        public var cacheSettings: CacheHandler.Settings
        public var forwarding: ForwardingHandler.Settings
        /// nil turns rate limiting off.
        public var rateLimit: RateLimitHandler.Settings?

        public init(allowedClients: [AddressRange], blockPolicy: BlockPolicy,
                    cacheSettings: CacheHandler.Settings, forwarding: ForwardingHandler.Settings,
                    rateLimit: RateLimitHandler.Settings? = RateLimitHandler.Settings()) {
            self.allowedClients = allowedClients
            self.blockPolicy = blockPolicy
            self.cacheSettings = cacheSettings
            self.forwarding = forwarding
            self.rateLimit = rateLimit
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
        let limited: any Resolving = configuration.rateLimit.map { RateLimitHandler(settings: $0, next: blocking) } ?? blocking
        return Built(resolver: AccessControlHandler(allowed: configuration.allowedClients, next: limited),
                     upstreamReplies: forwarding.pool)
    }
}
