import Sockets

/// Upstream replies that an answering loop picks up itself, between batches of client queries.
///
/// Under a burst of cache misses a second thread woken for every upstream reply spent its time going to
/// sleep, waking up and contending for locks with the UDP loop (20–26k misses answered a second here).
/// When the UDP loop waits on the upstream sockets too, one thread does all the work while it is busy, as
/// unbound's does, and forwarded answers leave in the same sendmmsg as local ones (28–39k).
public protocol UpstreamReplySource: AnyObject, Sendable {
    /// Readable while replies wait (an epoll descriptor, so it can sit inside another poller).
    var readinessDescriptor: Int32 { get }
    /// Handles the replies waiting now, without blocking, receiving into the caller's buffers.
    func takeReplies(using buffers: DatagramBatch)
    /// An answering loop takes replies from now on (until `detachLoop`); the pool's own thread then only
    /// keeps time and sweeps up.
    func attachLoop()
    func detachLoop()
}
