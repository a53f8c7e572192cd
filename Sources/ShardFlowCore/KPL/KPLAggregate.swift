import NIOCore

/// The Kinesis Producer Library aggregated-record format: magic `F3 89 9A C2`, a protobuf
/// `AggregatedRecord`, then the MD5 digest of the protobuf bytes (the magic excluded).
public enum KPLAggregate {
    public static let magic: [UInt8] = [0xF3, 0x89, 0x9A, 0xC2]
    static let digestSize = 16

    /// One user record inside an aggregate.
    public struct UserRecord: Hashable, Sendable {
        /// The user record's own partition key, from the aggregate's key table.
        public var partitionKey: ByteBuffer
        /// The explicit hash key (decimal text), when the producer set one.
        public var explicitHashKey: ByteBuffer?
        public var data: ByteBuffer

        public init(partitionKey: ByteBuffer, explicitHashKey: ByteBuffer? = nil, data: ByteBuffer) {
            self.partitionKey = partitionKey
            self.explicitHashKey = explicitHashKey
            self.data = data
        }
    }

    /// Why a record that starts with the magic was not de-aggregated.
    public enum NotAnAggregate: Error, Hashable, Sendable, CustomStringConvertible {
        case tooShort(Int)
        case digestMismatch(expected: String, found: String)
        case malformedProtobuf(String)

        public var description: String {
            switch self {
            case .tooShort(let count):
                "KPL magic present but only \(count) bytes (needs magic + digest)"
            case .digestMismatch(let expected, let found):
                "KPL digest mismatch: trailer \(found), MD5 of the protobuf \(expected)"
            case .malformedProtobuf(let reason):
                "KPL protobuf malformed: \(reason)"
            }
        }
    }

    /// What a record turned out to be.
    public enum Decoded: Hashable, Sendable {
        /// A valid aggregate and its user records (possibly none), in order.
        case aggregate([UserRecord])
        /// Not an aggregate (no magic): an ordinary record.
        case plain
        /// Starts with the magic but is corrupt: deliver it as an ordinary record and log why.
        case corrupt(NotAnAggregate)
    }

    /// Whether `data` starts with the KPL magic.
    public static func hasMagic(_ data: ByteBuffer) -> Bool {
        guard data.readableBytes >= 4 else { return false }
        return data.getInteger(at: data.readerIndex, as: UInt32.self) == 0xF389_9AC2
    }

    /// Inspects a record. User records' data and keys are slices of `data` (no copies).
    public static func decode(_ data: ByteBuffer) -> Decoded {
        guard hasMagic(data) else { return .plain }
        guard data.readableBytes >= magic.count + digestSize else {
            return .corrupt(.tooShort(data.readableBytes))
        }
        let protobufLength = data.readableBytes - magic.count - digestSize
        let protobuf = data.getSlice(at: data.readerIndex + magic.count, length: protobufLength)!
        let trailer = data.getBytes(at: data.readerIndex + magic.count + protobufLength, length: digestSize)!
        let digest = MD5.digest(protobuf.readableBytesView)
        guard digest == trailer else {
            return .corrupt(.digestMismatch(expected: hex(digest), found: hex(trailer)))
        }
        do {
            return .aggregate(try parseAggregatedRecord(protobuf))
        } catch {
            return .corrupt(.malformedProtobuf(error.message))
        }
    }

    /// Builds an aggregate of `records` (keys de-duplicated into the tables), as the KPL does.
    public static func encode(_ records: [UserRecord]) -> [UInt8] {
        var writer = ProtobufWriter()
        var keyIndex: [ByteBuffer: UInt64] = [:]
        var keys: [ByteBuffer] = []
        var hashKeyIndex: [ByteBuffer: UInt64] = [:]
        var hashKeys: [ByteBuffer] = []
        for record in records where keyIndex[record.partitionKey] == nil {
            keyIndex[record.partitionKey] = UInt64(keys.count)
            keys.append(record.partitionKey)
        }
        for record in records {
            if let hashKey = record.explicitHashKey, hashKeyIndex[hashKey] == nil {
                hashKeyIndex[hashKey] = UInt64(hashKeys.count)
                hashKeys.append(hashKey)
            }
        }
        for key in keys { writer.writeBytesField(1, key.readableBytesView) }
        for key in hashKeys { writer.writeBytesField(2, key.readableBytesView) }
        for record in records {
            var inner = ProtobufWriter()
            inner.writeVarintField(1, keyIndex[record.partitionKey]!)
            if let hashKey = record.explicitHashKey { inner.writeVarintField(2, hashKeyIndex[hashKey]!) }
            inner.writeBytesField(3, record.data.readableBytesView)
            writer.writeBytesField(3, inner.buffer.readableBytesView)
        }
        let protobuf = Array(writer.buffer.readableBytesView)
        return magic + protobuf + MD5.digest(protobuf)
    }

    private static func parseAggregatedRecord(_ protobuf: ByteBuffer) throws(ProtobufReader.Failure) -> [UserRecord] {
        var reader = ProtobufReader(buffer: protobuf)
        var keys: [ByteBuffer] = []
        var hashKeys: [ByteBuffer] = []
        var rawRecords: [ByteBuffer] = []
        while !reader.isAtEnd {
            let (field, type) = try reader.readKey()
            switch (field, type) {
            case (1, .lengthDelimited): keys.append(try reader.readLengthDelimited())
            case (2, .lengthDelimited): hashKeys.append(try reader.readLengthDelimited())
            case (3, .lengthDelimited): rawRecords.append(try reader.readLengthDelimited())
            case (1...3, _): throw ProtobufReader.Failure(message: "field \(field) has wire type \(type)")
            default: try reader.skip(type)
            }
        }
        var records: [UserRecord] = []
        records.reserveCapacity(rawRecords.count)
        for (position, raw) in rawRecords.enumerated() {
            var inner = ProtobufReader(buffer: raw)
            var keyIndex: UInt64?
            var hashKeyIndex: UInt64?
            var data: ByteBuffer?
            while !inner.isAtEnd {
                let (field, type) = try inner.readKey()
                switch (field, type) {
                case (1, .varint): keyIndex = try inner.readVarint()
                case (2, .varint): hashKeyIndex = try inner.readVarint()
                case (3, .lengthDelimited): data = try inner.readLengthDelimited()
                case (1...3, _): throw ProtobufReader.Failure(message: "record \(position) field \(field) has wire type \(type)")
                default: try inner.skip(type)  // tags (field 4) and anything newer
                }
            }
            guard let keyIndex else { throw ProtobufReader.Failure(message: "record \(position) has no partition_key_index") }
            guard keyIndex < UInt64(keys.count) else {
                throw ProtobufReader.Failure(message: "record \(position) partition_key_index \(keyIndex) outside a table of \(keys.count)")
            }
            guard let data else { throw ProtobufReader.Failure(message: "record \(position) has no data") }
            var hashKey: ByteBuffer?
            if let hashKeyIndex {
                guard hashKeyIndex < UInt64(hashKeys.count) else {
                    throw ProtobufReader.Failure(message: "record \(position) explicit_hash_key_index \(hashKeyIndex) outside a table of \(hashKeys.count)")
                }
                hashKey = hashKeys[Int(hashKeyIndex)]
            }
            records.append(UserRecord(partitionKey: keys[Int(keyIndex)], explicitHashKey: hashKey, data: data))
        }
        return records
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
