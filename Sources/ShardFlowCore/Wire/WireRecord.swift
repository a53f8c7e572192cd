import NIOCore

/// One record as it travels worker → router → mapper: the worker's record index, the Kinesis
/// metadata the processors need, and the payload.
///
/// Layout (big-endian): `index u64, flags u8, subSequenceNumber u64, arrivalTimestamp i64,
/// u8 length + sequenceNumber, u16 length + partitionKey, u32 length + data`. Absent optional
/// fields are written as zero and flagged absent.
///
/// A `WireRecord` is a view over its own encoded bytes (one buffer, so copying it is one
/// reference count); the fields are read from them on access.
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

    /// The record's encoded bytes.
    public let encoded: ByteBuffer
    private let sequenceLength: UInt8
    private let keyLength: UInt16

    /// Wraps bytes already validated to hold exactly one record.
    init(validated encoded: ByteBuffer) {
        self.encoded = encoded
        sequenceLength = encoded.getInteger(at: encoded.readerIndex + WireRecord.fixedHeaderSize, as: UInt8.self)!
        keyLength = encoded.getInteger(at: encoded.readerIndex + WireRecord.fixedHeaderSize + 1 + Int(sequenceLength), as: UInt16.self)!
    }

    public init(
        index: UInt64,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        sequenceNumber: ByteBuffer,
        partitionKey: ByteBuffer?,
        data: ByteBuffer
    ) {
        var buffer = ByteBuffer()
        sequenceNumber.withUnsafeReadableBytes { sequence in
            data.withUnsafeReadableBytes { bytes in
                if let partitionKey {
                    partitionKey.withUnsafeReadableBytes { key in
                        Self.write(index: index, subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp,
                                   sequenceNumber: sequence, partitionKey: key, data: bytes, to: &buffer)
                    }
                } else {
                    Self.write(index: index, subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp,
                               sequenceNumber: sequence, partitionKey: nil, data: bytes, to: &buffer)
                }
            }
        }
        self.init(validated: buffer)
    }

    private var flags: UInt8 { encoded.getInteger(at: encoded.readerIndex + 8, as: UInt8.self)! }

    public var index: UInt64 { encoded.getInteger(at: encoded.readerIndex, as: UInt64.self)! }

    /// KCL sub-sequence number; nil for DynamoDB Streams records through KCL 1.x.
    public var subSequenceNumber: UInt64? {
        flags & Flag.hasSubSequenceNumber != 0 ? encoded.getInteger(at: encoded.readerIndex + 9, as: UInt64.self)! : nil
    }

    /// `approximateArrivalTimestamp`, epoch milliseconds.
    public var arrivalTimestamp: Int64? {
        flags & Flag.hasArrivalTimestamp != 0 ? encoded.getInteger(at: encoded.readerIndex + 17, as: Int64.self)! : nil
    }

    private var sequenceAt: Int { encoded.readerIndex + WireRecord.fixedHeaderSize + 1 }
    private var keyAt: Int { sequenceAt + Int(sequenceLength) + 2 }
    private var dataAt: Int { keyAt + Int(keyLength) + 4 }

    /// The decimal sequence number, byte for byte as the daemon sent it.
    public var sequenceNumber: ByteBuffer { encoded.getSlice(at: sequenceAt, length: Int(sequenceLength))! }

    /// nil when the daemon sent none (DynamoDB Streams through adapter 1.x).
    public var partitionKey: ByteBuffer? {
        flags & Flag.hasPartitionKey != 0 ? encoded.getSlice(at: keyAt, length: Int(keyLength))! : nil
    }

    public var data: ByteBuffer { encoded.getSlice(at: dataAt, length: encoded.writerIndex - dataAt)! }

    /// Bytes this record occupies on the wire.
    public var encodedSize: Int { encoded.readableBytes }

    /// Appends this record in wire layout.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeImmutableBuffer(encoded)
    }

    /// Appends a record in wire layout (one buffer write).
    static func write(
        index: UInt64,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        sequenceNumber: UnsafeRawBufferPointer,
        partitionKey: UnsafeRawBufferPointer?,
        data: UnsafeRawBufferPointer,
        to buffer: inout ByteBuffer
    ) {
        precondition(sequenceNumber.count <= 255, "sequence number longer than 255 bytes")
        precondition((partitionKey?.count ?? 0) <= Int(UInt16.max), "partition key longer than 65535 bytes")
        var flags: UInt8 = 0
        if subSequenceNumber != nil { flags |= Flag.hasSubSequenceNumber }
        if arrivalTimestamp != nil { flags |= Flag.hasArrivalTimestamp }
        if partitionKey != nil { flags |= Flag.hasPartitionKey }
        let size = overheadSize + sequenceNumber.count + (partitionKey?.count ?? 0) + data.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { output in
            var out = RawWriter(output.baseAddress!)
            out.integer(index)
            out.integer(flags)
            out.integer(subSequenceNumber ?? 0)
            out.integer(arrivalTimestamp ?? 0)
            out.integer(UInt8(sequenceNumber.count))
            out.bytes(sequenceNumber)
            out.integer(UInt16(partitionKey?.count ?? 0))
            if let partitionKey { out.bytes(partitionKey) }
            out.integer(UInt32(data.count))
            out.bytes(data)
            return out.position
        }
    }

    /// Appends one record in wire layout; `writeData` appends its data (for example while
    /// decoding base64), and the data length is patched afterwards. If `writeData` throws,
    /// `buffer` is restored.
    public static func append<Failure: Error>(
        index: UInt64,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        sequenceNumber: some Collection<UInt8>,
        partitionKey: (some Collection<UInt8>)?,
        to buffer: inout ByteBuffer,
        writeData: (inout ByteBuffer) throws(Failure) -> Void
    ) throws(Failure) {
        precondition(sequenceNumber.count <= 255, "sequence number longer than 255 bytes")
        precondition((partitionKey?.count ?? 0) <= Int(UInt16.max), "partition key longer than 65535 bytes")
        var flags: UInt8 = 0
        if subSequenceNumber != nil { flags |= Flag.hasSubSequenceNumber }
        if arrivalTimestamp != nil { flags |= Flag.hasArrivalTimestamp }
        if partitionKey != nil { flags |= Flag.hasPartitionKey }
        let start = buffer.writerIndex
        buffer.writeMultipleIntegers(index, flags, subSequenceNumber ?? 0, arrivalTimestamp ?? 0, UInt8(sequenceNumber.count))
        buffer.writeBytes(sequenceNumber)
        buffer.writeInteger(UInt16(partitionKey?.count ?? 0))
        if let partitionKey { buffer.writeBytes(partitionKey) }
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        do {
            try writeData(&buffer)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        buffer.setInteger(UInt32(buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
    }

    /// Appends one record in wire layout, decoding its base64 `data` straight into the buffer:
    /// one buffer write per record (the worker's hot path). On error nothing is appended.
    public static func append(
        index: UInt64,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        sequenceNumber: UnsafeRawBufferPointer,
        partitionKey: UnsafeRawBufferPointer?,
        base64Data: UnsafeRawBufferPointer?,
        to buffer: inout ByteBuffer
    ) throws(Base64.DecodingError) {
        precondition(sequenceNumber.count <= 255, "sequence number longer than 255 bytes")
        precondition((partitionKey?.count ?? 0) <= Int(UInt16.max), "partition key longer than 65535 bytes")
        var flags: UInt8 = 0
        if subSequenceNumber != nil { flags |= Flag.hasSubSequenceNumber }
        if arrivalTimestamp != nil { flags |= Flag.hasArrivalTimestamp }
        if partitionKey != nil { flags |= Flag.hasPartitionKey }
        let reserve = overheadSize + sequenceNumber.count + (partitionKey?.count ?? 0)
            + Base64.maximumDecodedCount(base64Data?.count ?? 0) + 3
        var failure: Base64.DecodingError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: reserve) { output in
            var out = RawWriter(output.baseAddress!)
            out.integer(index)
            out.integer(flags)
            out.integer(subSequenceNumber ?? 0)
            out.integer(arrivalTimestamp ?? 0)
            out.integer(UInt8(sequenceNumber.count))
            out.bytes(sequenceNumber)
            out.integer(UInt16(partitionKey?.count ?? 0))
            if let partitionKey { out.bytes(partitionKey) }
            let lengthAt = out.position
            out.position += 4
            if let base64Data {
                do throws(Base64.DecodingError) {
                    out.position += try Base64.decode(base64Data, to: out.base + out.position)
                } catch {
                    failure = error
                    return 0
                }
            }
            out.base.storeBytes(of: UInt32(out.position - lengthAt - 4).bigEndian, toByteOffset: lengthAt, as: UInt32.self)
            return out.position
        }
        if let failure { throw failure }
    }
}

/// A batch of records from one worker, stamped by the router with the token prefix
/// (router index, worker id) and the worker's shard id.
public struct RoutedRecordBatch: Hashable, Sendable {
    public var router: UInt16
    public var worker: UInt64
    public var shardId: String
    public var records: RecordBatch

    public init(router: UInt16, worker: UInt64, shardId: String, records: RecordBatch) {
        self.router = router
        self.worker = worker
        self.shardId = shardId
        self.records = records
    }
}
