/// The receiving side of one sender's credit: what it granted, what the sender still holds,
/// and what has been freed here and not yet returned.
///
/// A receiver grants a window at the handshake; each batch received spends the sender's
/// credit (the count strictly; the bytes saturating, since a sender may start a batch while it
/// holds any byte credit); as data leaves the receiver, the freed credit is returned in
/// batches of a quarter window, or at once when the receiver holds nothing more of the sender.
public struct CreditWindow: Sendable, Hashable {
    /// The window granted at the handshake.
    public let window: Credit
    /// Credit the sender still holds (granted − spent).
    public private(set) var outstanding: Credit
    /// Credit freed here and not yet returned to the sender.
    public private(set) var returnable = Credit.zero

    public init(window: Credit) {
        self.window = window
        self.outstanding = window
    }

    /// Spends the sender's credit for a batch of `count` elements and `bytes` bytes. False when
    /// the batch exceeds the count granted, or arrives while no byte credit is left: a
    /// protocol violation.
    public mutating func receive(count: Int, bytes: Int) -> Bool {
        guard count > 0 else { return true }
        guard UInt64(count) <= UInt64(outstanding.count), outstanding.bytes > 0 else { return false }
        outstanding.count -= UInt32(count)
        outstanding.bytes = outstanding.bytes.subtractingSaturated(UInt64(bytes))
        return true
    }

    /// Elements and bytes of the sender left this receiver.
    public mutating func release(count: Int, bytes: Int) {
        returnable.count += UInt32(count)
        returnable.bytes += UInt64(bytes)
    }

    /// The credit to send back now, if any: once a quarter window is freed, or whatever is
    /// freed when `drained` (the receiver holds nothing more of this sender).
    public mutating func takeReturn(drained: Bool) -> Credit? {
        guard returnable.count > 0 || returnable.bytes > 0 else { return nil }
        guard drained || returnable.count >= window.count / 4 || returnable.bytes >= window.bytes / 4 else { return nil }
        let credit = returnable
        outstanding.count += credit.count
        outstanding.bytes += credit.bytes
        returnable = .zero
        return credit
    }
}
