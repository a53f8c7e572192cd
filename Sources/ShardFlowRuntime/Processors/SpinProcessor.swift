#if canImport(Glibc)
import Glibc
#endif

/// `spin:MICROSECONDS`: a CPU-bound stand-in for real work. Each item costs that much CPU time
/// of the processor thread (measured with `CLOCK_THREAD_CPUTIME_ID`), spent in an arithmetic
/// loop: time spent descheduled does not count as work, and a busier machine does not make an
/// item cheaper or dearer.
public final class SpinProcessor: BatchProcessor {
    public let microseconds: Int
    private var sink: UInt64 = 1
    /// Iterations of ``work(seed:iterations:)`` per nanosecond, learnt as it runs, so each item
    /// needs only a couple of clock readings (each costs a few hundred nanoseconds).
    private var rate = 0.5

    public init(microseconds: Int) {
        self.microseconds = microseconds
    }

    public func process(_ items: [ProcessorItem]) throws -> BatchResult {
        guard microseconds > 0 else { return .success }
        let budget = Int64(microseconds) * 1000
        var now = Self.threadCPUTime()
        // Deadlines are chained from the batch's start, so an item that overshoots its share
        // shortens the next one's: the batch as a whole costs exactly `budget` per item.
        var deadline = now
        for item in items {
            deadline += budget
            guard deadline > now else { continue }
            repeat {
                // Aim a little short of the deadline, then top up in small steps.
                let remaining = deadline - now
                let iterations = max(32, Int(Double(remaining) * rate * 0.9))
                let before = now
                sink = Self.work(seed: sink ^ UInt64(item.wire.token.record), iterations: iterations)
                now = Self.threadCPUTime()
                if iterations > 256, now > before {
                    rate = rate * 0.8 + 0.2 * Double(iterations) / Double(now - before)
                }
            } while deadline - now > Self.clockReadCost / 2  // stop when another reading would overshoot more than it saves
        }
        return .success
    }

    /// What one reading of the thread CPU clock costs, in nanoseconds (measured once).
    static let clockReadCost: Int64 = {
        let start = threadCPUTime()
        for _ in 0..<1000 { _ = threadCPUTime() }
        return max(0, (threadCPUTime() - start) / 1001)
    }()

    /// CPU time of the calling thread, in nanoseconds.
    static func threadCPUTime() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    @inline(never)
    static func work(seed: UInt64, iterations: Int) -> UInt64 {
        var x = seed | 1
        for _ in 0..<iterations {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
        }
        return x
    }
}
