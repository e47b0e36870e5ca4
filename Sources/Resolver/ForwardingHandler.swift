import Foundation
import DNSWire
import Glibc
import Logging
import Sockets
import Synchronization

/// Sends the question to a plain upstream over UDP with a random ID from one of the pool's randomly placed
/// sockets, accepting only a reply whose source, ID and question match (RFC 5452) and retrying over TCP
/// when the reply is truncated; or, padded, to an encrypted upstream's connection. Moves to the next
/// upstream on a timeout or a lost connection; never from an encrypted upstream to plain text unless the
/// list itself names a plain one next. When none answers, SERVFAIL within `timeout × attempts`.
public final class ForwardingHandler: Resolving {
    public struct Settings: Sendable {
        public var upstreams: [Upstream]
        /// How long one try waits.
        public var timeoutMilliseconds: Int = 1500
        /// Tries in all, across the upstreams in turn.
        public var attempts: Int

        public init(upstreams: [Upstream], timeoutMilliseconds: Int = 1500, attempts: Int? = nil) {
            self.upstreams = upstreams
            self.timeoutMilliseconds = timeoutMilliseconds
            self.attempts = attempts ?? min(3, max(2, upstreams.count))
        }
    }

    let settings: Settings
    let logger: Logger
    /// nil only when the kernel refused an epoll descriptor; every query then fails with that reason.
    let pool: UpstreamPool?
    let poolError: String
    /// The upstream that answered last: tried first next time.
    let preferred = Atomic<Int>(0)

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        do {
            pool = try UpstreamPool(timeoutMilliseconds: settings.timeoutMilliseconds)
            poolError = ""
        } catch {
            pool = nil
            poolError = "\(error)"
            logger.error("cannot forward to upstreams", metadata: ["error": "\(error)"])
        }
    }

    public func resolve(_ request: Request) -> Resolution {
        guard !settings.upstreams.isEmpty else { return .now(Self.failure("no upstream configured")) }
        guard let pool else { return .now(Self.failure(poolError)) }
        let answer = Pending<Answer>()
        UpstreamExchange(query: request.query, forwarder: self, pool: pool, answer: answer).attempt(0)
        return .later(answer)
    }

    static func failure(_ reason: String) -> Answer {
        .synthesized(
            SynthesizedAnswer(rcode: .servFail, extendedError: ExtendedError(
                code: ExtendedError.noReachableAuthorityCode, text: reason)),
            .failed(reason: reason))
    }
}

/// One question's trip upstream. One thread at a time touches its state: the sender until the question is
/// out, then the pool's reader (reply or timeout) or the TCP retry's thread, each of which starts the next
/// step itself.
final class UpstreamExchange: UpstreamWaiter, @unchecked Sendable {
    let query: Query
    let forwarder: ForwardingHandler
    let pool: UpstreamPool
    let answer: Pending<Answer>
    var lastProblem = "no upstream answered"
    let started = MonotonicClock.seconds()
    // The try in progress.
    var number = 0
    var index = 0
    var upstream: Upstream
    var id: UInt16 = 0

    init(query: Query, forwarder: ForwardingHandler, pool: UpstreamPool, answer: Pending<Answer>) {
        self.query = query
        self.forwarder = forwarder
        self.pool = pool
        self.answer = answer
        upstream = forwarder.settings.upstreams[0]
    }

    func attempt(_ number: Int) {
        let settings = forwarder.settings
        guard number < settings.attempts else {
            finish(ForwardingHandler.failure("\(lastProblem) after \(number) tries"))
            return
        }
        self.number = number
        index = (forwarder.preferred.load(ordering: .relaxed) + number) % settings.upstreams.count
        upstream = settings.upstreams[index]
        let address: SocketAddress
        switch upstream {
        case .stream(let connection):
            exchange(over: connection)
            return
        case .datagram(let datagram):
            address = datagram
        }
        // The ID is recorded before the question leaves: the reply may reach the reader before send returns.
        let error = pool.send(to: address, waiter: self) { id in
            self.id = id
            return UpstreamQuery.wire(id: id, for: query)
        }
        if let error {
            lastProblem = "\(error)"
            attempt(number + 1)
        }
    }

    /// An encrypted upstream: the transport keeps its own timeout and calls back once. It picks the ID the
    /// query travels with and puts this one back, so no random ID (a getrandom call) is spent here.
    func exchange(over connection: any StreamUpstream) {
        id = query.id
        connection.exchange(UpstreamQuery.wire(id: id, for: query, padded: true)) { [self] result in
            switch result {
            case .success(let reply):
                do {
                    let message = try StoredMessage(upstreamReply: reply, expectedID: id, question: query)
                    forwarder.preferred.store(index, ordering: .relaxed)
                    finish(Answer(.stored(ServedMessage(message: message)), .forwarded(upstream: connection.description, latency: MonotonicClock.seconds() - started)))
                } catch {
                    lastProblem = "\(connection) sent a bad reply (\(error))"
                    attempt(number + 1)
                }
            case .failure(let failure):
                lastProblem = failure.description
                forwarder.logger.debug("encrypted upstream failed", metadata: ["upstream": "\(connection)", "error": "\(failure)"])
                attempt(number + 1)
            }
        }
    }

    func received(_ reply: [UInt8]) -> Bool {
        let message: StoredMessage
        do {
            message = try StoredMessage(upstreamReply: reply, expectedID: id, question: query)
        } catch {
            // A reply that is not ours, or not DNS: ignore it and keep waiting for the real one.
            lastProblem = "\(upstream) sent a bad reply (\(error))"
            forwarder.logger.debug("ignored upstream reply", metadata: ["upstream": "\(upstream)", "error": "\(error)"])
            return false
        }
        if message.isTruncated {
            retryOverTCP()
        } else {
            forwarder.preferred.store(index, ordering: .relaxed)
            finish(Answer(.stored(ServedMessage(message: message)), .forwarded(upstream: "\(upstream)", latency: MonotonicClock.seconds() - started)))
        }
        return true
    }

    func timedOut() {
        lastProblem = "\(upstream) timed out"
        forwarder.logger.debug("upstream timeout", metadata: ["upstream": "\(upstream)", "name": "\(query.name)"])
        attempt(number + 1)
    }

    /// Truncation is rare, so a blocking exchange (bounded by the timeout) is enough. It runs on a thread of
    /// its own: blocking the pool's reader or a Dispatch thread would stall other answers on a 2-core box.
    func retryOverTCP() {
        guard case .datagram(let upstream) = upstream else { return }
        let (query, timeout) = (query, forwarder.settings.timeoutMilliseconds)
        Thread.detachNewThread { [self] in
            let id = UInt16.random(in: 0...UInt16.max)
            do {
                let reply = try Socket.tcpExchange(UpstreamQuery.wire(id: id, for: query), with: upstream, timeoutMilliseconds: timeout)
                let message = try StoredMessage(upstreamReply: reply, expectedID: id, question: query)
                forwarder.preferred.store(index, ordering: .relaxed)
                finish(Answer(.stored(ServedMessage(message: message)), .forwarded(upstream: "\(upstream)/tcp", latency: MonotonicClock.seconds() - started)))
            } catch {
                lastProblem = "\(upstream) over TCP: \(error)"
                forwarder.logger.debug("TCP retry failed", metadata: ["upstream": "\(upstream)", "error": "\(error)"])
                attempt(number + 1)
            }
        }
    }

    /// Only the first answer counts (`Pending` keeps the first).
    func finish(_ answer: Answer) {
        self.answer.fulfil(answer)
    }
}
