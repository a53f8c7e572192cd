// Unsafe hot path: ACKS frames are written into reserved buffer memory (RawWriter).
import NIOCore

/// Writes frames into one reusable buffer, so many frames leave in one write.
///
/// Control frames have one method each. Batch frames are built in place: `begin…`, then
/// `append…` for every element, then ``endBatch()``, which patches the frame length and the
/// element count (and removes the frame again if it stayed empty).
///
/// ```swift
/// var encoder = FrameEncoder()
/// encoder.beginRecords()
/// encoder.appendRecord(index: 0, subSequenceNumber: 0, arrivalTimestamp: nil,
///                      sequenceNumber: "49…".utf8, partitionKey: "k".utf8, data: bytes)
/// encoder.endBatch()
/// channel.writeAndFlush(encoder.take())
/// ```
public struct FrameEncoder: Sendable {
    public private(set) var buffer: ByteBuffer
    private var batch: OpenBatch?

    private struct OpenBatch: Sendable {
        var type: FrameType
        var frameStart: Int
        var countIndex: Int
        var count: UInt32
    }

    public init(allocator: ByteBufferAllocator = ByteBufferAllocator(), initialCapacity: Int = 64 * 1024) {
        self.buffer = allocator.buffer(capacity: initialCapacity)
    }

    /// Bytes written and not yet taken.
    public var byteCount: Int { buffer.readableBytes }

    /// Elements appended to the open batch (0 when none is open).
    public var batchCount: Int { Int(batch?.count ?? 0) }

    /// Bytes of the open batch frame so far, header included (0 when none is open).
    public var batchBytes: Int { batch.map { buffer.writerIndex - $0.frameStart } ?? 0 }

    /// Whether a batch frame is open.
    public var hasOpenBatch: Bool { batch != nil }

    /// Returns every complete frame written so far and starts over with an empty buffer
    /// (fresh storage if the returned bytes are still referenced).
    public mutating func take() -> ByteBuffer {
        precondition(batch == nil, "take() with an open \(batch!.type) batch")
        let frames = buffer
        buffer.clear()
        return frames
    }

    // MARK: Control frames

    public mutating func hello(_ hello: Hello) {
        writeFrame(.hello) { hello.encode(into: &$0) }
    }

    public mutating func credit(_ credit: Credit) {
        writeFrame(.credit) { credit.encode(into: &$0) }
    }

    public mutating func peerLost(_ peerLost: PeerLost) {
        writeFrame(.peerLost) { peerLost.encode(into: &$0) }
    }

    public mutating func drain(_ drain: Drain) {
        writeFrame(.drain) { drain.encode(into: &$0) }
    }

    public mutating func error(_ error: ErrorFrame) {
        writeFrame(.error) { error.encode(into: &$0) }
    }

    /// Writes one ACKS frame holding every ack of `acks` (nothing when it is empty): a header,
    /// then their bytes as they are.
    public mutating func acks(_ acks: AckBatch) {
        guard !acks.isEmpty else { return }
        let size = 4 + 1 + 4 + acks.bytes.readableBytes
        buffer.reserveCapacity(minimumWritableBytes: size)
        buffer.writeInteger(UInt32(size - 4))
        buffer.writeInteger(FrameType.acks.rawValue)
        buffer.writeInteger(UInt32(acks.count))
        buffer.writeImmutableBuffer(acks.bytes)
    }

    /// Writes one ACKS frame holding every ack of `acks` (nothing when it is empty).
    public mutating func acks(_ acks: [Ack]) {
        self.acks(AckBatch(acks))
    }

    /// Writes one ACKS frame holding every ack of `acks` (nothing when it is empty).
    public mutating func acks(_ acks: some Sequence<Ack>) {
        beginAcks()
        for ack in acks { appendAck(ack) }
        endBatch()
    }

    // MARK: Batch frames

    /// Opens a RECORDS frame (worker → router) of resend `epoch`.
    public mutating func beginRecords(epoch: UInt32 = 0) {
        openBatch(.records) { buffer in buffer.writeInteger(epoch) }
    }

    /// Opens a ROUTED_RECORDS frame (router → mapper) for records of one worker.
    public mutating func beginRoutedRecords(router: UInt16, worker: UInt64, shardId: String, stream: String = "") {
        openBatch(.routedRecords) { buffer in
            buffer.writeInteger(router)
            buffer.writeInteger(worker)
            let shard = shardId.utf8.prefix(255)
            buffer.writeInteger(UInt8(shard.count))
            buffer.writeBytes(shard)
            buffer.writeString16(stream)
        }
    }

    /// Opens an ITEMS frame (mapper → reducer).
    public mutating func beginItems() {
        openBatch(.items) { _ in }
    }

    /// Opens an ACKS frame.
    public mutating func beginAcks() {
        openBatch(.acks) { _ in }
    }

    /// Appends a record to the open RECORDS or ROUTED_RECORDS frame.
    public mutating func appendRecord(
        index: UInt64,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        sequenceNumber: some Collection<UInt8>,
        partitionKey: (some Collection<UInt8>)?,
        data: some Collection<UInt8>
    ) {
        appendRecord(
            index: index,
            subSequenceNumber: subSequenceNumber,
            arrivalTimestamp: arrivalTimestamp,
            sequenceNumber: sequenceNumber,
            partitionKey: partitionKey
        ) { buffer in buffer.writeBytes(data) }
    }

    /// Appends a record whose data `writeData` writes straight into the frame (for example while
    /// decoding base64), saving a copy. The data length is patched afterwards.
    public mutating func appendRecord(
        index: UInt64,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        sequenceNumber: some Collection<UInt8>,
        partitionKey: (some Collection<UInt8>)?,
        writeData: (inout ByteBuffer) -> Void
    ) {
        precondition(batch?.type == .records || batch?.type == .routedRecords, "appendRecord outside a record batch")
        WireRecord.append(
            index: index, subSequenceNumber: subSequenceNumber, arrivalTimestamp: arrivalTimestamp,
            sequenceNumber: sequenceNumber, partitionKey: partitionKey, to: &buffer, writeData: writeData
        )
        batch!.count += 1
    }

    /// Appends a record already in wire layout (from ``WireRecord/append(index:subSequenceNumber:arrivalTimestamp:sequenceNumber:partitionKey:to:writeData:)``).
    public mutating func appendEncodedRecord(_ record: ByteBuffer) {
        precondition(batch?.type == .records || batch?.type == .routedRecords, "appendEncodedRecord outside a record batch")
        buffer.writeImmutableBuffer(record)
        batch!.count += 1
    }

    /// Appends a decoded record.
    public mutating func appendRecord(_ record: WireRecord) {
        precondition(batch?.type == .records || batch?.type == .routedRecords, "appendRecord outside a record batch")
        record.write(to: &buffer)
        batch!.count += 1
    }

    /// Appends a whole batch of records as it is (the router forwarding a worker's records).
    public mutating func appendRecords(_ records: RecordBatch) {
        precondition(batch?.type == .records || batch?.type == .routedRecords, "appendRecords outside a record batch")
        buffer.writeImmutableBuffer(records.bytes)
        batch!.count += UInt32(records.count)
    }

    /// Appends an item.
    public mutating func appendItem(_ item: WireItem) {
        precondition(batch?.type == .items, "appendItem outside an ITEMS batch")
        buffer.writeImmutableBuffer(item.encoded)
        batch!.count += 1
    }

    /// Appends `count` items already in wire layout, back to back.
    public mutating func appendEncodedItems(_ items: ByteBuffer, count: Int) {
        precondition(batch?.type == .items, "appendEncodedItems outside an ITEMS batch")
        buffer.writeImmutableBuffer(items)
        batch!.count += UInt32(count)
    }

    /// Appends an acknowledgement to the open ACKS frame.
    public mutating func appendAck(_ ack: Ack) {
        precondition(batch?.type == .acks, "appendAck outside an ACKS batch")
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Ack.encodedSize) { output in
            var out = RawWriter(output.baseAddress!)
            ack.token.write(to: &out)
            out.integer(ack.status.rawValue)
            return out.position
        }
        batch!.count += 1
    }

    /// Closes the open batch frame: patches its length and element count, or removes it when
    /// it holds no element.
    public mutating func endBatch() {
        guard let open = batch else { preconditionFailure("endBatch() without an open batch") }
        batch = nil
        if open.count == 0 {
            buffer.moveWriterIndex(to: open.frameStart)
            return
        }
        buffer.setInteger(UInt32(buffer.writerIndex - open.frameStart - 4), at: open.frameStart)
        buffer.setInteger(open.count, at: open.countIndex)
    }

    // MARK: Batch headers (for payloads written separately, without a copy)

    /// The header of a ROUTED_RECORDS frame whose records (`records.bytes`) follow it.
    public static func routedRecordsHeader(_ batch: RoutedRecordBatch) -> ByteBuffer {
        let (router, worker, records) = (batch.router, batch.worker, batch.records)
        let shard = batch.shardId.utf8.prefix(255)
        var header = ByteBuffer()
        header.reserveCapacity(4 + 1 + 2 + 8 + 1 + shard.count + 2 + batch.stream.utf8.count + 4)
        header.writeInteger(UInt32(0))
        header.writeInteger(FrameType.routedRecords.rawValue)
        header.writeInteger(router)
        header.writeInteger(worker)
        header.writeInteger(UInt8(shard.count))
        header.writeBytes(shard)
        header.writeString16(batch.stream)
        header.writeInteger(UInt32(records.count))
        header.setInteger(UInt32(header.readableBytes - 4 + records.byteCount), at: 0)
        return header
    }

    /// The header of an ITEMS frame whose `count` encoded items (`byteCount` bytes) follow it.
    /// The header of a RECORDS frame whose records (`count` of them, `byteCount` bytes) follow
    /// as a separate buffer.
    public static func recordsHeader(epoch: UInt32, count: Int, byteCount: Int) -> ByteBuffer {
        var header = ByteBuffer()
        header.reserveCapacity(13)
        header.writeInteger(UInt32(1 + 4 + 4 + byteCount))
        header.writeInteger(FrameType.records.rawValue)
        header.writeInteger(epoch)
        header.writeInteger(UInt32(count))
        return header
    }

    public static func itemsHeader(count: Int, byteCount: Int) -> ByteBuffer {
        var header = ByteBuffer()
        header.reserveCapacity(9)
        header.writeInteger(UInt32(1 + 4 + byteCount))
        header.writeInteger(FrameType.items.rawValue)
        header.writeInteger(UInt32(count))
        return header
    }

    // MARK: Helpers

    private mutating func writeFrame(_ type: FrameType, body: (inout ByteBuffer) -> Void) {
        precondition(batch == nil, "\(type) frame written inside an open \(batch!.type) batch")
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(type.rawValue)
        body(&buffer)
        buffer.setInteger(UInt32(buffer.writerIndex - start - 4), at: start)
    }

    private mutating func openBatch(_ type: FrameType, header: (inout ByteBuffer) -> Void) {
        precondition(batch == nil, "\(type) batch opened inside an open \(batch!.type) batch")
        let start = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        buffer.writeInteger(type.rawValue)
        header(&buffer)
        let countIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        batch = OpenBatch(type: type, frameStart: start, countIndex: countIndex, count: 0)
    }
}

extension FrameEncoder {
    /// Writes `frame` whole into the buffer (the batch payloads are copied in). The I/O layer
    /// sends batch payloads as separate buffers instead; see ``routedRecordsHeader(_:)`` and
    /// ``itemsHeader(count:byteCount:)``.
    public mutating func encode(_ frame: OutboundFrame) {
        switch frame {
        case .hello(let hello): self.hello(hello)
        case .credit(let credit): self.credit(credit)
        case .peerLost(let peerLost): self.peerLost(peerLost)
        case .drain(let drain): self.drain(drain)
        case .error(let error): self.error(error)
        case .acks(let acks): self.acks(acks)
        case .records(let epoch, let records):
            beginRecords(epoch: epoch)
            appendRecords(records)
            endBatch()
        case .routedRecords(let batch):
            beginRoutedRecords(router: batch.router, worker: batch.worker, shardId: batch.shardId, stream: batch.stream)
            appendRecords(batch.records)
            endBatch()
        case .items(let count, let bytes):
            beginItems()
            appendEncodedItems(bytes, count: count)
            endBatch()
        }
    }

    /// Encodes a decoded frame again (tests and tools).
    public mutating func encode(_ frame: Frame) {
        switch frame {
        case .hello(let hello): self.hello(hello)
        case .credit(let credit): self.credit(credit)
        case .peerLost(let peerLost): self.peerLost(peerLost)
        case .drain(let drain): self.drain(drain)
        case .error(let error): self.error(error)
        case .acks(let acks): self.acks(acks)
        case .records(let epoch, let records):
            beginRecords(epoch: epoch)
            appendRecords(records)
            endBatch()
        case .routedRecords(let batch):
            encode(OutboundFrame.routedRecords(batch))
        case .items(let items):
            beginItems()
            for item in items { appendItem(item) }
            endBatch()
        }
    }
}
