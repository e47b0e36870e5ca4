import DNSWire
import Resolver
import Testing

@Suite struct AnswerCacheTests {
    func message(_ name: String) throws -> (CacheKey, StoredMessage) {
        let query: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0] + DomainName(name).wire + [0, 1, 0, 1]
        guard case .query(let parsed) = QueryParser.parse(query) else { throw WireError.truncated }
        var reply = query
        reply[2] = 0x81
        reply[3] = 0x80
        reply[7] = 1
        reply += [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]
        return (CacheKey(parsed), try StoredMessage(upstreamReply: reply, expectedID: 1, question: parsed))
    }

    @Test func staysUnderItsByteBoundEvictingTheLeastRecentlyUsed() throws {
        let cache = AnswerCache(maxBytes: 4_000)
        let (firstKey, firstMessage) = try message("first.test")
        cache.store(firstMessage, for: firstKey, lifetime: 60, now: 0)
        for i in 0..<100 {
            let (key, stored) = try message("name\(i).test")
            cache.store(stored, for: key, lifetime: 60, now: 0)
            #expect(cache.lookup(firstKey, now: 1) != nil, "used just now, so never the one evicted")
            #expect(cache.statistics.bytes <= 4_000)
        }
        let statistics = cache.statistics
        #expect(statistics.evictions > 50)
        #expect(statistics.entries < 30)
        #expect(cache.lookup(try message("name0.test").0, now: 1) == nil, "the oldest untouched entry went first")
        #expect(cache.lookup(try message("name99.test").0, now: 1) != nil)
    }

    @Test func expiresThenKeepsForStaleThenForgets() throws {
        let cache = AnswerCache(maxBytes: 1 << 20, staleWindow: 100)
        let (key, stored) = try message("ttl.test")
        cache.store(stored, for: key, lifetime: 60, now: 1000)
        #expect(cache.lookup(key, now: 1030)?.expired == false)
        #expect(cache.lookup(key, now: 1030)?.age == 30)
        #expect(cache.lookup(key, now: 1070)?.expired == true)
        #expect(cache.lookup(key, now: 1161) == nil)
        #expect(cache.statistics.entries == 0)
    }
}
