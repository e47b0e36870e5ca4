import Locking

/// Identical questions that miss the cache while one is already upstream wait for that one answer
/// instead of each being forwarded.
public final class CoalescingHandler: Resolving {
    private let waiting = Locked<[CacheKey: Pending<Answer>]>([:])
    let next: any Resolving

    public init(next: any Resolving) {
        self.next = next
    }

    public func resolve(_ request: Request) -> Resolution {
        let key = CacheKey(request.query)
        let (answer, first) = waiting.withLock { waiting -> (Pending<Answer>, Bool) in
            if let inFlight = waiting[key] { return (inFlight, false) }
            let answer = Pending<Answer>()
            waiting[key] = answer
            return (answer, true)
        }
        guard first else { return .later(answer) }
        next.resolve(request).whenReady { [weak self] upstreamAnswer in
            // Forgotten before it is given out: a question asked after this goes upstream afresh.
            self?.waiting.withLock { _ = $0.removeValue(forKey: key) }
            answer.fulfil(upstreamAnswer)
        }
        return .later(answer)
    }
}
