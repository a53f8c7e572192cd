// Unsafe hot path: reads and writes record bytes through raw pointers. Every offset used here is
// checked by `validatedSize(at:in:)` before any other function touches those bytes.
import NIOCore

/// The one place that knows how a record is laid out on the wire (in RECORDS and
/// ROUTED_RECORDS frames, and the middle of an item):
///
/// ```
/// index u64 | flags u8 | subSequenceNumber u64 | arrivalTimestamp i64 |
/// u8 length + sequenceNumber | u16 length + partitionKey | u32 length + data
/// ```
///
/// Big-endian; absent optional fields are written as zero and flagged absent. Items share the
/// run from `flags` to the end (with their own fields spliced in), which is what lets a mapper
/// copy a whole record into an item in one write.
public enum RecordLayout {
    /// Bits of the flags byte (records use bits 0–2, items also bit 3).
    public enum Flag {
        public static let hasSubSequenceNumber: UInt8 = 0x01
        public static let hasArrivalTimestamp: UInt8 = 0x02
        public static let hasPartitionKey: UInt8 = 0x04
        public static let hasError: UInt8 = 0x08
        /// Items only: the data is a DynamoDB Streams record (`--extract dynamodb`).
        public static let dynamoDBRecord: UInt8 = 0x10
        public static let recordMask: UInt8 = 0x07
        public static let itemMask: UInt8 = 0x1F
    }

    static let indexOffset = 0
    static let flagsOffset = 8
    static let subSequenceOffset = 9
    static let timestampOffset = 17
    /// Size of the fixed part: index, flags, subSequenceNumber, timestamp.
    public static let fixedHeaderSize = 25
    /// Size of the fixed part plus the three length fields.
    public static let overheadSize = fixedHeaderSize + 1 + 2 + 4

    /// Where the variable fields of one (validated) record sit, relative to its first byte.
    struct Fields {
        var sequenceAt: Int
        var sequenceLength: Int
        /// Offset of the partition key's u16 length field.
        var keyLengthAt: Int
        var keyLength: Int
        /// Offset of the data's u32 length field.
        var dataLengthAt: Int
        var dataLength: Int

        var keyAt: Int { keyLengthAt + 2 }
        var dataAt: Int { dataLengthAt + 4 }
        var size: Int { dataAt + dataLength }
    }

    /// The fields of the record starting at `offset` of `raw`, which must hold a validated record.
    @inline(__always)
    static func fields(at offset: Int, in raw: UnsafeRawBufferPointer) -> Fields {
        let sequenceLength = Int(raw[offset + fixedHeaderSize])
        let keyLengthAt = fixedHeaderSize + 1 + sequenceLength
        let keyLength = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: offset + keyLengthAt, as: UInt16.self)))
        let dataLengthAt = keyLengthAt + 2 + keyLength
        let dataLength = Int(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset + dataLengthAt, as: UInt32.self)))
        return Fields(sequenceAt: fixedHeaderSize + 1, sequenceLength: sequenceLength, keyLengthAt: keyLengthAt,
                      keyLength: keyLength, dataLengthAt: dataLengthAt, dataLength: dataLength)
    }

    /// Checks that a whole record starts at `offset` of `raw` (every length within bounds, flags
    /// known) and returns its size; throws a ``WireError`` naming the field otherwise.
    static func validatedSize(at offset: Int, in raw: UnsafeRawBufferPointer) throws(WireError) -> Int {
        var at = offset
        // Runs for every field of every record on every hop: the check inline, the error built out of line.
        @inline(__always) func need(_ size: Int, _ field: StaticString) throws(WireError) {
            guard raw.count - at >= size else { throw WireError.truncated(field, needed: size, available: raw.count - at) }
        }
        try need(fixedHeaderSize, "record header")
        let flags = raw[at + flagsOffset]
        guard flags & ~Flag.recordMask == 0 else {
            throw WireError(.invalidField(field: "record flags", reason: "unknown bits 0x\(String(flags, radix: 16))"))
        }
        at += fixedHeaderSize
        try need(1, "sequenceNumber length")
        let sequenceLength = Int(raw[at])
        at += 1
        try need(sequenceLength, "sequenceNumber")
        at += sequenceLength
        try need(2, "partitionKey length")
        let keyLength = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        at += 2
        if flags & Flag.hasPartitionKey == 0, keyLength != 0 {
            throw WireError(.invalidField(field: "partitionKey", reason: "\(keyLength) bytes but flagged absent"))
        }
        try need(keyLength, "partitionKey")
        at += keyLength
        try need(4, "data length")
        let dataLength = Int(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        at += 4
        try need(dataLength, "data")
        return at + dataLength - offset
    }

    /// The flags byte for a record with these optional fields.
    @inline(__always)
    static func flags(subSequenceNumber: UInt64?, arrivalTimestamp: Int64?, hasPartitionKey: Bool) -> UInt8 {
        var flags: UInt8 = 0
        if subSequenceNumber != nil { flags |= Flag.hasSubSequenceNumber }
        if arrivalTimestamp != nil { flags |= Flag.hasArrivalTimestamp }
        if hasPartitionKey { flags |= Flag.hasPartitionKey }
        return flags
    }

    /// Writes everything up to and including the partition key: the fixed header, the sequence
    /// number and the partition key. The data length and data follow.
    @inline(__always)
    static func writeHead(
        index: UInt64,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        sequenceNumber: UnsafeRawBufferPointer,
        partitionKey: UnsafeRawBufferPointer?,
        to out: inout RawWriter
    ) {
        precondition(sequenceNumber.count <= 255, "sequence number longer than 255 bytes")
        precondition((partitionKey?.count ?? 0) <= Int(UInt16.max), "partition key longer than 65535 bytes")
        out.integer(index)
        out.integer(flags(subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp, hasPartitionKey: partitionKey != nil))
        out.integer(subSequenceNumber ?? 0)
        out.integer(arrivalTimestamp ?? 0)
        out.integer(UInt8(sequenceNumber.count))
        out.bytes(sequenceNumber)
        out.integer(UInt16(partitionKey?.count ?? 0))
        if let partitionKey { out.bytes(partitionKey) }
    }

    /// Bytes ``writeHead(index:subSequenceNumber:arrivalTimestamp:sequenceNumber:partitionKey:to:)``
    /// writes.
    @inline(__always)
    static func headSize(sequenceNumber: Int, partitionKey: Int) -> Int {
        fixedHeaderSize + 1 + sequenceNumber + 2 + partitionKey
    }
}
