import NIOCore

/// Records in wire layout, back to back, as they travel in RECORDS and ROUTED_RECORDS frames.
///
/// The decoder validates the whole batch once (every length within bounds, flags known), but
/// does not build values: iterating decodes each ``WireRecord`` on the fly, and a router
/// forwards the bytes as they are (splitting at record boundaries when credit requires).
public struct RecordBatch: Hashable, Sendable, Sequence {
    /// Number of records.
    public let count: Int
    /// The records' bytes.
    public let bytes: ByteBuffer

    /// Bytes of all records (what credit counts).
    public var byteCount: Int { bytes.readableBytes }
    public var isEmpty: Bool { count == 0 }

    /// Encodes `records` into a batch.
    public init(_ records: [WireRecord]) {
        var buffer = ByteBuffer()
        for record in records { record.write(to: &buffer) }
        self.count = records.count
        self.bytes = buffer
    }

    init(validating bytes: ByteBuffer, count: Int) throws(WireError) {
        _ = try Self.walk(bytes, count: count, stoppingAfter: count)
        self.bytes = bytes
        self.count = count
    }

    private init(trusted bytes: ByteBuffer, count: Int) {
        self.bytes = bytes
        self.count = count
    }

    /// Splits the batch after its first `prefix` records.
    public func split(after prefix: Int) -> (RecordBatch, RecordBatch) {
        precondition(prefix >= 0 && prefix <= count, "split point \(prefix) outside 0...\(count)")
        let offset = try! Self.walk(bytes, count: count, stoppingAfter: prefix)
        return (
            RecordBatch(trusted: bytes.getSlice(at: bytes.readerIndex, length: offset)!, count: prefix),
            RecordBatch(trusted: bytes.getSlice(at: bytes.readerIndex + offset, length: bytes.readableBytes - offset)!, count: count - prefix)
        )
    }

    /// Splits the batch into `parts` batches by `part(record)`, keeping each part's records in
    /// their order. A batch whose records all fall into one part is returned as is (no copy).
    public func partitioned(into parts: Int, by part: (WireRecord) -> Int) -> [RecordBatch] {
        precondition(parts > 0, "partition count must be positive")
        var result = [RecordBatch](repeating: RecordBatch(trusted: ByteBuffer(), count: 0), count: parts)
        // One walk: records are decoded once and kept with their part for the copy below.
        let placed = map { (record: $0, target: part($0)) }
        if let first = placed.first?.target, placed.allSatisfy({ $0.target == first }) {
            result[first] = self
            return result
        }
        var buffers: [ByteBuffer?] = Array(repeating: nil, count: parts)
        var counts = [Int](repeating: 0, count: parts)
        for (record, target) in placed {
            if buffers[target] == nil { buffers[target] = ByteBufferAllocator().buffer(capacity: byteCount / parts + record.encodedSize) }
            record.write(to: &buffers[target]!)
            counts[target] += 1
        }
        for index in 0..<parts where counts[index] > 0 {
            result[index] = RecordBatch(trusted: buffers[index]!, count: counts[index])
        }
        return result
    }

    /// Byte length of the first `prefix` records.
    public func byteCount(ofFirst prefix: Int) -> Int {
        try! Self.walk(bytes, count: count, stoppingAfter: prefix)
    }

    public func makeIterator() -> Iterator { Iterator(bytes: bytes, remaining: count) }

    public struct Iterator: IteratorProtocol {
        let bytes: ByteBuffer
        var offset = 0
        var remaining: Int

        init(bytes: ByteBuffer, remaining: Int) {
            self.bytes = bytes
            self.remaining = remaining
        }

        public mutating func next() -> WireRecord? {
            guard remaining > 0 else { return nil }
            remaining -= 1
            let size = bytes.withUnsafeReadableBytes { raw in
                let seqLength = Int(raw[offset + WireRecord.fixedHeaderSize])
                let keyAt = offset + WireRecord.fixedHeaderSize + 1 + seqLength
                let keyLength = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: keyAt, as: UInt16.self)))
                let dataLength = Int(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: keyAt + 2 + keyLength, as: UInt32.self)))
                return WireRecord.overheadSize + seqLength + keyLength + dataLength
            }
            let record = WireRecord(validated: bytes.getSlice(at: bytes.readerIndex + offset, length: size)!)
            offset += size
            return record
        }
    }

    /// Checks `count` records' structure and returns the byte offset after the first
    /// `prefix` of them; throws on any record that does not fit its declared layout.
    private static func walk(_ bytes: ByteBuffer, count: Int, stoppingAfter prefix: Int) throws(WireError) -> Int {
        let result: Result<Int, WireError> = bytes.withUnsafeReadableBytes { raw in
            var offset = 0
            func need(_ size: Int, _ field: String) throws(WireError) {
                guard raw.count - offset >= size else {
                    throw WireError(.truncatedPayload(field: field, needed: size, available: Swift.max(0, raw.count - offset)))
                }
            }
            do throws(WireError) {
                for position in 0..<count {
                    if position == prefix { return .success(offset) }
                    try need(WireRecord.fixedHeaderSize, "record header")
                    let flags = raw[offset + 8]
                    guard flags & ~WireRecord.Flag.recordMask == 0 else {
                        throw WireError(.invalidField(field: "record flags", reason: "unknown bits 0x\(String(flags, radix: 16))"))
                    }
                    offset += WireRecord.fixedHeaderSize
                    try need(1, "sequenceNumber length")
                    let seqLength = Int(raw[offset])
                    offset += 1
                    try need(seqLength, "sequenceNumber")
                    offset += seqLength
                    try need(2, "partitionKey length")
                    let keyLength = Int(UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                    offset += 2
                    if flags & WireRecord.Flag.hasPartitionKey == 0, keyLength != 0 {
                        throw WireError(.invalidField(field: "partitionKey", reason: "\(keyLength) bytes but flagged absent"))
                    }
                    try need(keyLength, "partitionKey")
                    offset += keyLength
                    try need(4, "data length")
                    let dataLength = Int(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                    offset += 4
                    try need(dataLength, "data")
                    offset += dataLength
                }
                if prefix >= count, offset != raw.count { throw WireError(.trailingBytes(count: raw.count - offset)) }
                return .success(offset)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

