import Dispatch
import Foundation
import Glibc
import Logging
import Sockets

/// GET /metrics over plain HTTP/1.1, one request per connection, for a Prometheus scraper on loopback.
public final class MetricsServer: @unchecked Sendable {
    let fd: Int32
    public let address: SocketAddress
    private let queue = DispatchQueue(label: "hush.metrics")
    private var source: DispatchSourceRead?
    private let render: @Sendable () -> [UInt8]

    public init(listen: SocketAddress, render: @escaping @Sendable () -> [UInt8]) throws {
        fd = try Socket.bind(listen, type: Socket.tcp, backlog: 16)
        address = Socket.localAddress(fd) ?? listen
        self.render = render
    }

    public func start() {
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [unowned self] in
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                serve(client)
            }
        }
        source.setCancelHandler { [fd] in close(fd) }
        self.source = source
        source.resume()
    }

    public func stop() {
        source?.cancel()
        source = nil
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        Socket.setTimeouts(client, milliseconds: 2000)
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while request.count < 8192, !String(decoding: request, as: UTF8.self).contains("\r\n\r\n") {
            let n = recv(client, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            request += buffer[0..<n]
        }
        let firstLine = String(decoding: request.prefix(while: { $0 != 13 && $0 != 10 }), as: UTF8.self)
        let parts = firstLine.split(separator: " ")
        let (status, type, body): (String, String, [UInt8])
        if parts.count >= 2, parts[0] == "GET", parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") {
            (status, type, body) = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", render())
        } else {
            (status, type, body) = ("404 Not Found", "text/plain", Array("try /metrics\n".utf8))
        }
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        try? Socket.writeAll(client, Array(head.utf8) + body)
    }
}
