import DequeModule
import NIOCore

/// Encoded items waiting for one reducer, oldest first, with their sizes (credit counts items
/// and bytes).
///
/// Items are written into chunks of about ``chunkBytes``; sending takes items from the oldest
/// chunk as a slice (no copy) and drops the chunk once all its items are taken. So a queue that
/// never empties — the usual state under load — holds only what is queued plus at most one
/// chunk of sent bytes, where a single growing buffer would keep everything ever sent.
struct ItemQueue: Sendable {
    /// Target size of one chunk; a chunk is closed once it reaches it.
    static let chunkBytes = 1024 * 1024

    /// Full chunks, oldest first, with how many of their items are not yet taken.
    private var closed: Deque<(buffer: ByteBuffer, count: Int)> = []
    /// The chunk being written, and how many of its items are not yet taken.
    private var open = ByteBuffer()
    private var openCount = 0
    private var sizes: Deque<Int> = []
    /// Bytes of the queued items.
    private(set) var byteCount = 0

    /// Queued items.
    var count: Int { sizes.count }
    var isEmpty: Bool { sizes.isEmpty }

    /// Bytes held in chunk storage (queued items, plus sent bytes still in the oldest chunk).
    var retainedBytes: Int { closed.reduce(open.writerIndex) { $0 + $1.buffer.writerIndex } }

    /// Appends one item, written by `write` at the end of the open chunk (which returns the
    /// item's encoded size).
    mutating func append(_ write: (inout ByteBuffer) -> Int) {
        if open.capacity == 0 {
            // Sized like the last chunk, so it rarely grows (growing copies what it holds).
            open = ByteBufferAllocator().buffer(capacity: nextCapacity)
        }
        let size = write(&open)
        openCount += 1
        sizes.append(size)
        byteCount += size
        if open.writerIndex >= Self.chunkBytes { closeOpenChunk() }
    }

    private var nextCapacity = 64 * 1024

    private mutating func closeOpenChunk() {
        nextCapacity = min(max(open.writerIndex * 2, 64 * 1024), Self.chunkBytes + 64 * 1024)
        closed.append((open, openCount))
        open = ByteBuffer()
        openCount = 0
    }

    /// Takes up to `maximumItems` of the oldest items, stopping once `maximumBytes` is reached
    /// (at least one item is taken when any is queued), all from one chunk: their bytes back to
    /// back and their count, or nil when empty.
    mutating func take(maximumItems: Int, maximumBytes: Int) -> (count: Int, bytes: ByteBuffer)? {
        guard !sizes.isEmpty, maximumItems > 0 else { return nil }
        // Never write into a chunk that was sliced from (that would copy it): taking from the
        // open chunk closes it first.
        if closed.isEmpty { closeOpenChunk() }
        let available = closed[0].count
        var count = 0
        var bytes = 0
        while count < available, count < maximumItems, count == 0 || bytes < maximumBytes {
            bytes += sizes.removeFirst()
            count += 1
        }
        let slice = closed[0].buffer.readSlice(length: bytes)!
        closed[0].count -= count
        if closed[0].count == 0 { closed.removeFirst() }
        byteCount -= bytes
        return (count, slice)
    }
}
