import Dispatch
import DNSWire
import Foundation
import Logging
import Resolver
import Sockets
import Testing
import TestSupport

@Suite struct EventualTests {
    /// The upstream reader can fulfil an answer while the answering thread is still attaching to it; each
    /// waiter must run exactly once, with the first value given, whichever side comes first.
    @Test func aPendingAnswerReachesEveryWaiterOnceWhicheverSideComesFirst() {
        let runs = LockedCounter()
        let wrong = LockedCounter()
        let group = DispatchGroup()
        for round in 0..<2_000 {
            let pending = Pending<Int>()
            group.enter()
            DispatchQueue.global().async {
                pending.fulfil(round)
                pending.fulfil(-1)
                group.leave()
            }
            let mapped = pending.map { $0 * 2 }
            for _ in 0..<2 {
                group.enter()
                pending.whenReady { value in
                    runs.increment()
                    if value != round { wrong.increment() }
                    group.leave()
                }
            }
            group.enter()
            mapped.whenReady { value in
                runs.increment()
                if value != round * 2 { wrong.increment() }
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 10) == .success)
        #expect(runs.value == 6_000)
        #expect(wrong.value == 0)
    }

    /// The real stages with a real upstream: a miss waits for the upstream, and the same question next
    /// time is answered on the spot, with nothing pending (the fast path allocates no continuation).
    @Test func aMissIsAnsweredLaterAndTheCacheHitNow() throws {
        let upstream = try StubUpstream()
        upstream.add("hit.test", .a("10.1.2.3"))
        let chain = ResolverChain.make(
            .init(allowedClients: [AddressRange("127.0.0.0/8")!], blockPolicy: BlockPolicy(), cacheSettings: .init(),
                  forwarding: .init(upstreams: [.datagram(upstream.address)]), rateLimit: nil),
            lists: ListStore(), cache: AnswerCache(maxBytes: 1 << 20), logger: Logger(label: "test"))
        let query = Query(id: 7, nameWire: DomainName("hit.test").wire, name: DomainName("hit.test"), type: .a)
        let request = Request(query: query, client: IPAddress("127.0.0.1")!, transport: .udp)

        guard case .later(let pending) = chain.resolver.resolve(request) else {
            Issue.record("a miss must wait for the upstream")
            return
        }
        let answered = DispatchSemaphore(value: 0)
        let forwarded = LockedCounter()
        pending.whenReady { answer in
            if case .forwarded = answer.disposition { forwarded.increment() }
            answered.signal()
        }
        #expect(answered.wait(timeout: .now() + 5) == .success)
        #expect(forwarded.value == 1)

        guard case .now(let answer) = chain.resolver.resolve(request) else {
            Issue.record("a cache hit must be answered now")
            return
        }
        #expect(answer.disposition == .cached)
        guard case .stored(let served) = answer.content else {
            Issue.record("a cache hit serves the stored message")
            return
        }
        #expect(try LDNSMessage(wire: served.message.wire).answers.map(\.data) == ["10.1.2.3"])
    }
}
