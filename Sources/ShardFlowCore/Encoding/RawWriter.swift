// Unsafe hot path: writes through a raw pointer into memory the caller reserved; every caller reserves the size it writes.
/// Writes into memory already reserved (inside `ByteBuffer.writeWithUnsafeMutableBytes`), so a
/// record or an item costs one buffer call instead of one per field. The caller reserves enough
/// room; ``position`` is how much was written.
@usableFromInline
struct RawWriter {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline var position = 0

    @inlinable
    init(_ base: UnsafeMutableRawPointer) {
        self.base = base
    }

    @inlinable
    mutating func byte(_ value: UInt8) {
        base.storeBytes(of: value, toByteOffset: position, as: UInt8.self)
        position += 1
    }

    @inlinable
    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        base.storeBytes(of: value.bigEndian, toByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
    }

    @inlinable
    mutating func bytes(_ value: UnsafeRawBufferPointer) {
        if value.count > 0 { (base + position).copyMemory(from: value.baseAddress!, byteCount: value.count) }
        position += value.count
    }

    @inlinable
    mutating func text(_ value: StaticString) {
        (base + position).copyMemory(from: value.utf8Start, byteCount: value.utf8CodeUnitCount)
        position += value.utf8CodeUnitCount
    }

    /// Decimal digits of `value` (at most 20 bytes).
    @inlinable
    mutating func decimal(_ value: Int64) {
        var magnitude = value.magnitude
        if value < 0 { byte(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            repeat {
                scratch[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            (base + position).copyMemory(from: scratch.baseAddress! + 24 - count, byteCount: count)
        }
        position += count
    }
}
