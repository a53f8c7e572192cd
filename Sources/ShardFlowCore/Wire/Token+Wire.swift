// Unsafe hot path: loads and stores tokens with unaligned raw memory access at offsets validated by the frame decoder.
import NIOCore

extension Token {
    @inline(__always)
    func write(to out: inout RawWriter) {
        out.integer(router)
        out.integer(worker)
        out.integer(record)
        out.integer(item)
        out.integer(itemCount)
    }

    @inline(__always)
    static func load(from raw: UnsafeRawBufferPointer, at offset: Int) -> Token {
        Token(
            router: UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)),
            worker: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 2, as: UInt64.self)),
            record: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 10, as: UInt64.self)),
            item: UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 18, as: UInt32.self)),
            itemCount: UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset + 22, as: UInt32.self))
        )
    }

    /// Whether `item` is inside `0..<itemCount` (0 with an item count of 0 means "no items").
    var isValid: Bool { itemCount == 0 ? item == 0 : item < itemCount }
}

