import CHushSocket
import Dispatch
import Glibc
import Logging
import Sockets

/// One UDP socket on its own serial queue. Reads in batches with recvmmsg; each reply leaves from the
/// address the query arrived at.
final class UDPListener: @unchecked Sendable {
    static let batch = 32
    static let bufferSize = 4096

    let fd: Int32
    let address: SocketAddress
    let processor: QueryProcessor
    let queue: DispatchQueue
    let logger: Logger
    private var source: DispatchSourceRead?
    private let buffers: UnsafeMutableRawPointer
    private var datagrams: [hush_datagram]

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
    }

    deinit { buffers.deallocate() }

    func start() {
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [unowned self] in drain() }
        source.setCancelHandler { [fd] in close(fd) }
        self.source = source
        source.resume()
    }

    func stop() {
        source?.cancel()
        source = nil
    }

    private func drain() {
        // Bounded so one busy socket cannot starve the rest of the queue's work.
        for _ in 0..<64 {
            let received = hush_recv_batch(fd, &datagrams, UInt32(Self.batch))
            if received <= 0 { return }
            for i in 0..<Int(received) {
                let datagram = datagrams[i]
                guard datagram.length > 0, let client = SocketAddress(storage: datagram.peer) else { continue }
                let packet = UnsafeBufferPointer(start: datagram.data, count: datagram.length)
                let route = ReplyRoute(datagram: datagram)
                processor.process(packet, client: client.ip, transport: .udp) { [fd] reply in
                    var outgoing = route.datagram
                    reply.withUnsafeBufferPointer { bytes in
                        outgoing.data = UnsafeMutablePointer(mutating: bytes.baseAddress)
                        outgoing.length = bytes.count
                        _ = hush_send_batch(fd, &outgoing, 1)
                    }
                }
            }
        }
    }
}

/// Where a reply goes: the client's address and the local address the query came to. The buffer pointer
/// it carries is replaced before use, so it may cross threads.
struct ReplyRoute: @unchecked Sendable {
    var datagram: hush_datagram
}
