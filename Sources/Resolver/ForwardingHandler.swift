import Dispatch
import Foundation
import DNSWire
import Glibc
import Logging
import Sockets
import Synchronization

/// Sends the question upstream over UDP from a fresh socket on a random port with a random ID, accepts
/// only a reply whose ID and question match (RFC 5452), retries over TCP when the reply is truncated, and
/// moves to the next upstream on timeout. When none answers, SERVFAIL within `timeout × attempts`.
public final class ForwardingHandler: Resolving {
    public struct Settings: Sendable {
        public var upstreams: [SocketAddress]
        /// How long one try waits.
        public var timeoutMilliseconds: Int = 1500
        /// Tries in all, across the upstreams in turn.
        public var attempts: Int

        public init(upstreams: [SocketAddress], timeoutMilliseconds: Int = 1500, attempts: Int? = nil) {
            self.upstreams = upstreams
            self.timeoutMilliseconds = timeoutMilliseconds
            self.attempts = attempts ?? min(3, max(2, upstreams.count))
        }
    }

    let settings: Settings
    let queue = DispatchQueue(label: "hush.upstream")
    let logger: Logger
    /// The upstream that answered last: tried first next time.
    let preferred = Atomic<Int>(0)

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func resolve(_ request: Request, _ respond: @escaping @Sendable (Answer) -> Void) {
        guard !settings.upstreams.isEmpty else {
            respond(Self.failure("no upstream configured"))
            return
        }
        let exchange = UpstreamExchange(query: request.query, forwarder: self, respond: respond)
        queue.async { exchange.attempt(0) }
    }

    static func failure(_ reason: String) -> Answer {
        .synthesized(
            SynthesizedAnswer(rcode: .servFail, extendedError: ExtendedError(
                code: ExtendedError.noReachableAuthorityCode, text: reason)),
            .failed(reason: reason))
    }
}

/// One question's trip upstream. All its state is touched only on the forwarder's serial queue.
final class UpstreamExchange: @unchecked Sendable {
    let query: Query
    let forwarder: ForwardingHandler
    let respond: @Sendable (Answer) -> Void
    var readSource: DispatchSourceRead?
    var timer: DispatchSourceTimer?
    var finished = false
    var lastProblem = "no upstream answered"
    let started = MonotonicClock.seconds()

    init(query: Query, forwarder: ForwardingHandler, respond: @escaping @Sendable (Answer) -> Void) {
        self.query = query
        self.forwarder = forwarder
        self.respond = respond
    }

    func attempt(_ number: Int) {
        let settings = forwarder.settings
        guard number < settings.attempts else {
            finish(ForwardingHandler.failure("\(lastProblem) after \(number) tries"))
            return
        }
        let index = (forwarder.preferred.load(ordering: .relaxed) + number) % settings.upstreams.count
        let upstream = settings.upstreams[index]
        let id = UInt16.random(in: 0...UInt16.max)
        let wire = UpstreamQuery.wire(id: id, for: query)
        let fd: Int32
        do {
            fd = try Socket.udpClient(for: upstream)
        } catch {
            lastProblem = "\(error)"
            attempt(number + 1)
            return
        }
        guard Socket.sendDatagram(wire, on: fd, to: upstream) else {
            lastProblem = "\(SocketError("send to \(upstream)"))"
            close(fd)
            attempt(number + 1)
            return
        }

        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: forwarder.queue)
        source.setEventHandler { [self] in
            var buffer = [UInt8](repeating: 0, count: 65_535)
            while !finished, readSource != nil, let (count, source) = Socket.receive(on: fd, into: &buffer) {
                // Only the upstream we asked may answer (RFC 5452); anything else is ignored.
                guard source == upstream else { continue }
                received(Array(buffer[0..<count]), id: id, from: upstream, index: index, attempt: number)
            }
        }
        source.setCancelHandler { close(fd) }
        readSource = source
        source.resume()

        let timer = DispatchSource.makeTimerSource(queue: forwarder.queue)
        timer.schedule(deadline: .now() + .milliseconds(settings.timeoutMilliseconds))
        timer.setEventHandler { [self] in
            lastProblem = "\(upstream) timed out"
            forwarder.logger.debug("upstream timeout", metadata: ["upstream": "\(upstream)", "name": "\(query.name)"])
            stopWaiting()
            attempt(number + 1)
        }
        self.timer = timer
        timer.resume()
    }

    func received(_ reply: [UInt8], id: UInt16, from upstream: SocketAddress, index: Int, attempt number: Int) {
        let message: StoredMessage
        do {
            message = try StoredMessage(upstreamReply: reply, expectedID: id, question: query)
        } catch {
            // A reply that is not ours, or not DNS: ignore it and keep waiting for the real one.
            lastProblem = "\(upstream) sent a bad reply (\(error))"
            forwarder.logger.debug("ignored upstream reply", metadata: ["upstream": "\(upstream)", "error": "\(error)"])
            return
        }
        stopWaiting()
        if message.isTruncated {
            retryOverTCP(upstream: upstream, index: index, attempt: number)
            return
        }
        forwarder.preferred.store(index, ordering: .relaxed)
        finish(Answer(.stored(ServedMessage(message: message)), .forwarded(upstream: "\(upstream)", latency: MonotonicClock.seconds() - started)))
    }

    /// Truncation is rare, so a blocking exchange (bounded by the timeout) is enough. It runs on a thread of
    /// its own: blocking a Dispatch pool thread can starve other work on a 2-core box.
    func retryOverTCP(upstream: SocketAddress, index: Int, attempt number: Int) {
        let query = query
        let timeout = forwarder.settings.timeoutMilliseconds
        Thread.detachNewThread { [self] in
            let id = UInt16.random(in: 0...UInt16.max)
            let result = Result { () throws -> StoredMessage in
                let reply = try Socket.tcpExchange(UpstreamQuery.wire(id: id, for: query), with: upstream, timeoutMilliseconds: timeout)
                return try StoredMessage(upstreamReply: reply, expectedID: id, question: query)
            }
            forwarder.queue.async { [self] in
                switch result {
                case .success(let message):
                    forwarder.preferred.store(index, ordering: .relaxed)
                    finish(Answer(.stored(ServedMessage(message: message)), .forwarded(upstream: "\(upstream)/tcp", latency: MonotonicClock.seconds() - started)))
                case .failure(let error):
                    lastProblem = "\(upstream) over TCP: \(error)"
                    forwarder.logger.debug("TCP retry failed", metadata: ["upstream": "\(upstream)", "error": "\(error)"])
                    attempt(number + 1)
                }
            }
        }
    }

    func stopWaiting() {
        timer?.cancel()
        timer = nil
        readSource?.cancel()
        readSource = nil
    }

    func finish(_ answer: Answer) {
        guard !finished else { return }
        finished = true
        stopWaiting()
        respond(answer)
    }
}
