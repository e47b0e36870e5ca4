import Dispatch
import Foundation
import Glibc
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
final class UpstreamPool: @unchecked Sendable {
    struct Key: Hashable {
        var socket: Int32
        var id: UInt16
    }

    struct Entry {
        var serial: UInt64
        var upstream: SocketAddress
        var waiter: any UpstreamWaiter
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
    private let state = Mutex(State())
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
            state.pending[key] = Entry(serial: state.serial, upstream: upstream, waiter: waiter)
            state.deadlines.append(Deadline(at: Self.now() + UInt64(timeoutMilliseconds), key: key, serial: state.serial))
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

    /// One turn of the reader: wait for replies or the next deadline, hand replies to their waiters, expire
    /// late questions, close retired sockets that have gone quiet.
    private func turn() {
        let wait = state.withLock { state -> Int in
            guard state.nextDeadline < state.deadlines.count else { return 100 }
            let at = state.deadlines[state.nextDeadline].at
            let now = Self.now()
            return at <= now ? 0 : Int(min(at - now, 100))
        }
        for socket in poller.wait(timeoutMilliseconds: wait) { drain(socket) }
        expire()
        closeRetired()
    }

    private var buffer = [UInt8](repeating: 0, count: 65_535)

    private func drain(_ socket: Int32) {
        for _ in 0..<256 {
            guard let (count, source) = Socket.receive(on: socket, into: &buffer) else { return }
            guard count >= 12 else { continue }
            let key = Key(socket: socket, id: UInt16(buffer[0]) << 8 | UInt16(buffer[1]))
            // Only the upstream asked may answer, on the socket and with the ID it was asked with (RFC 5452).
            guard let entry = state.withLock({ $0.pending[key] }), source == entry.upstream else { continue }
            if entry.waiter.received(Array(buffer[0..<count])) {
                _ = state.withLock { $0.remove(key, serial: entry.serial) }
            }
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

    private func closeRetired() {
        let idle = state.withLock { state -> [Int32] in
            let idle = state.retiring.filter { state.inFlight[$0, default: 0] <= 0 }
            for socket in idle {
                state.retiring.remove(socket)
                state.inFlight[socket] = nil
            }
            return Array(idle)
        }
        for socket in idle {
            poller.remove(socket)
            close(socket)
        }
    }

    private static func now() -> UInt64 {
        DispatchTime.now().uptimeNanoseconds / 1_000_000
    }
}
