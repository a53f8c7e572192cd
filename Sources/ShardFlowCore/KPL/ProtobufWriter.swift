import NIOCore

struct ProtobufWriter {
    var buffer = ByteBuffer()

    mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        buffer.writeInteger(UInt8(value))
    }

    mutating func writeVarintField(_ field: UInt64, _ value: UInt64) {
        writeVarint(field << 3 | 0)
        writeVarint(value)
    }

    mutating func writeBytesField(_ field: UInt64, _ bytes: some Collection<UInt8>) {
        writeVarint(field << 3 | 2)
        writeVarint(UInt64(bytes.count))
        buffer.writeBytes(bytes)
    }
}
