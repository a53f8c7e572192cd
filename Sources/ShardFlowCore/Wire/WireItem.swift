import NIOCore

/// One item as it travels mapper → reducer: its token, the metadata of the record it came from,
/// its own partition key, the partitioning key and its bytes.
///
/// Layout: `token (26 bytes), flags u8, subSequenceNumber u64, arrivalTimestamp i64,
/// u8 + shardId, u8 + sequenceNumber, u16 + partitionKey, u16 + key,
/// [u16 + error, only when flagged], u32 + data`.
///
/// Like ``WireRecord``, a view over its own encoded bytes: copying it costs one reference
/// count, and the fields are read on access.
public struct WireItem: Hashable, Sendable {
    public static let fixedHeaderSize = Token.encodedSize + 1 + 8 + 8
    public static let overheadSize = fixedHeaderSize + 1 + 1 + 2 + 2 + 4

    /// The item's encoded bytes.
    public let encoded: ByteBuffer
    private let shardLength: UInt8
    private let sequenceLength: UInt8
    private let partitionKeyLength: UInt16
    private let keyLength: UInt16
    /// Length of the error text plus its 2-byte length field; 0 when there is none.
    private let errorFieldLength: UInt16

    /// Wraps bytes already validated to hold exactly one item.
    init(validated encoded: ByteBuffer) {
        self.encoded = encoded
        let layout = encoded.withUnsafeReadableBytes { raw -> (UInt8, UInt8, UInt16, UInt16, UInt16) in
            var at = WireItem.fixedHeaderSize
            let flags = raw[Token.encodedSize]
            let shard = raw[at]
            at += 1 + Int(shard)
            let sequence = raw[at]
            at += 1 + Int(sequence)
            let partitionKey = UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))
            at += 2 + Int(partitionKey)
            let key = UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))
            at += 2 + Int(key)
            var error: UInt16 = 0
            if flags & WireRecord.Flag.hasError != 0 {
                error = UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)) + 2
            }
            return (shard, sequence, partitionKey, key, error)
        }
        (shardLength, sequenceLength, partitionKeyLength, keyLength, errorFieldLength) = layout
    }

    public init(
        token: Token,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        shardId: ByteBuffer,
        sequenceNumber: ByteBuffer,
        partitionKey: ByteBuffer?,
        key: ByteBuffer,
        error: String? = nil,
        data: ByteBuffer
    ) {
        var buffer = ByteBuffer()
        Self.write(
            token: token, subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp,
            shardId: shardId, sequenceNumber: sequenceNumber, partitionKey: partitionKey, key: key,
            error: error, data: data, to: &buffer)
        self.init(validated: buffer)
    }

    private var flags: UInt8 { encoded.getInteger(at: encoded.readerIndex + Token.encodedSize, as: UInt8.self)! }

    public var token: Token {
        encoded.withUnsafeReadableBytes { Token.load(from: $0, at: 0) }
    }

    public var subSequenceNumber: UInt64? {
        flags & WireRecord.Flag.hasSubSequenceNumber != 0
            ? encoded.getInteger(at: encoded.readerIndex + Token.encodedSize + 1, as: UInt64.self)! : nil
    }

    public var arrivalTimestamp: Int64? {
        flags & WireRecord.Flag.hasArrivalTimestamp != 0
            ? encoded.getInteger(at: encoded.readerIndex + Token.encodedSize + 9, as: Int64.self)! : nil
    }

    private var shardAt: Int { encoded.readerIndex + WireItem.fixedHeaderSize + 1 }
    private var sequenceAt: Int { shardAt + Int(shardLength) + 1 }
    private var partitionKeyAt: Int { sequenceAt + Int(sequenceLength) + 2 }
    private var keyAt: Int { partitionKeyAt + Int(partitionKeyLength) + 2 }
    private var dataAt: Int { keyAt + Int(keyLength) + Int(errorFieldLength) + 4 }

    public var shardId: ByteBuffer { encoded.getSlice(at: shardAt, length: Int(shardLength))! }
    public var sequenceNumber: ByteBuffer { encoded.getSlice(at: sequenceAt, length: Int(sequenceLength))! }

    /// The item's own partition key (a KPL user record's key from the aggregate's table,
    /// otherwise the record's); nil when the record had none.
    public var partitionKey: ByteBuffer? {
        flags & WireRecord.Flag.hasPartitionKey != 0
            ? encoded.getSlice(at: partitionKeyAt, length: Int(partitionKeyLength))! : nil
    }

    /// The key the item was partitioned by.
    public var key: ByteBuffer { encoded.getSlice(at: keyAt, length: Int(keyLength))! }

    /// Set when the mapper could not prepare the item (for example its `json:` key is missing):
    /// the reducer does not run the processor on it and applies the error policy instead.
    public var error: String? {
        guard errorFieldLength > 0 else { return nil }
        return encoded.getString(at: keyAt + Int(keyLength) + 2, length: Int(errorFieldLength) - 2)
    }

    public var data: ByteBuffer { encoded.getSlice(at: dataAt, length: encoded.writerIndex - dataAt)! }

    /// Bytes this item occupies on the wire.
    public var encodedSize: Int { encoded.readableBytes }

    /// Appends an item in wire layout (one buffer write) and returns its size.
    @discardableResult
    public static func write(
        token: Token,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        shardId: ByteBuffer,
        sequenceNumber: ByteBuffer,
        partitionKey: ByteBuffer?,
        key: ByteBuffer,
        error: String?,
        data: ByteBuffer,
        to buffer: inout ByteBuffer
    ) -> Int {
        var flags: UInt8 = 0
        if subSequenceNumber != nil { flags |= WireRecord.Flag.hasSubSequenceNumber }
        if arrivalTimestamp != nil { flags |= WireRecord.Flag.hasArrivalTimestamp }
        if partitionKey != nil { flags |= WireRecord.Flag.hasPartitionKey }
        var errorBytes: [UInt8] = []
        if let error {
            flags |= WireRecord.Flag.hasError
            errorBytes = Array(error.utf8.prefix(65_000))
        }
        let size = overheadSize + shardId.readableBytes + sequenceNumber.readableBytes
            + (partitionKey?.readableBytes ?? 0) + key.readableBytes
            + (error == nil ? 0 : 2 + errorBytes.count) + data.readableBytes
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { output in
            var out = RawWriter(output.baseAddress!)
            token.write(to: &out)
            out.integer(flags)
            out.integer(subSequenceNumber ?? 0)
            out.integer(arrivalTimestamp ?? 0)
            out.integer(UInt8(shardId.readableBytes))
            shardId.withUnsafeReadableBytes { out.bytes($0) }
            out.integer(UInt8(sequenceNumber.readableBytes))
            sequenceNumber.withUnsafeReadableBytes { out.bytes($0) }
            out.integer(UInt16(partitionKey?.readableBytes ?? 0))
            partitionKey?.withUnsafeReadableBytes { out.bytes($0) }
            out.integer(UInt16(key.readableBytes))
            key.withUnsafeReadableBytes { out.bytes($0) }
            if error != nil {
                out.integer(UInt16(errorBytes.count))
                errorBytes.withUnsafeBytes { out.bytes($0) }
            }
            out.integer(UInt32(data.readableBytes))
            data.withUnsafeReadableBytes { out.bytes($0) }
            return out.position
        }
        return size
    }

    /// Appends the single item of a record extracted whole (`--extract record`), copying the
    /// record's fields straight from its encoded bytes: the layouts share the flags,
    /// sub-sequence number, timestamp, sequence number, partition key and data. The item's key
    /// is its partition key, or the sequence number when there is none. Returns the size.
    @discardableResult
    public static func writeWholeRecord(_ record: WireRecord, token: Token, shardId: ByteBuffer, to buffer: inout ByteBuffer) -> Int {
        record.encoded.withUnsafeReadableBytes { raw in
            let sequenceLength = Int(raw[WireRecord.fixedHeaderSize])
            let keyLengthAt = WireRecord.fixedHeaderSize + 1 + sequenceLength
            let keyLength = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: keyLengthAt, as: UInt16.self)))
            let dataLengthAt = keyLengthAt + 2 + keyLength
            let hasKey = raw[8] & WireRecord.Flag.hasPartitionKey != 0
            // The key: the partition key, else the sequence number.
            let key = hasKey
                ? UnsafeRawBufferPointer(rebasing: raw[(keyLengthAt + 2)..<dataLengthAt])
                : UnsafeRawBufferPointer(rebasing: raw[(WireRecord.fixedHeaderSize + 1)..<keyLengthAt])
            let size = raw.count + Token.encodedSize - 8 + 1 + shardId.readableBytes + 2 + key.count
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { output in
                var out = RawWriter(output.baseAddress!)
                token.write(to: &out)
                out.bytes(UnsafeRawBufferPointer(rebasing: raw[8..<WireRecord.fixedHeaderSize]))  // flags, sub, timestamp
                out.integer(UInt8(shardId.readableBytes))
                shardId.withUnsafeReadableBytes { out.bytes($0) }
                out.bytes(UnsafeRawBufferPointer(rebasing: raw[WireRecord.fixedHeaderSize..<dataLengthAt]))  // sequence, partition key
                out.integer(UInt16(key.count))
                out.bytes(key)
                out.bytes(UnsafeRawBufferPointer(rebasing: raw[dataLengthAt...]))  // data length and data
                return out.position
            }
            return size
        }
    }

    /// Validates `count` items in `bytes` and returns them.
    static func decodeBatch(_ bytes: ByteBuffer, count: Int) throws(WireError) -> [WireItem] {
        let result: Result<[Int], WireError> = bytes.withUnsafeReadableBytes { raw in
            var sizes: [Int] = []
            sizes.reserveCapacity(count)
            var offset = 0
            func need(_ size: Int, _ field: String) throws(WireError) {
                guard raw.count - offset >= size else {
                    throw WireError(.truncatedPayload(field: field, needed: size, available: Swift.max(0, raw.count - offset)))
                }
            }
            do throws(WireError) {
                for _ in 0..<count {
                    let start = offset
                    try need(fixedHeaderSize, "item header")
                    let token = Token.load(from: raw, at: offset)
                    guard token.isValid else {
                        throw WireError(.invalidField(field: "token", reason: "item \(token.item) out of range for item count \(token.itemCount)"))
                    }
                    let flags = raw[offset + Token.encodedSize]
                    guard flags & ~WireRecord.Flag.itemMask == 0 else {
                        throw WireError(.invalidField(field: "item flags", reason: "unknown bits 0x\(String(flags, radix: 16))"))
                    }
                    offset += fixedHeaderSize
                    try need(1, "shardId length")
                    let shard = Int(raw[offset])
                    offset += 1
                    try need(shard, "shardId")
                    offset += shard
                    try need(1, "sequenceNumber length")
                    let sequence = Int(raw[offset])
                    offset += 1
                    try need(sequence, "sequenceNumber")
                    offset += sequence
                    try need(2, "partitionKey length")
                    let partitionKey = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                    offset += 2
                    if flags & WireRecord.Flag.hasPartitionKey == 0, partitionKey != 0 {
                        throw WireError(.invalidField(field: "partitionKey", reason: "\(partitionKey) bytes but flagged absent"))
                    }
                    try need(partitionKey, "partitionKey")
                    offset += partitionKey
                    try need(2, "key length")
                    let key = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                    offset += 2
                    try need(key, "key")
                    offset += key
                    if flags & WireRecord.Flag.hasError != 0 {
                        try need(2, "item error")
                        let error = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                        offset += 2
                        try need(error, "item error")
                        guard String(validating: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + error]), as: UTF8.self) != nil else {
                            throw WireError(.invalidField(field: "item error", reason: "not valid UTF-8"))
                        }
                        offset += error
                    }
                    try need(4, "data length")
                    let data = Int(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    offset += 4
                    try need(data, "data")
                    offset += data
                    sizes.append(offset - start)
                }
                if offset != raw.count { throw WireError(.trailingBytes(count: raw.count - offset)) }
                return .success(sizes)
            } catch {
                return .failure(error)
            }
        }
        let sizes = try result.get()
        var items: [WireItem] = []
        items.reserveCapacity(count)
        var at = bytes.readerIndex
        for size in sizes {
            items.append(WireItem(validated: bytes.getSlice(at: at, length: size)!))
            at += size
        }
        return items
    }
}
