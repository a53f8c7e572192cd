import DequeModule
import NIOCore

/// The encoded bytes of every record a worker has not released yet, by record index, and
/// whether each is waiting in the send queue.
///
/// Records stay until they are behind the safe checkpoint, so any of them can be sent again
/// when its path breaks or one of its items fails.
public struct RecordStore: Sendable {
    private struct Entry: Sendable {
        var bytes: ByteBuffer
        var queued = false
    }

    private var base: UInt64 = 0
    private var entries: Deque<Entry> = []

    public init() {}

    /// Index the next appended record gets.
    public var nextIndex: UInt64 { base + UInt64(entries.count) }

    /// Records held.
    public var count: Int { entries.count }

    public mutating func append(_ bytes: ByteBuffer) {
        entries.append(Entry(bytes: bytes))
    }

    public func contains(_ index: UInt64) -> Bool { index >= base && index < base + UInt64(entries.count) }

    public subscript(index: UInt64) -> ByteBuffer? {
        contains(index) ? entries[Int(index - base)].bytes : nil
    }

    public func isQueued(_ index: UInt64) -> Bool { contains(index) && entries[Int(index - base)].queued }

    public mutating func setQueued(_ index: UInt64, _ queued: Bool) {
        guard contains(index) else { return }
        entries[Int(index - base)].queued = queued
    }

    /// Drops records below `index` (complete, behind the safe checkpoint).
    public mutating func release(below index: UInt64) {
        let drop = min(Int(clamping: index > base ? index - base : 0), entries.count)
        guard drop > 0 else { return }
        entries.removeFirst(drop)
        base += UInt64(drop)
    }
}
