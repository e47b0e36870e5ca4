import Locking
import Foundation
import Resolver

/// The answering path's side of the stats: `observe` appends to a bounded queue and returns. When the
/// queue is full the record is dropped and counted, never silently lost and never waited for.
public final class StatsRecorder: AnswerObserver {
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

    /// Everything queued so far, and how many records were dropped since the last take.
    func take() -> (records: [AttemptRecord], dropped: Int) {
        queue.withLock { queue in
            defer {
                queue.records.removeAll(keepingCapacity: true)
                queue.dropped = 0
            }
            return (queue.records, queue.dropped)
        }
    }
}
