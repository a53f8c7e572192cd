import NIOCore

/// A clock a test advances by hand: state machines take `now` as an argument, so a transcript
/// controls time exactly and never sleeps.
public struct TestClock: Sendable {
    public private(set) var now: NIODeadline

    public init(start: NIODeadline = .uptimeNanoseconds(1_000_000_000)) {
        now = start
    }

    public mutating func advance(by amount: TimeAmount) {
        now = now + amount
    }
}
