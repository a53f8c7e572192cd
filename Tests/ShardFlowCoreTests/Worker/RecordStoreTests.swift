import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

/// The worker's record store: records kept per daemon message, sent as runs, released behind
/// the checkpoint.
@Suite("Record store")
struct RecordStoreTests {
    /// A daemon message's records, numbered from `first`; record `i` has sequence number
    /// `5000 + i` and sub-sequence number `i % 3` (none for every fourth).
    static func message(_ indices: ClosedRange<UInt64>) -> ReceivedRecords {
        var encoded = ByteBuffer()
        var ends: [Int] = []
        for index in indices {
            TestFrames.record(index, sequenceNumber: "\(5000 + index)", subSequenceNumber: index % 4 == 3 ? nil : index % 3)
                .write(to: &encoded)
            ends.append(encoded.writerIndex)
        }
        return ReceivedRecords(encoded: encoded, ends: ends)
    }

    static func position(_ index: UInt64) -> SequencePosition {
        SequencePosition(sequenceNumber: SequenceNumber("\(5000 + index)")!, subSequenceNumber: index % 4 == 3 ? nil : Int64(index % 3))
    }

    @Test("records keep their indices, bytes and positions across messages")
    func lookups() {
        var store = RecordStore()
        store.append(Self.message(0...2))
        store.append(Self.message(3...7))
        #expect(store.count == 8 && store.nextIndex == 8)
        for index: UInt64 in 0...7 {
            #expect(store[index] == TestFrames.record(index, sequenceNumber: "\(5000 + index)",
                                                      subSequenceNumber: index % 4 == 3 ? nil : index % 3).encoded)
            #expect(store.position(of: index) == Self.position(index))
        }
        #expect(store[8] == nil && store.position(of: 8) == nil)
    }

    @Test("a run is consecutive records of one message, stopping where the caller says")
    func runs() {
        var store = RecordStore()
        store.append(Self.message(0...2))
        store.append(Self.message(3...7))
        let all = store.run(from: 0, limit: 100) { _, _ in true }
        #expect(all == RecordBatch((0...2).map { TestFrames.record($0, sequenceNumber: "\(5000 + $0)", subSequenceNumber: $0 % 3) }),
                "a run ends with its message")
        var sizes: [Int] = []
        let limited = store.run(from: 4, limit: 2) { _, size in sizes.append(size); return true }
        #expect(limited?.count == 2 && sizes.count == 2 && limited?.byteCount == sizes.reduce(0, +))
        let stopped = store.run(from: 3, limit: 100) { index, _ in index < 6 }
        #expect(stopped?.count == 3, "records 3, 4 and 5; the caller refused 6")
        #expect(store.run(from: 3, limit: 100) { _, _ in false } == nil)
    }

    @Test("releasing drops whole records, remembers the last one's position, and frees a message once all of it is gone")
    func release() {
        var store = RecordStore()
        store.append(Self.message(0...2))
        store.append(Self.message(3...7))
        store.release(below: 2)
        #expect(store.lastReleased?.index == 1 && store.lastReleased?.position == Self.position(1))
        #expect(store[1] == nil && store[2] != nil && store.count == 6)
        store.release(below: 5)
        #expect(store.lastReleased?.index == 4 && store.lastReleased?.position == Self.position(4))
        #expect(store.run(from: 5, limit: 10) { _, _ in true }?.count == 3)
        store.release(below: 100)
        #expect(store.count == 0 && store.nextIndex == 8 && store.lastReleased?.index == 7)
        store.append(Self.message(8...9))
        #expect(store.position(of: 9) == Self.position(9), "indices go on after everything was released")
    }

    @Test("the queued flag follows each held record")
    func queuedFlags() {
        var store = RecordStore()
        store.append(Self.message(0...3))
        store.setQueued(2, true)
        #expect(store.isQueued(2) && !store.isQueued(1))
        store.release(below: 2)
        #expect(store.isQueued(2) && !store.isQueued(3))
        store.setQueued(0, true)
        #expect(!store.isQueued(0), "released records are not held")
    }
}
