import Locking

/// Identical questions that miss the cache while one is already upstream wait for that one answer
/// instead of each being forwarded.
public final class CoalescingHandler: Resolving {
    private let waiting = Locked<[CacheKey: [@Sendable (Answer) -> Void]]>([:])
    let next: any Resolving

    public init(next: any Resolving) {
        self.next = next
    }

    public func resolve(_ request: Request, _ respond: @escaping @Sendable (Answer) -> Void) {
        let key = CacheKey(request.query)
        let first = waiting.withLock { waiting -> Bool in
            if waiting[key] != nil {
                waiting[key]!.append(respond)
                return false
            }
            waiting[key] = [respond]
            return true
        }
        guard first else { return }
        next.resolve(request) { [weak self] answer in
            let responders = self?.waiting.withLock { $0.removeValue(forKey: key) } ?? [respond]
            for responder in responders { responder(answer) }
        }
    }
}
