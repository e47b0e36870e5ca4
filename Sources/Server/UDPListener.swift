import DNSWire
import Dispatch
import Glibc
import Locking
import Logging
import Resolver
import Sockets
import Synchronization

/// One UDP socket served by one long-running work item on its own Dispatch queue, waiting in epoll on the
/// socket and on the upstream replies. A Dispatch read source would make libdispatch's manager thread
/// re-arm epoll for every wake-up, which profiled as the largest cost of the whole server under load.
/// Upstream replies are taken here too, so under a burst of misses one thread does the work instead of
/// two waking each other. Replies made during a turn (local answers, cache hits and forwarded answers the
/// loop took itself) leave together in one sendmmsg; replies made on other threads are sent on their own.
/// Each reply leaves from the address its query arrived at.
final class UDPListener: @unchecked Sendable {
    let fd: Int32
    let address: SocketAddress
    let processor: QueryProcessor
    let upstreamReplies: (any UpstreamReplySource)?
    private let upstreamBuffers = DatagramBatch(count: 32, size: 65_535)
    let queue: DispatchQueue
    let logger: Logger
    private let running = Atomic<Bool>(false)
    /// Monotonic milliseconds of the loop's last turn (at least every receive timeout), for the watchdog.
    let heartbeat = Atomic<UInt64>(0)
    private let finished = DispatchSemaphore(value: 0)
    private let queries = DatagramBatch(count: 32, size: 4096)
    /// Forwarded answers made during the current turn on the loop's thread. They can also come on other
    /// threads, so the flag and the list sit behind a lock. Local answers skip it (see `answerQueries`).
    private struct Batch {
        var collecting = false
        var owner: pthread_t?
        var replies: [PendingReply] = []
    }
    // Structs rather than tuples: arrays of tuples are copied through generic value witnesses, which
    // profiled at 2% of the answering thread.
    private struct PendingReply {
        var route: ReplyRoute
        var reply: [UInt8]
    }
    private struct Received {
        var parse: QueryParse
        var route: ReplyRoute
        var client: IPAddress
    }
    private let batch = Locked(Batch())
    /// What only the loop's thread touches, reused from turn to turn. The turn's replies are copied into
    /// one buffer as they are made (`outgoing` says where each goes and how long it is), so every pointer
    /// handed to sendmmsg stays valid and a turn allocates nothing. A value the loop owns, not properties
    /// of the listener: those cost a dynamic exclusivity check on every access.
    private struct Turn {
        var received: [Received] = []
        var names: [DomainName] = []
        var outgoing = OutgoingDatagrams()
        var blob: [UInt8] = []
        var spareReplies: [PendingReply] = []
    }

    init(fd: Int32, address: SocketAddress, processor: QueryProcessor, upstreamReplies: (any UpstreamReplySource)?, logger: Logger) {
        self.fd = fd
        self.address = address
        self.processor = processor
        self.upstreamReplies = upstreamReplies
        self.logger = logger
        self.queue = DispatchQueue(label: "hush.udp.\(address)")
    }

    func start() {
        running.store(true, ordering: .releasing)
        queue.async { [self] in receiveLoop() }
    }

    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
        close(fd)
    }

    private func receiveLoop() {
        let me = pthread_self()
        batch.withLock { $0.owner = me }
        defer { finished.signal() }
        let poller: Poller
        do {
            poller = try Poller()
            try poller.add(fd)
            if let upstreamReplies { try poller.add(upstreamReplies.readinessDescriptor) }
        } catch {
            logger.critical("UDP on \(address) cannot wait for packets: \(error)")
            return
        }
        upstreamReplies?.attachLoop()
        defer { upstreamReplies?.detachLoop() }
        var turn = Turn()
        while running.load(ordering: .acquiring) {
            heartbeat.store(MonotonicClock.milliseconds(), ordering: .relaxed)
            // At most 100 ms, so the loop notices stop() and the watchdog sees it turn.
            let ready = poller.wait(timeoutMilliseconds: 100)
            guard !ready.isEmpty else { continue }
            batch.withLock { $0.collecting = true }
            if ready.contains(fd) { answerQueries(&turn) }
            if let upstreamReplies, ready.contains(upstreamReplies.readinessDescriptor) {
                upstreamReplies.takeReplies(using: upstreamBuffers)
            }
            flushPending(&turn)
        }
    }

    private func answerQueries(_ turn: inout Turn) {
        let count = queries.receive(on: fd)
        if count < 0 {
            logger.error("UDP receive on \(address) failed: \(SocketError("recvmmsg"))")
            usleep(10_000)
            return
        }
        // The whole batch is parsed first, so the stages can start loading what they will read for every
        // query (the block list's slots) before the first is answered: a batch's cache misses overlap.
        turn.received.removeAll(keepingCapacity: true)
        turn.names.removeAll(keepingCapacity: true)
        for i in 0..<count {
            let (bytes, source) = queries[i]
            guard !bytes.isEmpty, let client = source else { continue }
            let parse = QueryParser.parse(bytes)
            if case .query(let query) = parse { turn.names.append(query.name) }
            turn.received.append(Received(parse: parse, route: queries.route(i), client: client.ip))
        }
        // Read once: reaching the struct through `self` in the loop copied it (three retains) per query.
        let processor = self.processor
        processor.prefetch(turn.names)
        turn.received.withUnsafeBufferPointer { received in
            for i in received.indices {
                let start = turn.blob.count
                let pending = processor.answer(received[i].parse, client: received[i].client, transport: .udp, appendingTo: &turn.blob)
                if turn.blob.count > start { turn.outgoing.append(received[i].route, length: turn.blob.count - start) }
                if let pending {
                    let route = received[i].route
                    pending.whenReady { [self] reply in send(reply, to: route) }
                }
            }
        }
    }

    /// Queues the reply when it was made during the current turn on the loop's thread; sends it now otherwise.
    private func send(_ reply: [UInt8], to route: ReplyRoute) {
        guard !reply.isEmpty else { return }
        let queued = batch.withLock { batch -> Bool in
            guard batch.collecting, let owner = batch.owner, pthread_equal(owner, pthread_self()) != 0 else { return false }
            batch.replies.append(PendingReply(route: route, reply: reply))
            return true
        }
        if queued { return }
        route.send(reply, on: fd)
    }

    /// Ends the turn and sends its replies in one sendmmsg. The forwarded answers' list swaps with a spare
    /// kept by the loop, so it allocates nothing either.
    private func flushPending(_ turn: inout Turn) {
        batch.withLock { batch in
            batch.collecting = false
            swap(&batch.replies, &turn.spareReplies)
        }
        for reply in turn.spareReplies where !reply.reply.isEmpty {
            turn.blob.append(contentsOf: reply.reply)
            turn.outgoing.append(reply.route, length: reply.reply.count)
        }
        turn.spareReplies.removeAll(keepingCapacity: true)
        turn.outgoing.send(on: fd, from: &turn.blob)
        turn.blob.removeAll(keepingCapacity: true)
    }
}
