/// The sending side of a credit window: what the receiver has granted and the sender has not
/// spent yet. A sender may start a batch while it holds both counts; the byte credit then
/// saturates at zero (it may overshoot by one batch), the count never does.
public struct CreditBalance: Sendable, Hashable {
    public private(set) var available = Credit.zero

    public init() {}

    /// A CREDIT frame arrived. Grants add up.
    public mutating func grant(_ credit: Credit) {
        available.count &+= credit.count
        available.bytes &+= credit.bytes
    }

    /// Whether a new batch may start.
    public var canSend: Bool { available.count > 0 && available.bytes > 0 }

    /// How many elements a batch may carry, at most `limit`.
    public func allowedCount(limit: Int) -> Int { canSend ? min(Int(available.count), limit) : 0 }

    /// Spends credit for a batch that is being sent.
    public mutating func spend(count: Int, bytes: Int) {
        precondition(UInt64(count) <= UInt64(available.count), "spending \(count) with \(available.count) granted")
        available.count -= UInt32(count)
        available.bytes = available.bytes.subtractingSaturated(UInt64(bytes))
    }
}
