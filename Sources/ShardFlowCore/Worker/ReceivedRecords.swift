import NIOCore

/// The records of one `processRecords` message, already encoded in wire layout by the I/O
/// layer (straight from the daemon's JSON): their bytes back to back, where each one ends, and
/// each one's position in the shard.
public struct ReceivedRecords: Sendable {
    /// The records in wire layout, back to back.
    public var encoded: ByteBuffer
    /// `ends[i]` is the offset in `encoded` where record `i` ends.
    public var ends: [Int]
    /// `positions[i]` is record `i`'s (sequenceNumber, subSequenceNumber).
    public var positions: [SequencePosition]

    public init(encoded: ByteBuffer, ends: [Int], positions: [SequencePosition]) {
        precondition(ends.count == positions.count, "one end per record")
        self.encoded = encoded
        self.ends = ends
        self.positions = positions
    }

    public var count: Int { positions.count }

    /// The encoded bytes of record `i` (a slice, no copy).
    public func record(_ i: Int) -> ByteBuffer {
        let start = i == 0 ? 0 : ends[i - 1]
        return encoded.getSlice(at: encoded.readerIndex + start, length: ends[i] - start)!
    }
}
