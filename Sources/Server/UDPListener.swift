import CHushSocket
import Dispatch
import Glibc
import Logging
import Sockets
import Synchronization

/// One UDP socket served by one long-running work item on its own Dispatch queue, blocking in recvmmsg.
/// A Dispatch read source would make libdispatch's manager thread re-arm epoll for every wake-up, which
/// profiled as the largest cost of the whole server under load. Replies made while a batch is processed
/// leave together in one sendmmsg; replies that come later (forwarded queries) are sent on their own. Each
/// reply leaves from the address its query arrived at.
final class UDPListener: @unchecked Sendable {
    static let batch = 32
    static let bufferSize = 4096

    let fd: Int32
    let address: SocketAddress
    let processor: QueryProcessor
    let queue: DispatchQueue
    let logger: Logger
    private let running = Atomic<Bool>(false)
    /// Monotonic milliseconds of the loop's last turn (at least every receive timeout), for the watchdog.
    let heartbeat = Atomic<UInt64>(0)
    private let finished = DispatchSemaphore(value: 0)
    private let buffers: UnsafeMutableRawPointer
    private var datagrams: [hush_datagram]
    /// Replies made during the current batch on the loop's thread. Forwarded answers arrive on other
    /// threads, so the flag and the list sit behind a lock.
    private struct Batch {
        var collecting = false
        var owner: pthread_t?
        var replies: [(route: ReplyRoute, reply: [UInt8])] = []
    }
    private let batch = Mutex(Batch())

    init(fd: Int32, address: SocketAddress, processor: QueryProcessor, logger: Logger) {
        self.fd = fd
        self.address = address
        self.processor = processor
        self.logger = logger
        self.queue = DispatchQueue(label: "hush.udp.\(address)")
        buffers = UnsafeMutableRawPointer.allocate(byteCount: Self.batch * Self.bufferSize, alignment: 16)
        datagrams = (0..<Self.batch).map { _ in hush_datagram() }
        for i in 0..<Self.batch {
            datagrams[i].data = (buffers + i * Self.bufferSize).assumingMemoryBound(to: UInt8.self)
            datagrams[i].capacity = Self.bufferSize
        }
        // Blocking, with a receive timeout so the loop notices stop().
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        _ = hush_set_timeouts(fd, 100)
    }

    deinit { buffers.deallocate() }

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
        while running.load(ordering: .acquiring) {
            heartbeat.store(DispatchTime.now().uptimeNanoseconds / 1_000_000, ordering: .relaxed)
            let received = hush_recv_batch(fd, &datagrams, UInt32(Self.batch), 1)
            if received < 0 {
                logger.error("UDP receive on \(address) failed: \(SocketError("recvmmsg"))")
                usleep(10_000)
                continue
            }
            guard received > 0 else { continue }
            batch.withLock { $0.collecting = true }
            for i in 0..<Int(received) {
                let datagram = datagrams[i]
                guard datagram.length > 0, let client = SocketAddress(storage: datagram.peer) else { continue }
                let packet = UnsafeBufferPointer(start: datagram.data, count: datagram.length)
                let route = ReplyRoute(datagram: datagram)
                processor.process(packet, client: client.ip, transport: .udp) { [self] reply in
                    send(reply, to: route)
                }
            }
            flushPending()
        }
    }

    /// Queues the reply when it was made inside the current batch on the loop's thread; sends it now otherwise.
    private func send(_ reply: [UInt8], to route: ReplyRoute) {
        guard !reply.isEmpty else { return }
        let queued = batch.withLock { batch -> Bool in
            guard batch.collecting, let owner = batch.owner, pthread_equal(owner, pthread_self()) != 0 else { return false }
            batch.replies.append((route, reply))
            return true
        }
        if queued { return }
        var outgoing = route.datagram
        reply.withUnsafeBufferPointer { bytes in
            outgoing.data = UnsafeMutablePointer(mutating: bytes.baseAddress)
            outgoing.length = bytes.count
            _ = hush_send_batch(fd, &outgoing, 1)
        }
    }

    /// Ends the batch and sends its replies, copied into one buffer so every pointer handed to sendmmsg
    /// stays valid.
    private func flushPending() {
        let pending = batch.withLock { batch -> [(route: ReplyRoute, reply: [UInt8])] in
            batch.collecting = false
            defer { batch.replies.removeAll(keepingCapacity: true) }
            return batch.replies
        }
        guard !pending.isEmpty else { return }
        var outgoing = pending.map(\.route.datagram)
        var blob: [UInt8] = []
        blob.reserveCapacity(pending.reduce(0) { $0 + $1.reply.count })
        for item in pending { blob.append(contentsOf: item.reply) }
        blob.withUnsafeMutableBufferPointer { base in
            var offset = 0
            for i in pending.indices {
                outgoing[i].data = base.baseAddress! + offset
                outgoing[i].length = pending[i].reply.count
                offset += pending[i].reply.count
            }
            _ = hush_send_batch(fd, &outgoing, UInt32(outgoing.count))
        }
    }
}

/// Where a reply goes: the client's address and the local address the query came to. The buffer pointer
/// it carries is replaced before use, so it may cross threads.
struct ReplyRoute: @unchecked Sendable {
    var datagram: hush_datagram
}
