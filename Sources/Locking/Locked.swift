import Glibc

/// A value behind a plain (adaptive, non-priority-inheriting) pthread mutex, for state that the answering
/// thread and a background thread both touch many thousand times a second.
///
/// `Synchronization.Mutex` on Linux is a priority-inheriting futex: every contended hand-off goes through
/// the kernel's rt_mutex and usually a context switch. On the forwarding path (answering thread against the
/// upstream reader) that profiled at about 7% of the server's time. An adaptive mutex spins briefly first,
/// which suits critical sections of a few hundred nanoseconds.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Behind a pointer rather than a stored `var`: the mutex already makes every access exclusive, and a
    /// class's stored property would add a dynamic exclusivity check to each one (on the answering path
    /// several times per query).
    private let value: UnsafeMutablePointer<Value>

    public init(_ value: Value) {
        self.value = .allocate(capacity: 1)
        self.value.initialize(to: value)
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
