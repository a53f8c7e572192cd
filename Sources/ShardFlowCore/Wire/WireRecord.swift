import NIOCore

/// One record as it travels worker → router → mapper: the worker's record index, the Kinesis
/// metadata the processors need, and the payload.
///
/// Layout (big-endian): `index u64, flags u8, subSequenceNumber u64, arrivalTimestamp i64,
/// u8 length + sequenceNumber, u16 length + partitionKey, u32 length + data`. Absent optional
/// fields are written as zero and flagged absent.
public struct WireRecord: Hashable, Sendable {
    /// Bits of the flags byte shared by records and items.
    enum Flag {
        static let hasSubSequenceNumber: UInt8 = 0x01
        static let hasArrivalTimestamp: UInt8 = 0x02
        static let hasPartitionKey: UInt8 = 0x04
        static let hasError: UInt8 = 0x08
        static let recordMask: UInt8 = 0x07
        static let itemMask: UInt8 = 0x0F
    }

    /// Size of the fixed part: index, flags, subSequenceNumber, timestamp.
    public static let fixedHeaderSize = 8 + 1 + 8 + 8
    /// Size of the fixed part plus the three length fields.
    public static let overheadSize = fixedHeaderSize + 1 + 2 + 4

    public var index: UInt64
    /// KCL sub-sequence number; nil for DynamoDB Streams records through KCL 1.x.
    public var subSequenceNumber: UInt64?
    /// `approximateArrivalTimestamp`, epoch milliseconds.
    public var arrivalTimestamp: Int64?
    /// The decimal sequence number, byte for byte as the daemon sent it.
    public var sequenceNumber: ByteBuffer
    /// nil when the daemon sent none (DynamoDB Streams through adapter 1.x).
    public var partitionKey: ByteBuffer?
    public var data: ByteBuffer

    public init(
        index: UInt64,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        sequenceNumber: ByteBuffer,
        partitionKey: ByteBuffer?,
        data: ByteBuffer
    ) {
        self.index = index
        self.subSequenceNumber = subSequenceNumber
        self.arrivalTimestamp = arrivalTimestamp
        self.sequenceNumber = sequenceNumber
        self.partitionKey = partitionKey
        self.data = data
    }

    /// Bytes this record occupies on the wire.
    public var encodedSize: Int {
        WireRecord.overheadSize + sequenceNumber.readableBytes + (partitionKey?.readableBytes ?? 0) + data.readableBytes
    }

    static func decode(from reader: inout PayloadReader) throws(WireError) -> WireRecord {
        let index = try reader.integer("record index", as: UInt64.self)
        let flags = try reader.integer("record flags", as: UInt8.self)
        guard flags & ~Flag.recordMask == 0 else {
            throw WireError(.invalidField(field: "record flags", reason: "unknown bits 0x\(String(flags, radix: 16))"))
        }
        let sub = try reader.integer("subSequenceNumber", as: UInt64.self)
        let timestamp = try reader.integer("arrivalTimestamp", as: Int64.self)
        let seqLength = Int(try reader.integer("sequenceNumber length", as: UInt8.self))
        let sequenceNumber = try reader.slice("sequenceNumber", length: seqLength)
        let keyLength = Int(try reader.integer("partitionKey length", as: UInt16.self))
        if flags & Flag.hasPartitionKey == 0, keyLength != 0 {
            throw WireError(.invalidField(field: "partitionKey", reason: "\(keyLength) bytes but flagged absent"))
        }
        let partitionKey = try reader.slice("partitionKey", length: keyLength)
        let dataLength = Int(try reader.integer("data length", as: UInt32.self))
        let data = try reader.slice("data", length: dataLength)
        return WireRecord(
            index: index,
            subSequenceNumber: flags & Flag.hasSubSequenceNumber != 0 ? sub : nil,
            arrivalTimestamp: flags & Flag.hasArrivalTimestamp != 0 ? timestamp : nil,
            sequenceNumber: sequenceNumber,
            partitionKey: flags & Flag.hasPartitionKey != 0 ? partitionKey : nil,
            data: data
        )
    }
}

/// A batch of records from one worker, stamped by the router with the token prefix
/// (router index, worker id) and the worker's shard id.
public struct RoutedRecordBatch: Hashable, Sendable {
    public var router: UInt16
    public var worker: UInt64
    public var shardId: String
    public var records: [WireRecord]

    public init(router: UInt16, worker: UInt64, shardId: String, records: [WireRecord]) {
        self.router = router
        self.worker = worker
        self.shardId = shardId
        self.records = records
    }
}

/// One item as it travels mapper → reducer: its token, the metadata of the record it came from,
/// its own partition key, the partitioning key and its bytes.
///
/// Layout: `token (26 bytes), flags u8, subSequenceNumber u64, arrivalTimestamp i64,
/// u8 + shardId, u8 + sequenceNumber, u16 + partitionKey, u16 + key,
/// [u16 + error, only when flagged], u32 + data`.
public struct WireItem: Hashable, Sendable {
    public static let fixedHeaderSize = Token.encodedSize + 1 + 8 + 8
    public static let overheadSize = fixedHeaderSize + 1 + 1 + 2 + 2 + 4

    public var token: Token
    public var subSequenceNumber: UInt64?
    public var arrivalTimestamp: Int64?
    public var shardId: ByteBuffer
    public var sequenceNumber: ByteBuffer
    /// The item's own partition key (a KPL user record's key from the aggregate's table,
    /// otherwise the record's); nil when the record had none.
    public var partitionKey: ByteBuffer?
    /// The key the item was partitioned by.
    public var key: ByteBuffer
    /// Set when the mapper could not prepare the item (for example its `json:` key is missing):
    /// the reducer does not run the processor on it and applies the error policy instead.
    public var error: String?
    public var data: ByteBuffer

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
        self.token = token
        self.subSequenceNumber = subSequenceNumber
        self.arrivalTimestamp = arrivalTimestamp
        self.shardId = shardId
        self.sequenceNumber = sequenceNumber
        self.partitionKey = partitionKey
        self.key = key
        self.error = error
        self.data = data
    }

    /// Bytes this item occupies on the wire.
    public var encodedSize: Int {
        WireItem.overheadSize + shardId.readableBytes + sequenceNumber.readableBytes
            + (partitionKey?.readableBytes ?? 0) + key.readableBytes
            + (error.map { 2 + $0.utf8.count } ?? 0) + data.readableBytes
    }

    static func decode(from reader: inout PayloadReader) throws(WireError) -> WireItem {
        let token = try Token.decode(from: &reader)
        let flags = try reader.integer("item flags", as: UInt8.self)
        guard flags & ~WireRecord.Flag.itemMask == 0 else {
            throw WireError(.invalidField(field: "item flags", reason: "unknown bits 0x\(String(flags, radix: 16))"))
        }
        let sub = try reader.integer("subSequenceNumber", as: UInt64.self)
        let timestamp = try reader.integer("arrivalTimestamp", as: Int64.self)
        let shardLength = Int(try reader.integer("shardId length", as: UInt8.self))
        let shardId = try reader.slice("shardId", length: shardLength)
        let seqLength = Int(try reader.integer("sequenceNumber length", as: UInt8.self))
        let sequenceNumber = try reader.slice("sequenceNumber", length: seqLength)
        let pkLength = Int(try reader.integer("partitionKey length", as: UInt16.self))
        if flags & WireRecord.Flag.hasPartitionKey == 0, pkLength != 0 {
            throw WireError(.invalidField(field: "partitionKey", reason: "\(pkLength) bytes but flagged absent"))
        }
        let partitionKey = try reader.slice("partitionKey", length: pkLength)
        let keyLength = Int(try reader.integer("key length", as: UInt16.self))
        let key = try reader.slice("key", length: keyLength)
        var error: String?
        if flags & WireRecord.Flag.hasError != 0 {
            error = try reader.string16("item error")
        }
        let dataLength = Int(try reader.integer("data length", as: UInt32.self))
        let data = try reader.slice("data", length: dataLength)
        return WireItem(
            token: token,
            subSequenceNumber: flags & WireRecord.Flag.hasSubSequenceNumber != 0 ? sub : nil,
            arrivalTimestamp: flags & WireRecord.Flag.hasArrivalTimestamp != 0 ? timestamp : nil,
            shardId: shardId,
            sequenceNumber: sequenceNumber,
            partitionKey: flags & WireRecord.Flag.hasPartitionKey != 0 ? partitionKey : nil,
            key: key,
            error: error,
            data: data
        )
    }
}

extension Token {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> Token {
        let router = try reader.integer("token router", as: UInt16.self)
        let worker = try reader.integer("token worker", as: UInt64.self)
        let record = try reader.integer("token record", as: UInt64.self)
        let item = try reader.integer("token item", as: UInt32.self)
        let count = try reader.integer("token item count", as: UInt32.self)
        if count == 0 ? item != 0 : item >= count {
            throw WireError(.invalidField(field: "token", reason: "item \(item) out of range for item count \(count)"))
        }
        return Token(router: router, worker: worker, record: record, item: item, itemCount: count)
    }

    @inline(__always)
    func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(router, worker, record, item, itemCount)
    }
}

extension Ack {
    static func decode(from reader: inout PayloadReader) throws(WireError) -> Ack {
        let token = try Token.decode(from: &reader)
        let raw = try reader.integer("ack status", as: UInt8.self)
        guard let status = AckStatus(rawValue: raw) else {
            throw WireError(.invalidField(field: "ack status", reason: "unknown status \(raw)"))
        }
        return Ack(token: token, status: status)
    }
}
