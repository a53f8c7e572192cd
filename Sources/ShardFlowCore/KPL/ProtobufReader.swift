import NIOCore

/// The little of protocol buffers (proto2 wire format) the KPL aggregate needs.
struct ProtobufReader {
    struct Failure: Error, Hashable, Sendable {
        var message: String
    }

    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    var buffer: ByteBuffer

    var isAtEnd: Bool { buffer.readableBytes == 0 }

    mutating func readVarint() throws(Failure) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw Failure(message: "truncated varint") }
            if shift == 63, byte > 1 { throw Failure(message: "varint overflows 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift > 63 { throw Failure(message: "varint longer than 10 bytes") }
        }
    }

    /// Reads a field key: (field number, wire type).
    mutating func readKey() throws(Failure) -> (field: UInt64, type: WireType) {
        let key = try readVarint()
        guard let type = WireType(rawValue: UInt8(key & 7)) else {
            throw Failure(message: "unsupported wire type \(key & 7) for field \(key >> 3)")
        }
        guard key >> 3 != 0 else { throw Failure(message: "field number 0") }
        return (key >> 3, type)
    }

    mutating func readLengthDelimited() throws(Failure) -> ByteBuffer {
        let length = try readVarint()
        guard length <= UInt64(buffer.readableBytes), let slice = buffer.readSlice(length: Int(length)) else {
            throw Failure(message: "length \(length) runs past the end (\(buffer.readableBytes) bytes left)")
        }
        return slice
    }

    mutating func skip(_ type: WireType) throws(Failure) {
        switch type {
        case .varint: _ = try readVarint()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .fixed64, .fixed32:
            let size = type == .fixed64 ? 8 : 4
            guard buffer.readableBytes >= size else { throw Failure(message: "truncated fixed-width field") }
            buffer.moveReaderIndex(forwardBy: size)
        }
    }
}
