import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

/// Transcripts of the checkpoint rule: records in, acknowledgements in (any order, duplicates),
/// and after each step the safe checkpoint and the number of incomplete records.
@Suite("Checkpoint tracker")
struct CheckpointTrackerTests {
    /// The tracker with a position per record (as the worker keeps them), so transcripts read
    /// as the checkpoint rule does: "checkpoint at R3".
    struct Named<Position> {
        var tracker = CheckpointTracker()
        /// Every record's position, by index (the worker reads them from the records it holds).
        var positions: [Position] = []

        @discardableResult
        mutating func append(_ position: Position) -> UInt64 {
            positions.append(position)
            return tracker.append()
        }

        @discardableResult
        mutating func itemCompleted(record: UInt64, item: UInt32, itemCount: UInt32) -> CheckpointTracker.AckOutcome {
            tracker.itemCompleted(record: record, item: item, itemCount: itemCount)
        }

        var checkpointable: (index: UInt64, position: Position)? { tracker.checkpointable.map { ($0, positions[Int($0)]) } }
        /// The position of a held record (nil once it is behind the complete prefix).
        func position(of record: UInt64) -> Position? {
            record >= tracker.firstIndex && record < tracker.nextIndex ? positions[Int(record)] : nil
        }
        func isComplete(_ record: UInt64) -> Bool { tracker.isComplete(record) }
        var incompleteCount: Int { tracker.incompleteCount }
        var incompleteRecords: [UInt64] { tracker.incompleteRecords }
        var heldCount: Int { tracker.heldCount }
        var firstIndex: UInt64 { tracker.firstIndex }
    }

    typealias Tracker = Named<String>

    /// Appends records named R1, R2, … and returns the tracker.
    static func tracker(records count: Int) -> Tracker {
        var tracker = Tracker()
        for index in 1...count { tracker.append("R\(index)") }
        return tracker
    }

    @Test("the worked example: R1 R2 R3 _ R5 complete → checkpoint at R3")
    func workedExample() {
        var tracker = Self.tracker(records: 5)
        for record: UInt64 in [0, 1, 2, 4] { tracker.itemCompleted(record: record, item: 0, itemCount: 1) }
        #expect(tracker.checkpointable?.position == "R3")
        #expect(tracker.incompleteCount == 1)
        #expect(tracker.incompleteRecords == [3])
        tracker.itemCompleted(record: 3, item: 0, itemCount: 1)
        #expect(tracker.checkpointable?.position == "R5")
        #expect(tracker.incompleteCount == 0)
        #expect(tracker.heldCount == 0)
    }

    @Test("out-of-order completion only moves the checkpoint once the gap closes")
    func outOfOrder() {
        var tracker = Self.tracker(records: 4)
        tracker.itemCompleted(record: 3, item: 0, itemCount: 1)
        tracker.itemCompleted(record: 1, item: 0, itemCount: 1)
        #expect(tracker.checkpointable == nil)
        #expect(tracker.incompleteCount == 2)
        tracker.itemCompleted(record: 0, item: 0, itemCount: 1)
        #expect(tracker.checkpointable?.position == "R2")
        tracker.itemCompleted(record: 2, item: 0, itemCount: 1)
        #expect(tracker.checkpointable?.position == "R4")
        #expect(tracker.checkpointable?.index == 3)
    }

    @Test("a mapper-side aggregate: one record, N items, completes only when every item is in")
    func mapperAggregate() {
        var tracker = Self.tracker(records: 2)
        #expect(tracker.itemCompleted(record: 0, item: 2, itemCount: 3) == .recorded)
        #expect(tracker.itemCompleted(record: 0, item: 0, itemCount: 3) == .recorded)
        #expect(tracker.checkpointable == nil)
        #expect(!tracker.isComplete(0))
        #expect(tracker.itemCompleted(record: 0, item: 1, itemCount: 3) == .recorded)
        #expect(tracker.checkpointable?.position == "R1")
        #expect(tracker.isComplete(0))
    }

    @Test("duplicate acknowledgements from redelivery never complete a record early")
    func duplicates() {
        var tracker = Self.tracker(records: 1)
        #expect(tracker.itemCompleted(record: 0, item: 0, itemCount: 3) == .recorded)
        #expect(tracker.itemCompleted(record: 0, item: 0, itemCount: 3) == .duplicate)
        #expect(tracker.itemCompleted(record: 0, item: 0, itemCount: 3) == .duplicate)
        #expect(tracker.checkpointable == nil, "three acks of item 0 are not three items")
        tracker.itemCompleted(record: 0, item: 1, itemCount: 3)
        tracker.itemCompleted(record: 0, item: 1, itemCount: 3)
        #expect(tracker.checkpointable == nil)
        tracker.itemCompleted(record: 0, item: 2, itemCount: 3)
        #expect(tracker.checkpointable?.position == "R1")
        #expect(tracker.itemCompleted(record: 0, item: 2, itemCount: 3) == .alreadyComplete)
    }

    @Test("large aggregates use the multi-word item set")
    func largeAggregate() {
        var tracker = Self.tracker(records: 1)
        let count: UInt32 = 200
        for item in (0..<count).reversed() where item != 130 {
            tracker.itemCompleted(record: 0, item: item, itemCount: count)
            tracker.itemCompleted(record: 0, item: item, itemCount: count)
        }
        #expect(!tracker.isComplete(0))
        tracker.itemCompleted(record: 0, item: 130, itemCount: count)
        #expect(tracker.isComplete(0))
    }

    @Test("KCL de-aggregated KPL records: one record per user record, each checkpointable")
    func kclDeaggregated() throws {
        var tracker = Named<SequencePosition>()
        for sub in 0..<3 { tracker.append(try #require(SequencePosition("4958", Int64(sub)))) }
        tracker.append(try #require(SequencePosition("4959", 0)))
        tracker.itemCompleted(record: 0, item: 0, itemCount: 1)
        tracker.itemCompleted(record: 1, item: 0, itemCount: 1)
        #expect(tracker.checkpointable?.position == SequencePosition("4958", 1))
        tracker.itemCompleted(record: 3, item: 0, itemCount: 1)
        #expect(tracker.checkpointable?.position == SequencePosition("4958", 1))
        tracker.itemCompleted(record: 2, item: 0, itemCount: 1)
        #expect(tracker.checkpointable?.position == SequencePosition("4959", 0))
    }

    @Test("a record that yields zero items is complete at once")
    func zeroItems() {
        var tracker = Self.tracker(records: 3)
        tracker.itemCompleted(record: 0, item: 0, itemCount: 0)
        #expect(tracker.checkpointable?.position == "R1")
        tracker.itemCompleted(record: 2, item: 0, itemCount: 0)
        tracker.itemCompleted(record: 1, item: 0, itemCount: 2)
        #expect(tracker.checkpointable?.position == "R1")
        tracker.itemCompleted(record: 1, item: 1, itemCount: 2)
        #expect(tracker.checkpointable?.position == "R3")
    }

    @Test("stale, foreign and inconsistent acknowledgements are rejected without effect")
    func anomalies() {
        var tracker = Self.tracker(records: 2)
        #expect(tracker.itemCompleted(record: 9, item: 0, itemCount: 1) == .unknownRecord)
        #expect(tracker.itemCompleted(record: 1, item: 0, itemCount: 2) == .recorded)
        #expect(tracker.itemCompleted(record: 1, item: 1, itemCount: 3) == .itemCountMismatch(expected: 2, received: 3))
        #expect(!tracker.isComplete(1))
        #expect(tracker.incompleteCount == 2)
        tracker.itemCompleted(record: 0, item: 0, itemCount: 1)
        #expect(tracker.checkpointable?.position == "R1")
    }

    @Test("indices continue after the prefix is released")
    func indicesContinue() {
        var tracker = Self.tracker(records: 2)
        tracker.itemCompleted(record: 0, item: 0, itemCount: 1)
        tracker.itemCompleted(record: 1, item: 0, itemCount: 1)
        #expect(tracker.firstIndex == 2)
        #expect(tracker.append("R3") == 2)
        #expect(tracker.position(of: 2) == "R3")
        #expect(tracker.position(of: 0) == nil)
        #expect(tracker.isComplete(0))
        #expect(!tracker.isComplete(2))
    }
}
