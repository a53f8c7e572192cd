// Unsafe hot path: records are written straight into reserved buffer memory (see RecordLayout).
import NIOCore

/// One record as it travels worker → router → mapper: the worker's record index, the Kinesis
/// metadata the processors need, and the payload. ``RecordLayout`` has the byte layout.
///
/// A `WireRecord` is a view over its own encoded bytes and stores nothing else (one buffer, so
/// copying it is one reference count, and the hot paths move it as a single reference); the
/// fields are read from the bytes on access.
public struct WireRecord: Hashable, Sendable {
    /// The record's encoded bytes.
    public let encoded: ByteBuffer

    /// Wraps bytes already validated to hold exactly one record.
    init(validated encoded: ByteBuffer) {
        self.encoded = encoded
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

    private var flags: UInt8 { encoded.getInteger(at: encoded.readerIndex + RecordLayout.flagsOffset, as: UInt8.self)! }

    public var index: UInt64 { encoded.getInteger(at: encoded.readerIndex + RecordLayout.indexOffset, as: UInt64.self)! }

    /// KCL sub-sequence number; nil for DynamoDB Streams records through KCL 1.x.
    public var subSequenceNumber: UInt64? {
        flags & RecordLayout.Flag.hasSubSequenceNumber != 0
            ? encoded.getInteger(at: encoded.readerIndex + RecordLayout.subSequenceOffset, as: UInt64.self)! : nil
    }

    /// `approximateArrivalTimestamp`, epoch milliseconds.
    public var arrivalTimestamp: Int64? {
        flags & RecordLayout.Flag.hasArrivalTimestamp != 0
            ? encoded.getInteger(at: encoded.readerIndex + RecordLayout.timestampOffset, as: Int64.self)! : nil
    }

    /// Where the variable fields sit (read from the bytes, which were validated).
    private var fields: RecordLayout.Fields {
        encoded.withUnsafeReadableBytes { RecordLayout.fields(at: 0, in: $0) }
    }

    private func slice(at offset: Int, length: Int) -> ByteBuffer {
        encoded.getSlice(at: encoded.readerIndex + offset, length: length)!
    }

    /// The decimal sequence number, byte for byte as the daemon sent it.
    public var sequenceNumber: ByteBuffer {
        let fields = fields
        return slice(at: fields.sequenceAt, length: fields.sequenceLength)
    }

    /// nil when the daemon sent none (DynamoDB Streams through adapter 1.x).
    public var partitionKey: ByteBuffer? {
        guard flags & RecordLayout.Flag.hasPartitionKey != 0 else { return nil }
        let fields = fields
        return slice(at: fields.keyAt, length: fields.keyLength)
    }

    public var data: ByteBuffer {
        let fields = fields
        return slice(at: fields.dataAt, length: fields.dataLength)
    }

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
        let size = RecordLayout.headSize(sequenceNumber: sequenceNumber.count, partitionKey: partitionKey?.count ?? 0) + 4 + data.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { output in
            var out = RawWriter(output.baseAddress!)
            RecordLayout.writeHead(index: index, subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp,
                                   sequenceNumber: sequenceNumber, partitionKey: partitionKey, to: &out)
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
        let start = buffer.writerIndex
        let sequence = Array(sequenceNumber)
        let key: [UInt8]? = partitionKey.map { Array($0) }
        sequence.withUnsafeBytes { sequence in
            let size = RecordLayout.headSize(sequenceNumber: sequence.count, partitionKey: key?.count ?? 0)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { output in
                var out = RawWriter(output.baseAddress!)
                if let key {
                    key.withUnsafeBytes { key in
                        RecordLayout.writeHead(index: index, subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp,
                                               sequenceNumber: sequence, partitionKey: key, to: &out)
                    }
                } else {
                    RecordLayout.writeHead(index: index, subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp,
                                           sequenceNumber: sequence, partitionKey: nil, to: &out)
                }
                return out.position
            }
        }
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
        base64Data: UnsafeRawBufferPointer,
        to buffer: inout ByteBuffer
    ) throws(Base64.DecodingError) {
        let reserve = RecordLayout.headSize(sequenceNumber: sequenceNumber.count, partitionKey: partitionKey?.count ?? 0)
            + 4 + Base64.maximumDecodedCount(base64Data.count) + 3
        var failure: Base64.DecodingError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: reserve) { output in
            var out = RawWriter(output.baseAddress!)
            RecordLayout.writeHead(index: index, subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp,
                                   sequenceNumber: sequenceNumber, partitionKey: partitionKey, to: &out)
            let lengthAt = out.position
            out.position += 4
            do throws(Base64.DecodingError) {
                out.position += try Base64.decode(base64Data, to: out.base + out.position)
            } catch {
                failure = error
                return 0
            }
            out.base.storeBytes(of: UInt32(out.position - lengthAt - 4).bigEndian, toByteOffset: lengthAt, as: UInt32.self)
            return out.position
        }
        if let failure { throw failure }
    }
}
