import NIOCore
import ShardFlowTestKit
import Testing

@testable import ShardFlowCore

@Suite("Mapper item queue")
struct ItemQueueTests {
    /// Appends an item of `size` bytes, all equal to `tag`.
    static func append(_ queue: inout ItemQueue, size: Int, tag: UInt8) {
        queue.append { buffer in
            buffer.writeRepeatingByte(tag, count: size)
            return size
        }
    }

    static func take(_ queue: inout ItemQueue, _ items: Int, _ bytes: Int) -> (count: Int, bytes: ByteBuffer)? {
        queue.take(maximumItems: items, maximumBytes: bytes)
    }

    @Test("items come back in order, whole, within the item and byte limits")
    func order() throws {
        var queue = ItemQueue()
        for tag in 0..<10 { Self.append(&queue, size: 100 + Int(tag), tag: UInt8(tag)) }
        #expect(queue.count == 10 && queue.byteCount == (100..<110).reduce(0, +))

        let three = try #require(Self.take(&queue, 3, 1 << 20))
        #expect(three.count == 3)
        #expect(Array(three.bytes.readableBytesView) == [UInt8](repeating: 0, count: 100) + [UInt8](repeating: 1, count: 101)
            + [UInt8](repeating: 2, count: 102))
        // The byte limit stops after the item that reaches it, and never takes nothing.
        let byBytes = try #require(Self.take(&queue, 100, 150))
        #expect(byBytes.count == 2 && byBytes.bytes.readableBytes == 103 + 104)
        let atLeastOne = try #require(Self.take(&queue, 100, 1))
        #expect(atLeastOne.count == 1 && atLeastOne.bytes.readableBytesView.allSatisfy { $0 == 5 })
        let rest = try #require(Self.take(&queue, 100, 1 << 20))
        #expect(rest.count == 4 && queue.isEmpty && queue.byteCount == 0)
        #expect(Self.take(&queue, 100, 1 << 20) == nil)
    }

    @Test("a queue that never empties keeps only what is queued plus one chunk")
    func boundedWhenNeverEmpty() throws {
        var queue = ItemQueue()
        var next: UInt8 = 0
        var expected: UInt8 = 0
        var largestRetained = 0
        for _ in 0..<40 {
            // About 4 MiB through the queue in all, with about 1 MiB always queued.
            for _ in 0..<100 {
                Self.append(&queue, size: 1000, tag: next)
                next &+= 1
            }
            while queue.count > 1000 {
                let taken = try #require(Self.take(&queue, 64, 4 << 20))
                for item in 0..<taken.count {
                    #expect(taken.bytes.getInteger(at: taken.bytes.readerIndex + item * 1000, as: UInt8.self) == expected)
                    expected &+= 1
                }
            }
            largestRetained = max(largestRetained, queue.retainedBytes)
        }
        #expect(queue.count > 900, "about 1000 items stay queued")
        #expect(largestRetained <= queue.byteCount + 2 * ItemQueue.chunkBytes + 1000,
                "retained \(largestRetained) bytes for \(queue.byteCount) queued")
    }
}
