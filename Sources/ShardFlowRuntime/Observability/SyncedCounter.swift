import CoreMetrics

/// A counter that mirrors a total kept elsewhere (a state machine's count): ``set(total:)``
/// adds what grew since the last call. A total that went down (its owner started over) counts
/// from zero again, so the exported counter never decreases.
public final class SyncedCounter: @unchecked Sendable {
    private let counter: CoreMetrics.FloatingPointCounter
    private var last: Double = 0

    init(_ counter: CoreMetrics.FloatingPointCounter) {
        self.counter = counter
    }

    public func set(total: Double) {
        let delta = total >= last ? total - last : total
        last = total
        if delta > 0 { counter.increment(by: delta) }
    }

    public func set(total: Int) { set(total: Double(total)) }

    /// Adds to the counter directly (for events no state machine counts).
    public func increment(by amount: Double = 1) {
        counter.increment(by: amount)
    }
}
