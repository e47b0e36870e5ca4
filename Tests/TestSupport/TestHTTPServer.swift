import Foundation
import Glibc
import Sockets
import Synchronization

/// A one-path-per-response HTTP/1.1 server on 127.0.0.1 for list-download tests. Each connection gets one
/// response and is closed. It honours If-None-Match against the ETag it was given.
public final class TestHTTPServer: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: String
        public var etag: String?
        public init(status: Int = 200, body: String, etag: String? = nil) {
            self.status = status
            self.body = body
            self.etag = etag
        }
    }

    private let routes = Mutex<[String: Response]>([:])
    private let requests = Mutex<[[String: String]]>([])
    private let fd: Int32
    public let port: UInt16

    public init() throws {
        // Keep libcurl away from any proxy: these requests must stay on loopback.
        setenv("no_proxy", "127.0.0.1,localhost,::1", 1)
        setenv("NO_PROXY", "127.0.0.1,localhost,::1", 1)
        let listener = try Socket.bind(SocketAddress("127.0.0.1:0")!, type: Socket.tcp)
        let flags = fcntl(listener, F_GETFL, 0)
        _ = fcntl(listener, F_SETFL, flags & ~O_NONBLOCK)
        fd = listener
        port = Socket.localAddress(listener)!.port
        Thread.detachNewThread { [self] in serve() }
    }

    deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    public func set(_ path: String, _ response: Response) { routes.withLock { $0[path] = response } }

    /// Request headers received, lower-cased names, in order.
    public var receivedHeaders: [[String: String]] { requests.withLock { $0 } }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            _ = hushTestSetTimeout(client, milliseconds: 2000)
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !String(decoding: data, as: UTF8.self).contains("\r\n\r\n") {
                let n = recv(client, &buffer, buffer.count, 0)
                guard n > 0 else { break }
                data += buffer[0..<n]
            }
            let lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\r\n")
            let path = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            requests.withLock { $0.append(headers) }
            let response = routes.withLock { $0[path] } ?? Response(status: 404, body: "not found")
            var status = response.status
            var body = response.body
            if let etag = response.etag, headers["if-none-match"] == etag {
                status = 304
                body = ""
            }
            var head = "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n"
            if let etag = response.etag { head += "ETag: \(etag)\r\n" }
            let bytes = Array((head + "\r\n" + body).utf8)
            _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(client)
        }
    }
}
