import Dispatch
import Glibc
import Logging
import Sockets

/// DNS over TCP (RFC 7766): 2-byte length framing, pipelined queries answered as they complete, partial
/// reads and writes, an idle timeout, and a cap on open connections.
final class TCPListener: @unchecked Sendable {
    struct Settings: Sendable {
        var idleTimeoutSeconds: Int = 10
        var maxConnections: Int = 256
    }

    let fd: Int32
    let address: SocketAddress
    let processor: QueryProcessor
    let settings: Settings
    let logger: Logger
    let queue: DispatchQueue
    private var source: DispatchSourceRead?
    private var connections: [ObjectIdentifier: TCPConnection] = [:]

    init(fd: Int32, address: SocketAddress, processor: QueryProcessor, settings: Settings, logger: Logger) {
        self.fd = fd
        self.address = address
        self.processor = processor
        self.settings = settings
        self.logger = logger
        self.queue = DispatchQueue(label: "hush.tcp.\(address)")
    }

    func start() {
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [unowned self] in acceptAll() }
        source.setCancelHandler { [fd] in close(fd) }
        self.source = source
        source.resume()
    }

    func stop() {
        queue.sync {
            source?.cancel()
            source = nil
            for connection in connections.values { connection.close() }
            connections.removeAll()
        }
    }

    var openConnections: Int { queue.sync { connections.count } }

    private func acceptAll() {
        while true {
            guard let (client, accepted) = Socket.acceptNonblocking(fd) else { return }
            guard connections.count < settings.maxConnections, let peer = accepted else {
                Glibc.close(client)
                logger.warning("TCP connection refused: \(settings.maxConnections) already open")
                continue
            }
            let connection = TCPConnection(fd: client, peer: peer, listener: self)
            connections[ObjectIdentifier(connection)] = connection
            connection.start()
        }
    }

    /// Called on `queue` when a connection has closed.
    func forget(_ connection: TCPConnection) {
        connections[ObjectIdentifier(connection)] = nil
    }
}

/// One client connection. All state is touched on the listener's queue.
final class TCPConnection: @unchecked Sendable {
    let fd: Int32
    let peer: SocketAddress
    unowned let listener: TCPListener
    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    private var idleTimer: DispatchSourceTimer?
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var outstanding = 0
    private var peerClosed = false
    private var closed = false
    /// Sources watching `fd`: it is closed only once all are cancelled, so a reused number never confuses them.
    private var liveSources = 0

    init(fd: Int32, peer: SocketAddress, listener: TCPListener) {
        self.fd = fd
        self.peer = peer
        self.listener = listener
    }

    func start() {
        let read = DispatchSource.makeReadSource(fileDescriptor: fd, queue: listener.queue)
        read.setEventHandler { [self] in readAvailable() }
        watch(read)
        readSource = read
        read.resume()
        resetIdleTimer()
    }

    private func resetIdleTimer() {
        idleTimer?.cancel()
        let timer = DispatchSource.makeTimerSource(queue: listener.queue)
        timer.schedule(deadline: .now() + .seconds(listener.settings.idleTimeoutSeconds))
        timer.setEventHandler { [self] in
            if outstanding == 0 { close() } else { resetIdleTimer() }
        }
        idleTimer = timer
        timer.resume()
    }

    private func readAvailable() {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                input.append(contentsOf: chunk[0..<n])
                continue
            }
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                peerClosed = true
                readSource?.cancel()
                readSource = nil
            }
            break
        }
        resetIdleTimer()
        processFrames()
        closeIfDone()
    }

    private func processFrames() {
        var consumed = 0
        while input.count - consumed >= 2 {
            let length = Int(input[consumed]) << 8 | Int(input[consumed + 1])
            guard input.count - consumed - 2 >= length else { break }
            let frame = Array(input[(consumed + 2)..<(consumed + 2 + length)])
            consumed += 2 + length
            outstanding += 1
            let queue = listener.queue
            let reply = frame.withUnsafeBufferPointer { packet in
                listener.processor.process(packet, client: peer.ip, transport: .tcp)
            }
            guard let reply else {
                outstanding -= 1
                continue
            }
            reply.whenReady { [self] reply in
                queue.async { [self] in
                    outstanding -= 1
                    enqueue(reply)
                }
            }
        }
        if consumed > 0 { input.removeFirst(consumed) }
    }

    private func enqueue(_ reply: [UInt8]) {
        guard !closed, !reply.isEmpty else {
            closeIfDone()
            return
        }
        output.append(UInt8(reply.count >> 8))
        output.append(UInt8(reply.count & 0xFF))
        output.append(contentsOf: reply)
        flush()
    }

    private func flush() {
        while !output.isEmpty {
            let n = output.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                output.removeFirst(n)
                continue
            }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                waitForWritable()
                return
            }
            close()
            return
        }
        writeSource?.cancel()
        writeSource = nil
        closeIfDone()
    }

    private func waitForWritable() {
        guard writeSource == nil else { return }
        let write = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: listener.queue)
        write.setEventHandler { [self] in flush() }
        watch(write)
        writeSource = write
        write.resume()
    }

    private func closeIfDone() {
        if peerClosed, outstanding == 0, output.isEmpty { close() }
    }

    func close() {
        guard !closed else { return }
        closed = true
        readSource?.cancel()
        writeSource?.cancel()
        idleTimer?.cancel()
        readSource = nil
        writeSource = nil
        idleTimer = nil
        if liveSources == 0 { Glibc.close(fd) }
        listener.forget(self)
    }

    private func watch(_ source: any DispatchSourceProtocol) {
        liveSources += 1
        source.setCancelHandler { [self] in
            liveSources -= 1
            if closed, liveSources == 0 { Glibc.close(fd) }
        }
    }
}
