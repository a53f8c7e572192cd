/// Tracks which records of a shard are complete and where the shard may safely checkpoint.
///
/// Records get consecutive indices as they are appended. A record is complete when every item
/// extracted from it has been acknowledged (tracked as a set of item indices, so duplicates from
/// redelivery never complete it early), or when it yields zero items. The safe checkpoint is
/// the last record of the longest complete prefix: the tracker never offers a record past an
/// incomplete one. It tracks indices only; the worker knows each record's position in the
/// shard (its sequence and sub-sequence number).
///
/// Memory holds only the records from the first incomplete one onwards, a byte each.
public struct CheckpointTracker: Sendable {
    enum State: Sendable {
        /// No acknowledgement yet, so the item count is unknown.
        case awaiting
        /// Some items acknowledged; their set is in `partials`.
        case partial
        case complete
    }

    /// Item sets of records with some but not all items acknowledged, by record index.
    private var partials: [UInt64: ItemSet] = [:]

    /// The outcome of one acknowledgement.
    public enum AckOutcome: Hashable, Sendable {
        /// The item was new to its record.
        case recorded
        /// The item had been acknowledged before (redelivery); nothing changed.
        case duplicate
        /// The record is already complete and behind the safe checkpoint.
        case alreadyComplete
        /// No such record was ever appended (a stale or foreign acknowledgement).
        case unknownRecord
        /// The acknowledgement names another item count than an earlier one of the same record;
        /// it is ignored, and the record stays incomplete until items under its first count are
        /// all acknowledged.
        case itemCountMismatch(expected: UInt32, received: UInt32)
    }

    /// One entry per held record.
    private var states = RingBuffer<State>()
    /// Index of the first record still held (the first incomplete one, or `nextIndex`).
    public private(set) var firstIndex: UInt64
    /// The last record of the complete prefix (nil while the first record is incomplete).
    public private(set) var checkpointable: UInt64?
    /// Records appended and not complete.
    public private(set) var incompleteCount = 0

    public init(firstIndex: UInt64 = 0) {
        self.firstIndex = firstIndex
    }

    /// Index the next appended record will get.
    public var nextIndex: UInt64 { firstIndex + UInt64(states.count) }

    /// Records held: from the first incomplete one to the newest.
    public var heldCount: Int { states.count }

    /// Appends a record and returns its index.
    @discardableResult
    public mutating func append() -> UInt64 {
        states.append(.awaiting)
        incompleteCount += 1
        return nextIndex - 1
    }

    /// Appends `count` records.
    public mutating func append(count: Int) {
        for _ in 0..<count { states.append(.awaiting) }
        incompleteCount += count
    }

    /// Records that item `item` of `itemCount` items of record `record` is done.
    /// `itemCount` 0 means the record yields no item and is complete at once.
    @discardableResult
    public mutating func itemCompleted(record: UInt64, item: UInt32, itemCount: UInt32) -> AckOutcome {
        guard record >= firstIndex else { return record < nextIndex ? .alreadyComplete : .unknownRecord }
        guard record < nextIndex else { return .unknownRecord }
        let offset = Int(record - firstIndex)
        switch states[offset] {
        case .complete:
            return .duplicate
        case .awaiting:
            if itemCount <= 1 {
                markComplete(offset)
                return .recorded
            }
            var set = ItemSet(itemCount: itemCount)
            _ = set.insert(item)
            partials[record] = set
            states[offset] = .partial
            return .recorded
        case .partial:
            guard var set = partials.removeValue(forKey: record) else { return .unknownRecord }
            guard set.itemCount == itemCount else {
                partials[record] = set
                return .itemCountMismatch(expected: set.itemCount, received: itemCount)
            }
            guard set.insert(item) else {
                partials[record] = set
                return .duplicate
            }
            if set.isFull {
                markComplete(offset)
            } else {
                partials[record] = set
            }
            return .recorded
        }
    }

    /// Whether the record is complete (records behind the safe checkpoint are).
    public func isComplete(_ record: UInt64) -> Bool {
        guard record >= firstIndex else { return true }
        guard record < nextIndex else { return false }
        if case .complete = states[Int(record - firstIndex)] { return true }
        return false
    }

    /// Indices of all incomplete records, in order.
    public var incompleteRecords: [UInt64] {
        var result: [UInt64] = []
        result.reserveCapacity(incompleteCount)
        for (offset, state) in states.enumerated() {
            if case .complete = state { continue }
            result.append(firstIndex + UInt64(offset))
        }
        return result
    }

    private mutating func markComplete(_ offset: Int) {
        states[offset] = .complete
        incompleteCount -= 1
        guard offset == 0 else { return }
        var completed = 0
        while completed < states.count, case .complete = states[completed] { completed += 1 }
        checkpointable = firstIndex + UInt64(completed) - 1
        states.removeFirst(completed)
        firstIndex += UInt64(completed)
    }
}
