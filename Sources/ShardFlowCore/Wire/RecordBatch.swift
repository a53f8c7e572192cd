// Unsafe hot path: walks records through raw loads (RecordLayout); the batch was validated when decoded.
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

    /// For bytes this process encoded (`count` whole records).
    init(trusted bytes: ByteBuffer, count: Int) {
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
            let size = bytes.withUnsafeReadableBytes { RecordLayout.fields(at: offset, in: $0).size }
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
            do throws(WireError) {
                for position in 0..<count {
                    if position == prefix { return .success(offset) }
                    offset += try RecordLayout.validatedSize(at: offset, in: raw)
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

