// Unsafe hot path: reads record headers through raw pointers (RecordLayout); every record was
// encoded by this worker.
import NIOCore

/// The encoded bytes of every record a worker has not released yet, by record index, and
/// whether each is waiting in the send queue.
///
/// Records stay until they are behind the safe checkpoint, so any of them can be sent again
/// when its path breaks or one of its items fails. They are kept as they arrived: one buffer
/// per `processRecords` message (a *chunk*) with where each record ends, so storing, sending
/// and releasing a record costs no reference counting of its own — a run of consecutive
/// records of one chunk leaves as one slice.
public struct RecordStore: Sendable {
    /// One `processRecords` message's records, back to back.
    private struct Chunk: Sendable {
        var bytes: ByteBuffer
        /// Index of the chunk's first record.
        var first: UInt64
        /// `ends[i]` is where record `first + i` ends in `bytes`.
        var ends: [Int]

        var next: UInt64 { first + UInt64(ends.count) }

        func range(of index: UInt64) -> Range<Int> {
            let offset = Int(index - first)
            return (offset == 0 ? 0 : ends[offset - 1])..<ends[offset]
        }
    }

    /// Index of the first record held.
    private var base: UInt64 = 0
    private var chunks = RingBuffer<Chunk>()
    /// Whether each held record (from `base` on) waits in the send queue.
    private var queued = RingBuffer<Bool>()
    /// The last record released: its index and position (the safe checkpoint is always the
    /// last record of the complete prefix, which is released as the prefix grows).
    public private(set) var lastReleased: (index: UInt64, position: SequencePosition)?

    public init() {}

    /// Index the next appended record gets.
    public var nextIndex: UInt64 { base + UInt64(queued.count) }

    /// Records held.
    public var count: Int { queued.count }

    /// Keeps a `processRecords` message's records; they get the next indices.
    public mutating func append(_ records: ReceivedRecords) {
        guard records.count > 0 else { return }
        chunks.append(Chunk(bytes: records.encoded, first: nextIndex, ends: records.ends))
        for _ in 0..<records.count { queued.append(false) }
    }

    public func contains(_ index: UInt64) -> Bool { index >= base && index < nextIndex }

    /// The encoded bytes of record `index` (a slice, no copy).
    public subscript(index: UInt64) -> ByteBuffer? {
        guard let chunk = chunkPosition(of: index) else { return nil }
        let range = chunks[chunk].range(of: index)
        let bytes = chunks[chunk].bytes
        return bytes.getSlice(at: bytes.readerIndex + range.lowerBound, length: range.count)
    }

    /// The encoded size of record `index` (0 when it is not held).
    public func size(of index: UInt64) -> Int {
        guard let chunk = chunkPosition(of: index) else { return 0 }
        return chunks[chunk].range(of: index).count
    }

    /// The (sequenceNumber, subSequenceNumber) of a held record, read from its bytes.
    public func position(of index: UInt64) -> SequencePosition? {
        guard let chunk = chunkPosition(of: index) else { return nil }
        return Self.position(in: chunks[chunk].bytes, range: chunks[chunk].range(of: index))
    }

    /// Consecutive records from `start` on, all in one chunk, at most `limit` of them and
    /// stopping at the first one `include` rejects: their bytes (one slice) and count.
    /// `include` is asked in index order and stops the run by returning false.
    public func run(from start: UInt64, limit: Int, include: (UInt64, Int) -> Bool) -> RecordBatch? {
        guard limit > 0, let position = chunkPosition(of: start) else { return nil }
        let chunk = chunks[position]
        var index = start
        var end = chunk.range(of: start).lowerBound
        let first = end
        while index < chunk.next, Int(index - start) < limit {
            let range = chunk.range(of: index)
            guard include(index, range.count) else { break }
            end = range.upperBound
            index += 1
        }
        guard index > start else { return nil }
        return RecordBatch(
            trusted: chunk.bytes.getSlice(at: chunk.bytes.readerIndex + first, length: end - first)!, count: Int(index - start))
    }

    public func isQueued(_ index: UInt64) -> Bool { contains(index) && queued[Int(index - base)] }

    public mutating func setQueued(_ index: UInt64, _ value: Bool) {
        guard contains(index) else { return }
        queued[Int(index - base)] = value
    }

    /// Drops records below `index` (complete, behind the safe checkpoint), remembering the
    /// position of the last one.
    public mutating func release(below index: UInt64) {
        let drop = min(Int(clamping: index > base ? index - base : 0), queued.count)
        guard drop > 0 else { return }
        let last = base + UInt64(drop) - 1
        if let position = position(of: last) { lastReleased = (last, position) }
        queued.removeFirst(drop)
        base += UInt64(drop)
        while let chunk = chunks.first, chunk.next <= base { _ = chunks.removeFirst() }
    }

    /// Where record `index`'s chunk is in `chunks`.
    private func chunkPosition(of index: UInt64) -> Int? {
        guard contains(index) else { return nil }
        // Few chunks are held (one per message in flight): the newest first, since the records
        // being sent are usually the latest.
        var position = chunks.count - 1
        while position >= 0 {
            if index >= chunks[position].first { return position }
            position -= 1
        }
        return nil
    }

    /// The position of the record in `range` of `bytes`.
    static func position(in bytes: ByteBuffer, range: Range<Int>) -> SequencePosition {
        let start = bytes.readerIndex + range.lowerBound
        let (sequenceLength, flags, sub) = bytes.withUnsafeReadableBytes { raw in
            (Int(raw[range.lowerBound + RecordLayout.fixedHeaderSize]),
             raw[range.lowerBound + RecordLayout.flagsOffset],
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: range.lowerBound + RecordLayout.subSequenceOffset, as: UInt64.self)))
        }
        let digits = bytes.getSlice(at: start + RecordLayout.fixedHeaderSize + 1, length: sequenceLength)!
        return SequencePosition(
            sequenceNumber: SequenceNumber(validatedDigits: digits),
            subSequenceNumber: flags & RecordLayout.Flag.hasSubSequenceNumber != 0 ? Int64(bitPattern: sub) : nil)
    }
}
