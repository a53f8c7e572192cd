import NIOCore

/// The records of one `processRecords` message, already encoded in wire layout by the I/O
/// layer (straight from the daemon's JSON): their bytes back to back and where each one ends.
/// Each record's position in the shard (sequence and sub-sequence number) is in its bytes.
public struct ReceivedRecords: Sendable {
    /// The records in wire layout, back to back.
    public var encoded: ByteBuffer
    /// `ends[i]` is the offset in `encoded` where record `i` ends.
    public var ends: [Int]

    public init(encoded: ByteBuffer, ends: [Int]) {
        self.encoded = encoded
        self.ends = ends
    }

    public var count: Int { ends.count }

    private func range(_ i: Int) -> Range<Int> { (i == 0 ? 0 : ends[i - 1])..<ends[i] }

    /// The encoded bytes of record `i` (a slice, no copy).
    public func record(_ i: Int) -> ByteBuffer {
        let range = range(i)
        return encoded.getSlice(at: encoded.readerIndex + range.lowerBound, length: range.count)!
    }

    /// Record `i`'s (sequenceNumber, subSequenceNumber).
    public func position(_ i: Int) -> SequencePosition {
        RecordStore.position(in: encoded, range: range(i))
    }
}
