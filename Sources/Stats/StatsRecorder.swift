import Foundation
import Resolver
import Synchronization

/// The answering path's side of the stats: `observe` appends to a bounded queue and returns. When the
/// queue is full the record is dropped and counted, never silently lost and never waited for.
public final class StatsRecorder: AnswerObserver, @unchecked Sendable {
    private struct Queue {
        var records = RecordBatch()
        var dropped = 0
    }

    /// An inline futex rather than `Locked`'s pthread mutex: the writer takes it twice a second for a swap,
    /// so it is almost never contended, and uncontended it is one atomic operation each way with no call
    /// into libpthread, once per answered query.
    private let queue = Mutex(Queue())
    let capacity: Int

    public init(capacity: Int) {
        self.capacity = capacity
    }

    public func observe(_ request: Request, _ answer: Answer) {
        let time = Self.now()
        queue.withLock { queue in
            if queue.records.count < capacity {
                queue.records.append(time: time, client: request.client, name: request.query.name,
                                     type: request.query.type.rawValue, disposition: answer.disposition, ttl: answer.ttl ?? 0)
            } else {
                queue.dropped += 1
            }
        }
    }

    /// The wall clock from the kernel's coarse copy (a few milliseconds' resolution, which is all the log
    /// shows), at a fraction of `Date()`'s cost on the answering path.
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Queues records made elsewhere (tests, imports), with the same bound.
    public func enqueue(_ records: [AnsweredQuery]) {
        queue.withLock { queue in
            for record in records {
                if queue.records.count < capacity { queue.records.append(record) } else { queue.dropped += 1 }
            }
        }
    }

    /// Everything queued so far, and how many records were dropped since the last take. The queue is swapped
    /// for `spare`, the writer's emptied batch from last time: its memory is already allocated and touched, so
    /// the answering thread neither waits behind an allocation nor takes page faults filling new pages.
    func take(swapping spare: inout RecordBatch) -> (records: RecordBatch, dropped: Int) {
        var taken = spare
        spare = RecordBatch()
        taken.removeAll(reservingAtLeast: lastTaken + lastTaken / 2)
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
