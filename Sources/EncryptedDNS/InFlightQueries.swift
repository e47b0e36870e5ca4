import NIOCore
import Resolver

/// The queries waiting on one connection, by the ID they were sent with. Lives on the connection's event
/// loop; each waiter is answered exactly once: by its reply, its deadline, or the connection's end.
/// Every query gets the same timeout, so deadlines come in sending order and one sweep finds the late
/// ones (a timer per query cost a heap insert, a promise and a cancel on every miss).
struct InFlightQueries {
    struct Waiter {
        var originalID: UInt16
        var serial: UInt64
        var done: @Sendable (Result<[UInt8], UpstreamFailure>) -> Void
    }

    private var waiters: [UInt16: Waiter] = [:]
    private var deadlines: [(at: NIODeadline, id: UInt16, serial: UInt64)] = []
    private var nextDeadline = 0
    private var serial: UInt64 = 0

    var isEmpty: Bool { waiters.isEmpty }
    var count: Int { waiters.count }

    private var lastID = UInt16.random(in: 0...UInt16.max)

    /// An ID no query on this connection is using. Counting is enough: inside TLS nobody can forge a reply,
    /// so the IDs need not be unpredictable (RFC 5452 guards plain UDP).
    mutating func freeID() -> UInt16 {
        repeat { lastID &+= 1 } while waiters[lastID] != nil
        return lastID
    }

    mutating func add(id: UInt16, originalID: UInt16, deadline: NIODeadline, _ done: @escaping @Sendable (Result<[UInt8], UpstreamFailure>) -> Void) {
        serial += 1
        waiters[id] = Waiter(originalID: originalID, serial: serial, done: done)
        deadlines.append((deadline, id, serial))
    }

    /// Fails the queries whose deadline has passed.
    mutating func expire(now: NIODeadline, _ failure: UpstreamFailure) {
        while nextDeadline < deadlines.count, deadlines[nextDeadline].at <= now {
            let (_, id, serial) = deadlines[nextDeadline]
            nextDeadline += 1
            if let waiter = waiters[id], waiter.serial == serial {
                waiters[id] = nil
                waiter.done(.failure(failure))
            }
        }
        if nextDeadline > 1024, nextDeadline * 2 > deadlines.count {
            deadlines.removeFirst(nextDeadline)
            nextDeadline = 0
        }
        if waiters.isEmpty {
            deadlines.removeAll(keepingCapacity: true)
            nextDeadline = 0
        }
    }

    /// Hands the reply to the query sent with its ID, with the asker's own ID back in place. False when no
    /// query waits for that ID (a late reply after a timeout, or a confused server).
    mutating func answer(_ reply: [UInt8]) -> Bool {
        guard let waiter = waiters.removeValue(forKey: reply.messageID) else { return false }
        waiter.done(.success(reply.withID(waiter.originalID)))
        return true
    }

    mutating func failAll(_ failure: UpstreamFailure) {
        let all = waiters
        waiters = [:]
        deadlines = []
        nextDeadline = 0
        for waiter in all.values { waiter.done(.failure(failure)) }
    }
}
