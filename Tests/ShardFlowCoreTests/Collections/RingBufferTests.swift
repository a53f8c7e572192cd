import NIOConcurrencyHelpers
import Testing

@testable import ShardFlowCore

@Suite("Ring buffer")
struct RingBufferTests {
    /// Counts the instances alive, so a test can tell that every element was destroyed once.
    final class Tracked: Sendable {
        static let alive = NIOLockedValueBox(0)
        let value: Int
        init(_ value: Int) {
            self.value = value
            Self.alive.withLockedValue { $0 += 1 }
        }
        deinit { Self.alive.withLockedValue { $0 -= 1 } }
    }

    @Test("first in, first out across wrap-arounds and growth")
    func order() {
        var ring = RingBuffer<Int>()
        var expected: [Int] = []
        var next = 0
        // Interleave appends and removals so the front moves through the storage and it grows
        // while the elements wrap around its end.
        for round in 0..<50 {
            for _ in 0..<(round % 7 + 3) {
                ring.append(next)
                expected.append(next)
                next += 1
            }
            for _ in 0..<(round % 5 + 1) where !expected.isEmpty {
                #expect(ring.removeFirst() == expected.removeFirst())
            }
            #expect(Array(ring) == expected)
            #expect(ring.count == expected.count && ring.first == expected.first)
        }
        while let value = ring.popFirst() { #expect(value == expected.removeFirst()) }
        #expect(ring.isEmpty && expected.isEmpty && ring.popFirst() == nil)
    }

    @Test("a copy keeps its elements when the original changes (copy on write)")
    func copyOnWrite() {
        var original: RingBuffer = [1, 2, 3]
        let copy = original
        original.append(4)
        original[0] = 10
        _ = original.removeFirst()
        #expect(Array(copy) == [1, 2, 3])
        #expect(Array(original) == [2, 3, 4])
        var other = copy
        other.removeFirst(2)
        #expect(Array(other) == [3] && Array(copy) == [1, 2, 3])
    }

    @Test("elements are modified in place, removed in bulk and by a predicate, in order")
    func mutation() {
        var ring = RingBuffer(0..<10)
        ring[3] += 100
        #expect(ring[3] == 103)
        ring.removeFirst(2)
        #expect(Array(ring) == [2, 103, 4, 5, 6, 7, 8, 9])
        ring.removeAll { $0 % 2 == 1 }
        #expect(Array(ring) == [2, 4, 6, 8])
        #expect(ring == RingBuffer([2, 4, 6, 8]) && ring != RingBuffer([2, 4, 6]))
        ring.removeAll(keepingCapacity: true)
        #expect(ring.isEmpty)
        ring.append(1)
        #expect(Array(ring) == [1])
    }

    @Test("every element is destroyed exactly once: moved out, removed, replaced or left at the end")
    func lifetimes() {
        let before = Tracked.alive.withLockedValue { $0 }
        do {
            var ring = RingBuffer<Tracked>()
            for value in 0..<100 { ring.append(Tracked(value)) }
            var taken: [Tracked] = []
            for _ in 0..<30 { taken.append(ring.removeFirst()) }
            #expect(taken.map(\.value) == Array(0..<30))
            ring.removeFirst(20)
            ring[0] = Tracked(-1)
            var shared = ring  // forces a copy on the next change
            shared.append(Tracked(1000))
            ring.removeAll { $0.value % 3 == 0 }
            for value in 100..<140 { ring.append(Tracked(value)) }
            #expect(ring.first?.value == -1)
            #expect(Tracked.alive.withLockedValue { $0 } - before == taken.count + ring.count + shared.count - sharedWithRing(ring, shared))
        }
        #expect(Tracked.alive.withLockedValue { $0 } == before)
    }

    /// Elements present in both rings (the same instances, counted once above).
    private func sharedWithRing(_ a: RingBuffer<Tracked>, _ b: RingBuffer<Tracked>) -> Int {
        let ids = Set(a.map { ObjectIdentifier($0) })
        return b.filter { ids.contains(ObjectIdentifier($0)) }.count
    }
}
