// Unsafe hot path: reads acknowledgement fields with unaligned raw loads; every offset is inside
// a whole acknowledgement (the byte count is a multiple of their size, checked when decoded).
import NIOCore

/// Acknowledgements in wire layout — a token (26 bytes) and a status byte each, back to back —
/// as ACKS frames carry them. A reducer writes an item's acknowledgement by copying the token
/// the item starts with; mappers and routers sort acknowledgements out to their connections by
/// reading one field in place and copying the 27 bytes; a worker reads them where they lie. So
/// no hop takes them apart into values and puts them together again.
///
/// A collection of ``Ack`` values (decoded on access) that compares by its bytes.
public struct AckBatch: Hashable, Sendable, RandomAccessCollection, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The acknowledgements' bytes.
    public private(set) var bytes: ByteBuffer

    public init() {
        bytes = ByteBuffer()
    }

    /// Encodes `acks`.
    public init(_ acks: some Sequence<Ack>) {
        self.init()
        for ack in acks { append(ack) }
    }

    public init(arrayLiteral acks: Ack...) {
        self.init(acks)
    }

    /// Wraps bytes already checked to hold whole, valid acknowledgements (the frame decoder).
    init(validated bytes: ByteBuffer) {
        precondition(bytes.readableBytes % Ack.encodedSize == 0, "acknowledgements are \(Ack.encodedSize) bytes each")
        self.bytes = bytes
    }

    /// Room for `count` acknowledgements.
    public init(minimumCapacity count: Int) {
        bytes = ByteBufferAllocator().buffer(capacity: count * Ack.encodedSize)
    }

    // MARK: Collection

    public var startIndex: Int { 0 }
    public var endIndex: Int { bytes.readableBytes / Ack.encodedSize }

    public subscript(position: Int) -> Ack {
        precondition(indices.contains(position), "acknowledgement \(position) outside 0..<\(count)")
        return bytes.withUnsafeReadableBytes { raw in
            let offset = position * Ack.encodedSize
            return Ack(token: Token.load(from: raw, at: offset), status: AckStatus(rawValue: raw[offset + Token.encodedSize])!)
        }
    }

    /// Calls `body` with the fields of every acknowledgement, in order, read in place.
    public func forEachAck(_ body: (_ record: UInt64, _ item: UInt32, _ itemCount: UInt32, _ status: AckStatus) throws -> Void) rethrows {
        try bytes.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count {
                try body(
                    UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 10, as: UInt64.self)),
                    UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 18, as: UInt32.self)),
                    UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 22, as: UInt32.self)),
                    AckStatus(rawValue: raw[offset + Token.encodedSize])!)
                offset += Ack.encodedSize
            }
        }
    }

    /// The router index of acknowledgement `position` (its token's first field).
    public func router(at position: Int) -> UInt16 {
        bytes.getInteger(at: bytes.readerIndex + position * Ack.encodedSize, as: UInt16.self)!
    }

    /// The worker id of acknowledgement `position` (its token's second field).
    public func worker(at position: Int) -> UInt64 {
        bytes.getInteger(at: bytes.readerIndex + position * Ack.encodedSize + 2, as: UInt64.self)!
    }

    // MARK: Building

    public mutating func append(_ ack: Ack) {
        bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: Ack.encodedSize) { output in
            var out = RawWriter(output.baseAddress!)
            ack.token.write(to: &out)
            out.integer(ack.status.rawValue)
            return out.position
        }
    }

    /// Appends the acknowledgements of `count` items, `item(i)` giving the wire bytes of the
    /// i-th (each starts with its token, ``ItemLayout``, copied as it is), all with `status`,
    /// in one write; returns the items' bytes in all (the credit they free).
    public mutating func appendAcks(count: Int, status: AckStatus, item: (Int) -> ByteBuffer) -> Int {
        var itemBytes = 0
        bytes.writeWithUnsafeMutableBytes(minimumWritableBytes: count * Ack.encodedSize) { output in
            var offset = 0
            for position in 0..<count {
                let encoded = item(position)
                itemBytes += encoded.readableBytes
                encoded.withUnsafeReadableBytes { raw in
                    (output.baseAddress! + offset).copyMemory(from: raw.baseAddress!, byteCount: Token.encodedSize)
                }
                output.storeBytes(of: status.rawValue, toByteOffset: offset + Token.encodedSize, as: UInt8.self)
                offset += Ack.encodedSize
            }
            return offset
        }
        return itemBytes
    }

    /// Appends the acknowledgements at `positions` of `other`, copying their bytes.
    public mutating func append(_ other: AckBatch, positions: Range<Int>) {
        guard !positions.isEmpty else { return }
        other.bytes.withUnsafeReadableBytes { raw in
            _ = bytes.writeBytes(UnsafeRawBufferPointer(
                rebasing: raw[positions.lowerBound * Ack.encodedSize..<positions.upperBound * Ack.encodedSize]))
        }
    }

    public mutating func append(contentsOf other: AckBatch) {
        bytes.writeImmutableBuffer(other.bytes)
    }

    public var description: String { "\(Array(self))" }
}
