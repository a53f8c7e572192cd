import ArgumentParser
import NIOCore

/// A duration on the command line: `250ms`, `5s`, `2m`, `1h`, or plain seconds.
public struct DurationArgument: ExpressibleByArgument, Sendable, Hashable, CustomStringConvertible {
    public var amount: TimeAmount

    public init(_ amount: TimeAmount) { self.amount = amount }

    public init?(argument: String) {
        let units: [(String, Int64)] = [("ms", 1_000_000), ("us", 1000), ("µs", 1000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        for (suffix, nanoseconds) in units where argument.hasSuffix(suffix) {
            guard let value = Double(argument.dropLast(suffix.count)), value >= 0 else { return nil }
            amount = .nanoseconds(Int64(value * Double(nanoseconds)))
            return
        }
        guard let seconds = Double(argument), seconds >= 0 else { return nil }
        amount = .nanoseconds(Int64(seconds * 1e9))
    }

    public var description: String { amount.prettyDescription }
    public var defaultValueDescription: String { amount.prettyDescription }
}
