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

    /// Writes one ACKS frame holding every ack of `acks` (nothing when it is empty).
    public mutating func acks(_ acks: some Sequence<Ack>) {
        beginAcks()
        for ack in acks { appendAck(ack) }
        endBatch()
    }

    // MARK: Batch frames

    /// Opens a RECORDS frame (worker → router).
    public mutating func beginRecords() {
        openBatch(.records) { _ in }
    }

    /// Opens a ROUTED_RECORDS frame (router → mapper) for records of one worker.
    public mutating func beginRoutedRecords(router: UInt16, worker: UInt64, shardId: String) {
        openBatch(.routedRecords) { buffer in
            buffer.writeInteger(router)
            buffer.writeInteger(worker)
            let shard = shardId.utf8.prefix(255)
            buffer.writeInteger(UInt8(shard.count))
            buffer.writeBytes(shard)
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
        var flags: UInt8 = 0
        if subSequenceNumber != nil { flags |= WireRecord.Flag.hasSubSequenceNumber }
        if arrivalTimestamp != nil { flags |= WireRecord.Flag.hasArrivalTimestamp }
        if partitionKey != nil { flags |= WireRecord.Flag.hasPartitionKey }
        precondition(sequenceNumber.count <= 255, "sequence number longer than 255 bytes")
        precondition((partitionKey?.count ?? 0) <= Int(UInt16.max), "partition key longer than 65535 bytes")
        buffer.writeMultipleIntegers(
            index, flags, subSequenceNumber ?? 0, arrivalTimestamp ?? 0, UInt8(sequenceNumber.count)
        )
        buffer.writeBytes(sequenceNumber)
        buffer.writeInteger(UInt16(partitionKey?.count ?? 0))
        if let partitionKey { buffer.writeBytes(partitionKey) }
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        writeData(&buffer)
        buffer.setInteger(UInt32(buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
        batch!.count += 1
    }

    /// Appends a decoded record (the router forwarding a worker's record).
    public mutating func appendRecord(_ record: WireRecord) {
        appendRecord(
            index: record.index,
            subSequenceNumber: record.subSequenceNumber,
            arrivalTimestamp: record.arrivalTimestamp,
            sequenceNumber: record.sequenceNumber.readableBytesView,
            partitionKey: record.partitionKey?.readableBytesView,
            data: record.data.readableBytesView
        )
    }

    /// Appends an item to the open ITEMS frame.
    public mutating func appendItem(
        token: Token,
        subSequenceNumber: UInt64?,
        arrivalTimestamp: Int64?,
        shardId: some Collection<UInt8>,
        sequenceNumber: some Collection<UInt8>,
        partitionKey: (some Collection<UInt8>)?,
        key: some Collection<UInt8>,
        error: String? = nil,
        data: some Collection<UInt8>
    ) {
        precondition(batch?.type == .items, "appendItem outside an ITEMS batch")
        var flags: UInt8 = 0
        if subSequenceNumber != nil { flags |= WireRecord.Flag.hasSubSequenceNumber }
        if arrivalTimestamp != nil { flags |= WireRecord.Flag.hasArrivalTimestamp }
        if partitionKey != nil { flags |= WireRecord.Flag.hasPartitionKey }
        if error != nil { flags |= WireRecord.Flag.hasError }
        token.encode(into: &buffer)
        buffer.writeMultipleIntegers(flags, subSequenceNumber ?? 0, arrivalTimestamp ?? 0, UInt8(shardId.count))
        buffer.writeBytes(shardId)
        buffer.writeInteger(UInt8(sequenceNumber.count))
        buffer.writeBytes(sequenceNumber)
        buffer.writeInteger(UInt16(partitionKey?.count ?? 0))
        if let partitionKey { buffer.writeBytes(partitionKey) }
        buffer.writeInteger(UInt16(key.count))
        buffer.writeBytes(key)
        if let error { buffer.writeString16(error) }
        buffer.writeInteger(UInt32(data.count))
        buffer.writeBytes(data)
        batch!.count += 1
    }

    /// Appends a decoded item.
    public mutating func appendItem(_ item: WireItem) {
        appendItem(
            token: item.token,
            subSequenceNumber: item.subSequenceNumber,
            arrivalTimestamp: item.arrivalTimestamp,
            shardId: item.shardId.readableBytesView,
            sequenceNumber: item.sequenceNumber.readableBytesView,
            partitionKey: item.partitionKey?.readableBytesView,
            key: item.key.readableBytesView,
            error: item.error,
            data: item.data.readableBytesView
        )
    }

    /// Appends an acknowledgement to the open ACKS frame.
    public mutating func appendAck(_ ack: Ack) {
        precondition(batch?.type == .acks, "appendAck outside an ACKS batch")
        ack.token.encode(into: &buffer)
        buffer.writeInteger(ack.status.rawValue)
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
    /// Encodes any frame value. Hot paths build batches in place with `begin…`/`append…` instead.
    public mutating func encode(_ frame: Frame) {
        switch frame {
        case .hello(let hello): self.hello(hello)
        case .credit(let credit): self.credit(credit)
        case .peerLost(let peerLost): self.peerLost(peerLost)
        case .drain(let drain): self.drain(drain)
        case .error(let error): self.error(error)
        case .acks(let acks): self.acks(acks)
        case .records(let records):
            beginRecords()
            for record in records { appendRecord(record) }
            endBatch()
        case .routedRecords(let batch):
            beginRoutedRecords(router: batch.router, worker: batch.worker, shardId: batch.shardId)
            for record in batch.records { appendRecord(record) }
            endBatch()
        case .items(let items):
            beginItems()
            for item in items { appendItem(item) }
            endBatch()
        }
    }
}
