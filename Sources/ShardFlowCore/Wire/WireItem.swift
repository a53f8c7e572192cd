// Unsafe hot path: items are written straight into reserved buffer memory (see ItemLayout).
import NIOCore

/// One item as it travels mapper → reducer: its token, the metadata of the record it came from,
/// its own partition key, the partitioning key and its bytes. ``ItemLayout`` has the byte layout.
///
/// Like ``WireRecord``, a view over its own encoded bytes: copying it costs one reference
/// count, and the fields are read on access. It stores nothing but the bytes, so the hot paths
/// move it around as a single reference (a value with more fields is copied more).
public struct WireItem: Hashable, Sendable {
    /// The item's encoded bytes.
    public let encoded: ByteBuffer

    /// Wraps bytes already validated to hold exactly one item.
    init(validated encoded: ByteBuffer) {
        self.encoded = encoded
    }

    public init(
        token: Token,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        shardId: ByteBuffer,
        stream: ByteBuffer = ByteBuffer(),
        sequenceNumber: ByteBuffer,
        partitionKey: ByteBuffer?,
        key: ByteBuffer,
        error: String? = nil,
        isDynamoDBRecord: Bool = false,
        data: ByteBuffer
    ) {
        var buffer = ByteBuffer()
        Self.write(
            token: token, subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp,
            shardId: shardId, stream: stream, sequenceNumber: sequenceNumber, partitionKey: partitionKey, key: key,
            error: error, isDynamoDBRecord: isDynamoDBRecord, data: data, to: &buffer)
        self.init(validated: buffer)
    }

    private var flags: UInt8 { encoded.getInteger(at: encoded.readerIndex + ItemLayout.flagsOffset, as: UInt8.self)! }

    public var token: Token {
        encoded.withUnsafeReadableBytes { Token.load(from: $0, at: 0) }
    }

    public var subSequenceNumber: UInt64? {
        flags & RecordLayout.Flag.hasSubSequenceNumber != 0
            ? encoded.getInteger(at: encoded.readerIndex + Token.encodedSize + 1, as: UInt64.self)! : nil
    }

    public var arrivalTimestamp: Int64? {
        flags & RecordLayout.Flag.hasArrivalTimestamp != 0
            ? encoded.getInteger(at: encoded.readerIndex + Token.encodedSize + 9, as: Int64.self)! : nil
    }

    /// Where the variable fields sit (read from the bytes, which were validated).
    private var fields: ItemLayout.Fields {
        encoded.withUnsafeReadableBytes { ItemLayout.fields(at: 0, in: $0) }
    }

    private func slice(at offset: Int, length: Int) -> ByteBuffer {
        encoded.getSlice(at: encoded.readerIndex + offset, length: length)!
    }

    public var shardId: ByteBuffer {
        let fields = fields
        return slice(at: fields.shardAt, length: fields.shardLength)
    }
    /// The stream of the record (empty when its worker named none).
    public var stream: ByteBuffer {
        let fields = fields
        return slice(at: fields.streamAt, length: fields.streamLength)
    }
    /// Whether the data is a DynamoDB Streams record (`--extract dynamodb`).
    public var isDynamoDBRecord: Bool { flags & RecordLayout.Flag.dynamoDBRecord != 0 }
    public var sequenceNumber: ByteBuffer {
        let fields = fields
        return slice(at: fields.sequenceAt, length: fields.sequenceLength)
    }

    /// The item's own partition key (a KPL user record's key from the aggregate's table,
    /// otherwise the record's); nil when the record had none.
    public var partitionKey: ByteBuffer? {
        guard flags & RecordLayout.Flag.hasPartitionKey != 0 else { return nil }
        let fields = fields
        return slice(at: fields.partitionKeyAt, length: fields.partitionKeyLength)
    }

    /// The key the item was partitioned by.
    public var key: ByteBuffer {
        let fields = fields
        return slice(at: fields.keyAt, length: fields.keyLength)
    }

    /// Whether the mapper flagged the item with an ``error`` (one byte read).
    public var hasError: Bool { flags & RecordLayout.Flag.hasError != 0 }

    /// Set when the mapper could not prepare the item (for example its `json:` key is missing):
    /// the reducer does not run the processor on it and applies the error policy instead.
    public var error: String? {
        guard flags & RecordLayout.Flag.hasError != 0 else { return nil }
        let fields = fields
        return encoded.getString(at: encoded.readerIndex + fields.errorAt, length: fields.errorFieldLength - 2)
    }

    public var data: ByteBuffer {
        let dataAt = fields.dataAt
        return slice(at: dataAt, length: encoded.readableBytes - dataAt)
    }

    /// Bytes this item occupies on the wire.
    public var encodedSize: Int { encoded.readableBytes }

    /// Appends an item in wire layout (one buffer write) and returns its size.
    @discardableResult
    public static func write(
        token: Token,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        shardId: ByteBuffer,
        stream: ByteBuffer,
        sequenceNumber: ByteBuffer,
        partitionKey: ByteBuffer?,
        key: ByteBuffer,
        error: String?,
        isDynamoDBRecord: Bool = false,
        data: ByteBuffer,
        to buffer: inout ByteBuffer
    ) -> Int {
        var flags = RecordLayout.flags(
            subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp, hasPartitionKey: partitionKey != nil)
        if isDynamoDBRecord { flags |= RecordLayout.Flag.dynamoDBRecord }
        var errorBytes: [UInt8] = []
        if let error {
            flags |= RecordLayout.Flag.hasError
            errorBytes = Array(error.utf8.prefix(65_000))
        }
        let size = ItemLayout.overheadSize + shardId.readableBytes + stream.readableBytes + sequenceNumber.readableBytes
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
            out.integer(UInt16(stream.readableBytes))
            stream.withUnsafeReadableBytes { out.bytes($0) }
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
    public static func writeWholeRecord(
        _ record: WireRecord, token: Token, shardId: ByteBuffer, stream: ByteBuffer, to buffer: inout ByteBuffer
    ) -> Int {
        record.encoded.withUnsafeReadableBytes { raw in
            shardId.withUnsafeReadableBytes { shard in
                stream.withUnsafeReadableBytes { stream in
                    writeWholeRecord(raw, fields: RecordLayout.fields(at: 0, in: raw), token: token, shardId: shard, stream: stream, to: &buffer)
                }
            }
        }
    }

    /// ``writeWholeRecord(_:token:shardId:stream:to:)`` for a record given as its validated
    /// bytes and fields (the mapper's batch loop, which reads them in place).
    @discardableResult
    static func writeWholeRecord(
        _ raw: UnsafeRawBufferPointer, fields record: RecordLayout.Fields, token: Token,
        shardId: UnsafeRawBufferPointer, stream: UnsafeRawBufferPointer, to buffer: inout ByteBuffer
    ) -> Int {
        let hasKey = raw[RecordLayout.flagsOffset] & RecordLayout.Flag.hasPartitionKey != 0
        // The key: the partition key, else the sequence number.
        let key = hasKey
            ? UnsafeRawBufferPointer(rebasing: raw[record.keyAt..<record.dataLengthAt])
            : UnsafeRawBufferPointer(rebasing: raw[record.sequenceAt..<record.keyLengthAt])
        let size = raw.count + Token.encodedSize - 8 + 1 + shardId.count + 2 + stream.count + 2 + key.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { output in
            var out = RawWriter(output.baseAddress!)
            token.write(to: &out)
            // flags, sub-sequence number, timestamp
            out.bytes(UnsafeRawBufferPointer(rebasing: raw[RecordLayout.flagsOffset..<RecordLayout.fixedHeaderSize]))
            out.integer(UInt8(shardId.count))
            out.bytes(shardId)
            out.integer(UInt16(stream.count))
            out.bytes(stream)
            // sequence number and partition key, with their lengths
            out.bytes(UnsafeRawBufferPointer(rebasing: raw[RecordLayout.fixedHeaderSize..<record.dataLengthAt]))
            out.integer(UInt16(key.count))
            out.bytes(key)
            out.bytes(UnsafeRawBufferPointer(rebasing: raw[record.dataLengthAt...]))  // data length and data
            return out.position
        }
        return size
    }

    /// Validates `count` items in `bytes` and returns them.
    static func decodeBatch(_ bytes: ByteBuffer, count: Int) throws(WireError) -> [WireItem] {
        let result: Result<[Int], WireError> = bytes.withUnsafeReadableBytes { raw in
            var sizes: [Int] = []
            sizes.reserveCapacity(count)
            var offset = 0
            do throws(WireError) {
                for _ in 0..<count {
                    let size = try ItemLayout.validatedSize(at: offset, in: raw)
                    sizes.append(size)
                    offset += size
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
