import Foundation
import Locking
import Resolver

/// The answering path's side of the stats: `observe` appends to a bounded queue and returns. When the
/// queue is full the record is dropped and counted, never silently lost and never waited for.
public final class StatsRecorder: AnswerObserver, @unchecked Sendable {
    private struct Queue {
        var records: [AttemptRecord] = []
        var dropped = 0
    }

    private let queue = Locked(Queue())
    let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
    }

    public func observe(_ request: Request, _ answer: Answer) {
        let record = AttemptRecord(
            time: Date().timeIntervalSince1970, client: request.client, name: request.query.name,
            type: request.query.type.rawValue, disposition: answer.disposition)
        queue.withLock { queue in
            if queue.records.count < capacity {
                queue.records.append(record)
            } else {
                queue.dropped += 1
            }
        }
    }

    /// Queues records made elsewhere (tests, imports), with the same bound.
    public func enqueue(_ records: [AttemptRecord]) {
        queue.withLock { queue in
            for record in records {
                if queue.records.count < capacity { queue.records.append(record) } else { queue.dropped += 1 }
            }
        }
    }

    /// Everything queued so far, and how many records were dropped since the last take. The queue is swapped
    /// for one allocated outside the lock, so the answering thread never waits behind an allocation.
    func take() -> (records: [AttemptRecord], dropped: Int) {
        var taken: [AttemptRecord] = []
        taken.reserveCapacity(lastTaken)
        var dropped = 0
        queue.withLock { queue in
            swap(&queue.records, &taken)
            dropped = queue.dropped
            queue.dropped = 0
        }
        lastTaken = taken.count
        return (taken, dropped)
    }

    /// Only the writer takes, so this needs no lock.
    private var lastTaken = 0
}
