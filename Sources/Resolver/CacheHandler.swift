import DNSWire

/// Serves answers from the cache and stores what comes back from upstream. When every upstream fails it
/// serves the expired answer instead (RFC 8767), with TTL 30 and an Extended DNS Error saying so.
public struct CacheHandler: Resolving {
    public struct Settings: Sendable, Equatable {
        public var minTTL: UInt32 = 0
        public var maxTTL: UInt32 = 86_400
        public var serveStale = true
        public init() {}
    }

    static let staleTTL: UInt32 = 30

    let cache: AnswerCache
    let settings: Settings
    let next: any Resolving

    public init(cache: AnswerCache, settings: Settings, next: any Resolving) {
        self.cache = cache
        self.settings = settings
        self.next = next
    }

    public func resolve(_ request: Request) -> Resolution {
        let key = CacheKey(request.query)
        let hit = cache.lookup(key)
        if let hit, !hit.expired {
            return .now(Answer(.stored(ServedMessage(message: hit.message, age: hit.age, ttlCap: hit.lifetime)), .cached))
        }
        let stale = settings.serveStale ? hit : nil
        return next.resolve(request).map { [cache, settings] answer in
            if case .stored(let served) = answer.content, served.message.rcode != .servFail {
                if let ttl = served.message.cacheTTL {
                    let lifetime = min(max(ttl, settings.minTTL), settings.maxTTL)
                    cache.store(served.message, for: key, lifetime: lifetime)
                }
                return answer
            }
            // The upstreams failed (no answer, or SERVFAIL): an old answer beats none.
            if let stale {
                return Answer(.stored(ServedMessage(message: stale.message, ttlCap: Self.staleTTL)), .stale)
            }
            return answer
        }
    }
}
