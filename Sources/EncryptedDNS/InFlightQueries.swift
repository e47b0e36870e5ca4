import NIOCore
import Resolver

/// The queries waiting on one connection, by the ID they were sent with. Lives on the connection's event
/// loop; each waiter is answered exactly once: by its reply, its timeout, or the connection's end.
struct InFlightQueries {
    struct Waiter {
        var originalID: UInt16
        var done: @Sendable (Result<[UInt8], UpstreamFailure>) -> Void
        var timeout: Scheduled<Void>?
    }

    private var waiters: [UInt16: Waiter] = [:]

    var isEmpty: Bool { waiters.isEmpty }
    var count: Int { waiters.count }

    /// An ID no query on this connection is using.
    func freeID() -> UInt16 {
        var id = UInt16.random(in: 0...UInt16.max)
        while waiters[id] != nil { id = .random(in: 0...UInt16.max) }
        return id
    }

    mutating func add(id: UInt16, _ waiter: Waiter) { waiters[id] = waiter }

    mutating func setTimeout(id: UInt16, _ timeout: Scheduled<Void>) { waiters[id]?.timeout = timeout }

    /// Hands the reply to the query sent with its ID, with the asker's own ID back in place. False when no
    /// query waits for that ID (a late reply after a timeout, or a confused server).
    mutating func answer(_ reply: [UInt8]) -> Bool {
        guard let waiter = waiters.removeValue(forKey: reply.messageID) else { return false }
        waiter.timeout?.cancel()
        waiter.done(.success(reply.withID(waiter.originalID)))
        return true
    }

    mutating func fail(id: UInt16, _ failure: UpstreamFailure) {
        guard let waiter = waiters.removeValue(forKey: id) else { return }
        waiter.timeout?.cancel()
        waiter.done(.failure(failure))
    }

    mutating func failAll(_ failure: UpstreamFailure) {
        let all = waiters
        waiters = [:]
        for waiter in all.values {
            waiter.timeout?.cancel()
            waiter.done(.failure(failure))
        }
    }
}
