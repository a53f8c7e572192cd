import NIOCore

/// The items a reducer received and has not batched yet, oldest first: each item with where
/// and when it arrived. Part of ``ReducerStateMachine``.
///
/// Items and their arrival facts sit in two queues that move their elements, so an item passes
/// through without being copied: a ``ReducerStateMachine/PendingItem`` is only made when the
/// item leaves for a batch.
struct ArrivalQueue: Sendable {
    struct Arrival: Sendable {
        var source: ConnectionID
        var time: NIODeadline
        /// When its record becomes older than `maxRecordAge` (nil: never).
        var expiry: NIODeadline?
    }

    private var items = RingBuffer<WireItem>()
    private var arrivals = RingBuffer<Arrival>()

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }

    /// When the oldest item arrived.
    var oldestArrival: NIODeadline? { arrivals.first?.time }

    mutating func append(_ item: consuming WireItem, _ arrival: Arrival) {
        items.append(item)
        arrivals.append(arrival)
    }

    /// Takes the oldest item, which must exist.
    mutating func removeFirst() -> ReducerStateMachine.PendingItem {
        let arrival = arrivals.removeFirst()
        return ReducerStateMachine.PendingItem(item: items.removeFirst(), source: arrival.source, arrival: arrival.time, expiry: arrival.expiry)
    }

    /// Removes the items for which `shouldRemove` is true and returns them, in order.
    mutating func removeAll(where shouldRemove: (WireItem, Arrival) -> Bool) -> [ReducerStateMachine.PendingItem] {
        var removed: [ReducerStateMachine.PendingItem] = []
        var kept = ArrivalQueue()
        while !isEmpty {
            let pending = removeFirst()
            let arrival = Arrival(source: pending.source, time: pending.arrival, expiry: pending.expiry)
            if shouldRemove(pending.item, arrival) {
                removed.append(pending)
            } else {
                kept.append(pending.item, arrival)
            }
        }
        self = kept
        return removed
    }

    /// How many items satisfy `predicate`.
    func count(where predicate: (WireItem) -> Bool) -> Int {
        items.reduce(0) { $0 + (predicate($1) ? 1 : 0) }
    }
}
