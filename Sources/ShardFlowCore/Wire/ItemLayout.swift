// Unsafe hot path: reads item bytes through raw pointers. Every offset used here is checked by
// `validatedSize(at:in:)` before any other function touches those bytes.

/// The one place that knows how an item is laid out on the wire (in ITEMS frames):
///
/// ```
/// token (26 bytes) | flags u8 | subSequenceNumber u64 | arrivalTimestamp i64 |
/// u8 length + shardId | u16 length + stream | u8 length + sequenceNumber |
/// u16 length + partitionKey | u16 length + key | [u16 length + error, only when flagged] |
/// u32 length + data
/// ```
///
/// `flags`, `subSequenceNumber` and `arrivalTimestamp` are the record's, with the same flag
/// bits as ``RecordLayout/Flag`` plus `hasError` and `dynamoDBRecord`.
public enum ItemLayout {
    static let flagsOffset = Token.encodedSize
    /// Size of the fixed part: token, flags, subSequenceNumber, timestamp.
    public static let fixedHeaderSize = Token.encodedSize + 1 + 8 + 8
    /// Size of the fixed part plus the length fields of the mandatory variable fields.
    public static let overheadSize = fixedHeaderSize + 1 + 2 + 1 + 2 + 2 + 4

    /// Where the variable fields of one (validated) item sit, relative to its first byte.
    struct Fields {
        var shardLength: Int
        var streamLength: Int
        var sequenceLength: Int
        var partitionKeyLength: Int
        var keyLength: Int
        /// Length of the error text plus its 2-byte length field; 0 when there is none.
        var errorFieldLength: Int

        var shardAt: Int { ItemLayout.fixedHeaderSize + 1 }
        var streamAt: Int { shardAt + shardLength + 2 }
        var sequenceAt: Int { streamAt + streamLength + 1 }
        var partitionKeyAt: Int { sequenceAt + sequenceLength + 2 }
        var keyAt: Int { partitionKeyAt + partitionKeyLength + 2 }
        var errorAt: Int { keyAt + keyLength + 2 }
        var dataAt: Int { keyAt + keyLength + errorFieldLength + 4 }
    }

    /// The fields of the item starting at `offset` of `raw`, which must hold a validated item.
    @inline(__always)
    static func fields(at offset: Int, in raw: UnsafeRawBufferPointer) -> Fields {
        let flags = raw[offset + flagsOffset]
        var at = offset + fixedHeaderSize
        let shard = Int(raw[at])
        at += 1 + shard
        let stream = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        at += 2 + stream
        let sequence = Int(raw[at])
        at += 1 + sequence
        let partitionKey = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        at += 2 + partitionKey
        let key = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        at += 2 + key
        var error = 0
        if flags & RecordLayout.Flag.hasError != 0 {
            error = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))) + 2
        }
        return Fields(shardLength: shard, streamLength: stream, sequenceLength: sequence, partitionKeyLength: partitionKey, keyLength: key,
                      errorFieldLength: error)
    }

    /// Checks that a whole item starts at `offset` of `raw` and returns its size; throws a
    /// ``WireError`` naming the field otherwise.
    static func validatedSize(at offset: Int, in raw: UnsafeRawBufferPointer) throws(WireError) -> Int {
        var at = offset
        // Runs for every field of every item on every hop: the check inline, the error built out of line.
        @inline(__always) func need(_ size: Int, _ field: StaticString) throws(WireError) {
            guard raw.count - at >= size else { throw WireError.truncated(field, needed: size, available: raw.count - at) }
        }
        try need(fixedHeaderSize, "item header")
        let token = Token.load(from: raw, at: at)
        guard token.isValid else {
            throw WireError(.invalidField(field: "token", reason: "item \(token.item) out of range for item count \(token.itemCount)"))
        }
        let flags = raw[at + flagsOffset]
        guard flags & ~RecordLayout.Flag.itemMask == 0 else {
            throw WireError(.invalidField(field: "item flags", reason: "unknown bits 0x\(String(flags, radix: 16))"))
        }
        at += fixedHeaderSize
        try need(1, "shardId length")
        let shard = Int(raw[at])
        at += 1
        try need(shard, "shardId")
        at += shard
        try need(2, "stream length")
        let stream = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        at += 2
        try need(stream, "stream")
        at += stream
        try need(1, "sequenceNumber length")
        let sequence = Int(raw[at])
        at += 1
        try need(sequence, "sequenceNumber")
        at += sequence
        try need(2, "partitionKey length")
        let partitionKey = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        at += 2
        if flags & RecordLayout.Flag.hasPartitionKey == 0, partitionKey != 0 {
            throw WireError(.invalidField(field: "partitionKey", reason: "\(partitionKey) bytes but flagged absent"))
        }
        try need(partitionKey, "partitionKey")
        at += partitionKey
        try need(2, "key length")
        let key = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        at += 2
        try need(key, "key")
        at += key
        if flags & RecordLayout.Flag.hasError != 0 {
            try need(2, "item error")
            let error = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
            at += 2
            try need(error, "item error")
            guard String(validating: UnsafeRawBufferPointer(rebasing: raw[at..<at + error]), as: UTF8.self) != nil else {
                throw WireError(.invalidField(field: "item error", reason: "not valid UTF-8"))
            }
            at += error
        }
        try need(4, "data length")
        let data = Int(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        at += 4
        try need(data, "data")
        return at + data - offset
    }
}
