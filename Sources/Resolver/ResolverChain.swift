import Blocklist
import DNSWire
import Logging
import Sockets

/// The one place that states the order of the stages.
///
/// 1. Access control: strangers are refused before anything is spent on them.
/// 2. Blocking: a blocked name never reaches the cache or an upstream; answers coming back from the
///    cache or upstream pass through it on their way out, so CNAME uncloaking covers both.
/// 3. Cache: answers from memory, stores what upstream says, serves stale when upstream fails.
/// 4. Coalescing: identical misses in flight share one upstream exchange.
/// 5. Forwarding: the upstream servers.
public enum ResolverChain {
    public struct Configuration: Sendable {
        public var allowedClients: [AddressRange]
        public var blockPolicy: BlockPolicy
        public var cacheSettings: CacheHandler.Settings
        public var forwarding: ForwardingHandler.Settings

        public init(allowedClients: [AddressRange], blockPolicy: BlockPolicy,
                    cacheSettings: CacheHandler.Settings, forwarding: ForwardingHandler.Settings) {
            self.allowedClients = allowedClients
            self.blockPolicy = blockPolicy
            self.cacheSettings = cacheSettings
            self.forwarding = forwarding
        }
    }

    public static func make(_ configuration: Configuration, lists: ListStore, cache: AnswerCache, logger: Logger) -> any Resolving {
        let forwarding = ForwardingHandler(settings: configuration.forwarding, logger: logger)
        let coalescing = CoalescingHandler(next: forwarding)
        let caching = CacheHandler(cache: cache, settings: configuration.cacheSettings, next: coalescing)
        let blocking = BlockingHandler(lists: lists, policy: configuration.blockPolicy, next: caching)
        return AccessControlHandler(allowed: configuration.allowedClients, next: blocking)
    }
}
