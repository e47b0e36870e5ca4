import Blocklist
import DNSWire
import Resolver
import Sockets
import Testing
import TestSupport

/// Each stage alone, in front of a stub next stage: what it answers itself and what it passes on.
@Suite struct StageTests {
    static let lists: ListStore = {
        var rules = RuleSets()
        _ = ListParser.parse(Array("tracking.test\n||log*-normal-*.tiktokv.test^\n".utf8), source: "block.txt", listIndex: 0,
                             purpose: .block, into: &rules)
        rules.seal()
        return ListStore(ListSet(lists: [ListInfo(source: "block.txt")], rules: rules))
    }()

    func answer(_ stage: any Resolving, _ request: Request) -> Answer? {
        if case .now(let answer) = stage.resolve(request) { return answer }
        Issue.record("a stage in front of a stub answers at once")
        return nil
    }

    @Test func accessControlRefusesStrangersWithoutAskingFurther() {
        let next = StubNext()
        let stage = AccessControlHandler(allowed: AddressRange.privateNetworks, next: next)
        #expect(answer(stage, StageHarness.request("a.test", from: "203.0.113.9"))?.disposition == .refused(reason: "client not in allowed ranges"))
        #expect(next.requests.isEmpty)
        #expect(answer(stage, StageHarness.request("a.test", from: "192.168.1.20"))?.disposition == .forwarded(upstream: "stub", latency: 0))
        #expect(next.requests.count == 1)
    }

    @Test func blockingAnswersBlockedNamesAndPatternsItself() {
        let next = StubNext()
        let stage = BlockingHandler(lists: Self.lists, policy: BlockPolicy(), next: next)
        for name in ["x.tracking.test", "log1-normal-va.tiktokv.test"] {
            #expect(answer(stage, StageHarness.request(name))?.disposition.isBlocked == true, "\(name)")
        }
        #expect(next.requests.isEmpty)
        #expect(answer(stage, StageHarness.request("fine.test"))?.disposition.isBlocked == false)
        #expect(next.requests.map(\.query.name.description) == ["fine.test"])
    }

    @Test func theBypassGuardAnswersItsNamesAndPassesTheRest() {
        let next = StubNext()
        let stage = BypassGuard(settings: BypassGuard.Settings(), next: next)
        guard case .synthesized(let canary)? = answer(stage, StageHarness.request("use-application-dns.net"))?.content else {
            Issue.record("answered here"); return
        }
        #expect(canary.rcode == .nxDomain)
        guard case .synthesized(let discovery)? = answer(stage, StageHarness.request("_dns.resolver.arpa", .svcb))?.content else {
            Issue.record("answered here"); return
        }
        #expect(discovery.rcode == .noError && discovery.records.isEmpty && discovery.negativeSOA != nil)
        #expect(next.requests.isEmpty)
        _ = answer(stage, StageHarness.request("notmask.icloud.com"))
        #expect(next.requests.count == 1, "only the names and what is below them")
    }

    @Test func minimalAnyShrinksOnlyAnExistingNamesUDPAnswer() {
        let next = StubNext { request in
            let rcode: RCode = request.query.name.description == "missing.test" ? .nxDomain : .noError
            let records: [(RecordType, [UInt8])] = rcode == .noError ? [(.a, [10, 0, 0, 1]), (.a, [10, 0, 0, 2])] : []
            return Answer(.stored(ServedMessage(message: StageHarness.stored(for: request.query, rcode: rcode, records: records))),
                          .forwarded(upstream: "stub", latency: 0))
        }
        let stage = MinimalAnyHandler(next: next)
        #expect(answer(stage, StageHarness.request("many.test", .any))?.disposition == .minimalAny)
        #expect(answer(stage, StageHarness.request("many.test", .any, transport: .tcp))?.disposition != .minimalAny)
        guard case .stored(let missing)? = answer(stage, StageHarness.request("missing.test", .any))?.content else {
            Issue.record("NXDOMAIN passes through"); return
        }
        #expect(missing.message.rcode == .nxDomain)
        #expect(answer(stage, StageHarness.request("many.test", .a))?.disposition != .minimalAny)
    }

    @Test func rateLimitingSparesExemptClientsAndCountsReplyBytes() {
        var settings = RateLimitHandler.Settings()
        settings.perAddressBytesBurst = 1000
        settings.perAddressBytesPerSecond = 1
        let big = SynthesizedAnswer(rcode: .noError, records: [SynthesizedRecord(type: .txt, ttl: 60, rdata: [UInt8](repeating: 120, count: 400))])
        let next = StubNext { _ in .synthesized(big, .cached) }
        let stage = RateLimitHandler(settings: settings, next: next, clock: { 0 })
        let passed = (0..<10).filter { _ in answer(stage, StageHarness.request("big.test", .txt, from: "192.168.1.30"))?.disposition == .cached }
        #expect(passed.count == 3, "three 440-byte replies spend a 1000-byte burst")
        let exempt = (0..<10).filter { _ in answer(stage, StageHarness.request("big.test", .txt, from: "127.0.0.1"))?.disposition == .cached }
        #expect(exempt.count == 10)
    }

    /// Over a connection (TCP, TLS, HTTPS) an address cannot be spoofed: the excess is refused outright,
    /// never silenced or truncated, and reply bytes are not charged.
    @Test func rateLimitingRefusesTheExcessOnConnections() {
        var settings = RateLimitHandler.Settings()
        settings.perAddressBurst = 2
        settings.perAddressPerSecond = 1
        settings.perAddressBytesBurst = 512
        let stage = RateLimitHandler(settings: settings, next: StubNext(), clock: { 0 })
        for transport in [Request.Transport.tcp, .tls, .https] {
            let client = "192.168.1.\(40 + [Request.Transport.tcp, .tls, .https].firstIndex(of: transport)!)"
            let answers = (0..<4).map { _ in answer(stage, StageHarness.request("a.test", from: client, transport: transport)) }
            #expect(answers.prefix(2).allSatisfy { $0?.disposition == .forwarded(upstream: "stub", latency: 0) }, "\(transport)")
            #expect(answers.suffix(2).allSatisfy { $0?.disposition == .rateLimited }, "\(transport)")
            guard case .synthesized(let refused)? = answers.last??.content else {
                Issue.record("\(transport): the excess gets an answer")
                continue
            }
            #expect(refused.rcode == .refused && !refused.truncated)
        }
    }
}
