import NIOCore

/// Doubling delays with a ceiling, the one backoff rule every retry in ShardFlow follows
/// (checkpoint retries, resends of failed records, processor retries, reconnects, restarts).
public struct ExponentialBackoff: Sendable, Hashable {
    public var initial: TimeAmount
    public var maximum: TimeAmount

    public init(initial: TimeAmount, maximum: TimeAmount) {
        self.initial = initial
        self.maximum = maximum
    }

    /// `initial × 2^(attempt−1)`, capped at `maximum` (attempt 1 waits `initial`).
    public func delay(attempt: Int) -> TimeAmount {
        let shift = min(max(attempt - 1, 0), 20)
        let nanoseconds = initial.nanoseconds.multipliedReportingOverflow(by: Int64(1) << shift)
        if nanoseconds.overflow { return maximum }
        return .nanoseconds(min(nanoseconds.partialValue, maximum.nanoseconds))
    }
}
