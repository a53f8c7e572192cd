#if canImport(Glibc)
import Glibc
#endif

/// A mutex with a condition variable, for the few places a plain thread waits for another.
final class Monitor: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Runs `body` holding the lock.
    func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (holding the lock, inside `withLock`) until another thread broadcasts.
    func wait() {
        pthread_cond_wait(condition, mutex)
    }

    /// Wakes every waiter (call holding the lock).
    func broadcast() {
        pthread_cond_broadcast(condition)
    }
}
