import NIOCore

/// Exponential backoff with a ceiling and ±20 % jitter, for reconnects and restarts.
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
        let base = WorkerStateMachine.backoffDelay(attempt: attempt, initial: initial, maximum: maximum)
        let jitter = Double.random(in: 0.8...1.2)
        return .nanoseconds(Int64(Double(base.nanoseconds) * jitter))
    }

    public mutating func reset() { attempt = 0 }
}
