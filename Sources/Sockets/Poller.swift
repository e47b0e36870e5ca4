import CHushSocket
import Glibc

/// epoll over a changing set of datagram sockets, for one thread that waits on all of them.
public final class Poller: @unchecked Sendable {
    public let fd: Int32

    public init() throws {
        fd = hush_poller_create()
        guard fd >= 0 else { throw SocketError("epoll_create1") }
    }

    deinit { close(fd) }

    public func add(_ socket: Int32) throws {
        guard hush_poller_add(fd, socket) == 0 else { throw SocketError("epoll_ctl add") }
    }

    public func remove(_ socket: Int32) {
        _ = hush_poller_remove(fd, socket)
    }

    /// Waits up to `timeoutMilliseconds` and returns the sockets that have something to read.
    public func wait(timeoutMilliseconds: Int) -> [Int32] {
        var ready = [Int32](repeating: 0, count: 64)
        let count = hush_poller_wait(fd, &ready, 64, Int32(timeoutMilliseconds))
        return count > 0 ? Array(ready[0..<Int(count)]) : []
    }
}
