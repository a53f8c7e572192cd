import NIOCore

/// ``ExponentialBackoff`` with ±20 % jitter and a running attempt count, for reconnects (so
/// many peers that lost the same listener do not all retry at the same instant).
public struct Backoff: Sendable {
    public var initial: TimeAmount
    public var maximum: TimeAmount
    public private(set) var attempt = 0

    public init(initial: TimeAmount = .milliseconds(50), maximum: TimeAmount = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the next attempt.
    public mutating func next() -> TimeAmount {
        attempt += 1
        let base = ExponentialBackoff(initial: initial, maximum: maximum).delay(attempt: attempt)
        let jitter = Double.random(in: 0.8...1.2)
        return .nanoseconds(Int64(Double(base.nanoseconds) * jitter))
    }

    public mutating func reset() { attempt = 0 }
}
