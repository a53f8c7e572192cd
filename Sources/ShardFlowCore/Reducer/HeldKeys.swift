import DequeModule
import NIOCore

/// The keys a reducer holds back after a failure: for each, the failed item and every later
/// item of the same key, in order, until the retry is due. Items of other keys are not held.
///
/// Part of ``ReducerStateMachine``; pure and bounded by the credit the reducer granted (held
/// items are not acknowledged, so their credit stays spent).
struct HeldKeys: Sendable {
    struct Hold: Sendable {
        var items: Deque<ReducerStateMachine.PendingItem>
        /// When the held items may be processed again.
        var due: NIODeadline
        /// Since when the key has been held.
        var since: NIODeadline
    }

    private var holds: [ByteBuffer: Hold] = [:]
    /// Keys whose held items all went into the batch being processed, with since when they waited.
    private var released: [ByteBuffer: NIODeadline] = [:]
    private(set) var count = 0

    var isEmpty: Bool { holds.isEmpty }
    var keyCount: Int { holds.count }

    /// Whether later items of `key` must wait behind held ones.
    func isHeld(_ key: ByteBuffer) -> Bool { holds[key] != nil }

    /// The earliest time a hold is due, if any.
    var nextDue: NIODeadline? { holds.values.lazy.map(\.due).min() }

    /// Holds `items` (a failed item first, then later items of its key) in front of anything
    /// already held for the key, until `due`.
    mutating func hold(_ items: [ReducerStateMachine.PendingItem], key: ByteBuffer, until due: NIODeadline, now: NIODeadline) {
        guard !items.isEmpty else { return }
        count += items.count
        if var existing = holds[key] {
            existing.items.insert(contentsOf: items, at: 0)
            existing.due = due
            holds[key] = existing
        } else {
            holds[key] = Hold(items: Deque(items), due: due, since: released[key] ?? now)
        }
    }

    /// The keys held longest (see ``ReducerStateMachine/longestHeld(limit:)``).
    func longestHeld(limit: Int) -> [(item: ReducerStateMachine.PendingItem, since: NIODeadline, waiting: Int)] {
        holds.values.sorted { $0.since < $1.since }.prefix(limit).compactMap { hold in
            hold.items.first.map { ($0, hold.since, hold.items.count) }
        }
    }

    /// Appends an item behind the ones held for its key (which must be held).
    mutating func append(_ item: ReducerStateMachine.PendingItem) {
        holds[item.item.key]!.items.append(item)
        count += 1
    }

    /// Takes up to `limit` items from holds due at `now`, whole keys first in due order; a key
    /// whose items do not all fit keeps the rest (still due).
    mutating func takeDue(now: NIODeadline, limit: Int) -> [ReducerStateMachine.PendingItem] {
        var taken: [ReducerStateMachine.PendingItem] = []
        let due = holds.filter { $0.value.due <= now }.sorted { $0.value.due < $1.value.due }.map(\.key)
        for key in due where taken.count < limit {
            var hold = holds[key]!
            while taken.count < limit, let item = hold.items.popFirst() { taken.append(item) }
            if hold.items.isEmpty {
                // Remembered while the batch runs: should the key fail again, it has waited since then.
                released[key] = hold.since
                holds[key] = nil
            } else {
                holds[key] = hold
            }
        }
        count -= taken.count
        return taken
    }

    /// The batch taken by ``takeDue(now:limit:)`` was processed: keys it did not hold again are free.
    mutating func batchSettled() {
        released.removeAll(keepingCapacity: true)
    }

    /// Drops the items that came from `source`; returns how many.
    mutating func removeAll(from source: ConnectionID) -> Int {
        var removed = 0
        for key in Array(holds.keys) {
            var hold = holds[key]!
            let before = hold.items.count
            hold.items.removeAll { $0.source == source }
            removed += before - hold.items.count
            holds[key] = hold.items.isEmpty ? nil : hold
        }
        count -= removed
        return removed
    }
}
