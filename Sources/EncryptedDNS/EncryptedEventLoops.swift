import NIOCore
import NIOPosix

/// The event loops that DoT and DoH connections run on, in and out: one per core, as unbound's threads
/// are. The plain UDP and TCP path does not use them.
public final class EncryptedEventLoops: Sendable {
    let group: MultiThreadedEventLoopGroup

    public init(threads: Int = System.coreCount) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    public func shutdown() {
        try? group.syncShutdownGracefully()
    }
}
