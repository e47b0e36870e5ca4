import Dispatch
import Foundation
import Glibc
import Locking
import Sockets
import Synchronization

/// One question waiting for its upstream. The pool calls exactly one of these per send, on its reader thread.
protocol UpstreamWaiter: AnyObject, Sendable {
    /// A datagram from the upstream asked, on the socket asked from, carrying the ID sent. Returns whether it
    /// settles the question; false (a forged or broken reply) keeps waiting for the real one.
    func received(_ reply: [UInt8]) -> Bool
    /// No acceptable reply within the timeout.
    func timedOut()
}

/// The UDP questions in flight to the upstreams, over a few sockets that one thread reads.
///
/// Each socket sits on a port the kernel picked at random and is replaced after `rotateAfter` questions, so
/// the source port keeps changing (RFC 5452) the way dnsmasq's random sockets do. A socket, a read source and
/// a timer per question (the first design) collapsed to a few hundred answers per second under a burst of
/// cache misses; here a miss costs one sendto, one table entry and one recvfrom.
final class UpstreamPool: UpstreamReplySource, @unchecked Sendable {
    struct Key: Hashable {
        var socket: Int32
        var id: UInt16
    }

    struct Entry {
        var serial: UInt64
        var upstream: SocketAddress
        var waiter: any UpstreamWaiter
        var deadline: UInt64
    }

    struct Deadline {
        var at: UInt64
        var key: Key
        var serial: UInt64
    }

    struct State {
        /// Open sockets taking new questions, per address family.
        var slots: [Int32: [Int32]] = [:]
        var uses: [Int32: Int] = [:]
        var inFlight: [Int32: Int] = [:]
        /// Replaced sockets still waiting for their last answers; the reader closes them once idle.
        var retiring: Set<Int32> = []
        var closing: [(socket: Int32, at: UInt64)] = []
        var pending: [Key: Entry] = [:]
        /// In sending order, which is deadline order since every question gets the same timeout.
        var deadlines: [Deadline] = []
        var nextDeadline = 0
        var serial: UInt64 = 0

        mutating func remove(_ key: Key, serial: UInt64) -> Entry? {
            guard let entry = pending[key], entry.serial == serial else { return nil }
            pending[key] = nil
            inFlight[key.socket, default: 1] -= 1
            return entry
        }
    }

    static let socketsPerFamily = 8
    static let rotateAfter = 500

    let timeoutMilliseconds: Int
    private let state = Locked(State())
    private let poller: Poller

    init(timeoutMilliseconds: Int) throws {
        self.timeoutMilliseconds = timeoutMilliseconds
        poller = try Poller()
        let reader = Thread { [weak self] in
            while let pool = self { pool.turn() }
        }
        reader.name = "hush.upstream"
        reader.start()
    }

    deinit {
        state.withLock { state in
            for socket in state.slots.values.joined() { close(socket) }
            for socket in state.retiring { close(socket) }
            for (socket, _) in state.closing { close(socket) }
        }
    }

    /// Sends the question that `wire` builds for a fresh ID to `upstream`. Returns the error when it could not
    /// be sent; the waiter then hears nothing.
    func send(to upstream: SocketAddress, waiter: any UpstreamWaiter, wire: (UInt16) -> [UInt8]) -> SocketError? {
        let prepared = state.withLock { state -> Result<(Int32, [UInt8], Key, UInt64), SocketError> in
            let family = upstream.family
            var sockets = state.slots[family] ?? []
            if sockets.count < Self.socketsPerFamily {
                do {
                    let socket = try Socket.udpClient(for: upstream)
                    do { try poller.add(socket) } catch {
                        close(socket)
                        throw error
                    }
                    sockets.append(socket)
                    state.slots[family] = sockets
                } catch let error as SocketError {
                    if sockets.isEmpty { return .failure(error) }
                } catch {
                    return .failure(SocketError("socket"))
                }
            }
            let slot = Int.random(in: 0..<sockets.count)
            let socket = sockets[slot]
            var key = Key(socket: socket, id: .random(in: 0...UInt16.max))
            while state.pending[key] != nil { key.id = .random(in: 0...UInt16.max) }
            state.serial += 1
            let deadline = Self.now() + UInt64(timeoutMilliseconds)
            state.pending[key] = Entry(serial: state.serial, upstream: upstream, waiter: waiter, deadline: deadline)
            state.deadlines.append(Deadline(at: deadline, key: key, serial: state.serial))
            state.inFlight[socket, default: 0] += 1
            state.uses[socket, default: 0] += 1
            if state.uses[socket, default: 0] >= Self.rotateAfter {
                sockets.remove(at: slot)
                state.slots[family] = sockets
                state.uses[socket] = nil
                state.retiring.insert(socket)
            }
            return .success((socket, wire(key.id), key, state.serial))
        }
        switch prepared {
        case .failure(let error):
            return error
        case .success(let (socket, bytes, key, serial)):
            guard Socket.sendDatagram(bytes, on: socket, to: upstream) else {
                let error = SocketError("send to \(upstream)")
                _ = state.withLock { $0.remove(key, serial: serial) }
                return error
            }
            return nil
        }
    }

    /// One turn of the pool's own thread. With no answering loop attached, it waits for replies or the next
    /// deadline and handles the replies itself. With one attached it leaves the replies to the loop and wakes
    /// only to expire late questions (50 ms granularity against a timeout of a second or more).
    private func turn() {
        if loops.load(ordering: .relaxed) > 0 {
            usleep(50_000)
            takeReplies(using: ownBuffers)
        } else {
            let wait = state.withLock { state -> Int in
                guard state.nextDeadline < state.deadlines.count else { return 100 }
                let at = state.deadlines[state.nextDeadline].at
                let now = Self.now()
                return at <= now ? 0 : Int(min(at - now, 100))
            }
            for socket in poller.wait(timeoutMilliseconds: wait) { drain(socket, using: ownBuffers) }
        }
        expire()
        closeRetired()
    }

    // Room for any datagram: an upstream may ignore the 1232 bytes we advertise. Untouched pages cost nothing.
    private let ownBuffers = DatagramBatch(count: 32, size: 65_535)
    private let loops = Atomic<Int>(0)

    var readinessDescriptor: Int32 { poller.fd }

    func takeReplies(using buffers: DatagramBatch) {
        for socket in poller.wait(timeoutMilliseconds: 0) { drain(socket, using: buffers) }
    }

    func attachLoop() { loops.add(1, ordering: .relaxed) }
    func detachLoop() { loops.subtract(1, ordering: .relaxed) }

    /// Takes the replies queued on one socket. Safe from several threads at once: each reply's entry is
    /// taken out of the table under the lock, so exactly one thread hands it to its waiter.
    private func drain(_ socket: Int32, using batch: DatagramBatch) {
        for _ in 0..<16 {
            let count = batch.receive(on: socket)
            guard count > 0 else { return }
            for i in 0..<count {
                let (bytes, source) = batch[i]
                guard bytes.count >= 12 else { continue }
                let key = Key(socket: socket, id: UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
                // Only the upstream asked may answer, on the socket and with the ID it was asked with (RFC 5452).
                // The entry is taken out at once (one lock per reply) and put back if the waiter rejects the reply.
                guard let entry = state.withLock({ state -> Entry? in
                    guard let entry = state.pending[key], source == entry.upstream else { return nil }
                    state.pending[key] = nil
                    state.inFlight[socket, default: 1] -= 1
                    return entry
                }) else { continue }
                if !entry.waiter.received(Array(bytes)) {
                    // Back in the table to wait for the real reply, unless its deadline passed meanwhile
                    // (the sweep found it out of the table and skipped it).
                    if entry.deadline <= Self.now() {
                        entry.waiter.timedOut()
                    } else {
                        state.withLock { state in
                            state.pending[key] = entry
                            state.inFlight[socket, default: 0] += 1
                        }
                    }
                }
            }
            if count < batch.count { return }
        }
    }

    private func expire() {
        let now = Self.now()
        let late = state.withLock { state -> [any UpstreamWaiter] in
            var late: [any UpstreamWaiter] = []
            while state.nextDeadline < state.deadlines.count, state.deadlines[state.nextDeadline].at <= now {
                let deadline = state.deadlines[state.nextDeadline]
                state.nextDeadline += 1
                if let entry = state.remove(deadline.key, serial: deadline.serial) { late.append(entry.waiter) }
            }
            if state.nextDeadline > 4_096, state.nextDeadline * 2 > state.deadlines.count {
                state.deadlines.removeFirst(state.nextDeadline)
                state.nextDeadline = 0
            }
            return late
        }
        for waiter in late { waiter.timedOut() }
    }

    /// A retired socket with nothing in flight leaves the poller now and is closed a second later: an
    /// answering loop may still be inside recvmmsg on it, and its number must not be reused under it.
    private func closeRetired() {
        let now = Self.now()
        let (idle, expired) = state.withLock { state -> ([Int32], [Int32]) in
            let idle = state.retiring.filter { state.inFlight[$0, default: 0] <= 0 }
            for socket in idle {
                state.retiring.remove(socket)
                state.inFlight[socket] = nil
                state.closing.append((socket, now + 1_000))
            }
            let expired = state.closing.prefix { $0.at <= now }.map(\.socket)
            state.closing.removeFirst(expired.count)
            return (Array(idle), expired)
        }
        for socket in idle { poller.remove(socket) }
        for socket in expired { close(socket) }
    }

    private static func now() -> UInt64 {
        MonotonicClock.milliseconds()
    }
}
